-- A member's tier history has no gap and no overlap: each row starts the day after the previous
-- row ends, only the last row is open, and neighbouring rows hold different tiers.
with

ordered as (

    select
        one_id,
        tier,
        valid_from,
        valid_to,
        lead(valid_from) over (partition by one_id order by valid_from) as next_valid_from,
        lead(tier) over (partition by one_id order by valid_from) as next_tier
    from {{ ref('tier_history') }}

)

select *
from ordered
where (next_valid_from is null and valid_to is not null)
   or (next_valid_from is not null and valid_to is null)
   or (next_valid_from is not null and next_valid_from <> {{ days_after('valid_to', 1) }})
   or valid_to < valid_from
   or next_tier = tier
