{{ config(materialized=view_materialization()) }}
{#- The OneID graph as of D (SPEC §4): star edges joining each identifier of a record to the
    record's centre identifier, with the number of records and the dates that support the edge.
    Excluded identifiers are not in it; deleted persons are dropped. A view. -#}
select
    s.one_id,
    s.identifier_type,
    s.identifier_hash,
    t.identifier_type as linked_identifier_type,
    t.identifier_hash as linked_identifier_hash,
    e.record_count,
    e.first_seen_date,
    e.last_seen_date
from {{ ref('int_identity__edges') }} e
inner join {{ ref('int_identity__identifiers_current') }} s
    on s.node_id = e.node_id
inner join {{ ref('int_identity__identifiers_current') }} t
    on t.node_id = e.linked_node_id
left join {{ ref('deleted_persons') }} d
    on d.one_id = s.one_id
where d.one_id is null
