{{ config(meta={"dagster": {"ref": {"name": "tier_history"}}}) }}
-- The current row of tier_history is today's tier in member_tiers, and every registered member
-- with a history has exactly one current row.
with

current_rows as (

    select one_id, count(*) as current_rows, max(tier) as tier
    from {{ ref('tier_history') }}
    where valid_to is null
    group by one_id

)

select
    t.one_id,
    t.tier as member_tier,
    c.tier as history_tier,
    c.current_rows
from {{ ref('member_tiers') }} as t
inner join current_rows as c
    on t.one_id = c.one_id
where c.current_rows <> 1
   or c.tier <> t.tier
