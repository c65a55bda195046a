{#- Every identifier of a person forgotten under PIPL (SPEC §6), by hash, as of D: what the
    forget step (assets/privacy.py) removes from the restricted pii store and from outbox files
    emitted before the delete. Hashes and member ids only, no personal values. -#}
with latest as (
    select
        identifier_hash,
        {{ value_at_latest('one_id', 'valid_from') }} as one_id
    from {{ ref('one_id_registry') }}
    where valid_from <= {{ as_of_date() }}
    group by identifier_hash
),

-- member ids in clear: the key of the pii member profiles and a column of outbox files
member_ids as (
    select distinct member_id_hash, member_id
    from {{ ref('stg_miniprogram__member_events') }}
    where member_id_hash is not null
)

select
    l.identifier_hash,
    m.member_id,
    l.one_id,
    d.deleted_at
from latest l
inner join {{ ref('deleted_persons') }} d
    on d.one_id = l.one_id
left join member_ids m
    on m.member_id_hash = l.identifier_hash
