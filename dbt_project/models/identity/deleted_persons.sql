{#- Persons forgotten under PIPL (SPEC §6): the one_id holding a member_id with a `delete` event
    as of D, and when the first such event happened. Every output drops them (no member, facts,
    tier, points or audience rows; their orders stay anonymous). No personal data here. -#}
with deletes as (
    select
        {{ identifier_node_id('member_id_hash') }} as node_id,
        min(event_ts_local) as deleted_at
    from {{ ref('stg_miniprogram__member_events') }}
    where event = 'delete'
      and member_id_hash is not null
    group by {{ identifier_node_id('member_id_hash') }}
)

select
    s.one_id,
    min(d.deleted_at) as deleted_at
from deletes d
inner join {{ ref('int_identity__one_id_current') }} s
    on s.node_id = d.node_id
group by s.one_id
