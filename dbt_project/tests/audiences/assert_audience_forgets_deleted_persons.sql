{{ config(meta={"dagster": {"ref": {"name": "audience_members"}}}) }}
-- A deleted person (PIPL delete, SPEC §6) has no audience row on any day.
select m.message_key, m.one_id, m.member_id
from {{ ref('audience_members') }} as m
where m.one_id in (select one_id from {{ ref('deleted_persons') }})
   or m.member_id in (
       select member_id from {{ ref('stg_miniprogram__member_events') }} where event = 'delete'
   )
