{{ config(materialized=view_materialization()) }}
{#- Identifier → one_id as of D (SPEC §4, §10): every identifier of a person that is not deleted.
    identifier_hash is the HMAC-SHA256 of the normalized value (assets/ingest/hashing.py);
    assigned_on: the as-of date since which the identifier has this one_id. A view over the
    registry (no copy of millions of hashes per run). -#}
select
    i.identifier_type,
    i.identifier_hash,
    i.one_id,
    i.assigned_on,
    n.first_seen_date,
    n.last_seen_date
from {{ ref('int_identity__identifiers_current') }} i
inner join {{ ref('int_identity__nodes') }} n
    on n.node_id = i.node_id
left join {{ ref('deleted_persons') }} d
    on d.one_id = i.one_id
where d.one_id is null
