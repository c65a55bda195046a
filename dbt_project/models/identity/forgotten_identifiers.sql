{#- Every identifier of a person forgotten under PIPL (SPEC §6), by hash, as of D: what the
    forget step (assets/privacy.py) removes from the restricted pii store and from outbox files
    emitted before the delete. Hashes and member ids only, no personal values.
    The identifiers whose one_id as of D (their latest registry row) is a deleted person's: the
    persons' identifiers as of D joined to the few deleted one_ids, not the latest row of every
    identifier in the registry looked up again. -#}

-- member ids in clear: the key of the pii member profiles and a column of outbox files
with member_ids as (
    select distinct member_id_hash, member_id
    from {{ ref('stg_miniprogram__member_events') }}
    where member_id_hash is not null
)

select
    i.identifier_hash,
    m.member_id,
    i.one_id,
    d.deleted_at
from {{ ref('int_identity__identifiers_current') }} i
inner join {{ ref('deleted_persons') }} d
    on d.one_id = i.one_id
left join member_ids m
    on m.member_id_hash = i.identifier_hash
