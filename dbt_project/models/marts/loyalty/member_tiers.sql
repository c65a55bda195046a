{#- Tier of every registered member as of D (SPEC §6, §11): growth value over D-364 … D, tier
    (band of the growth value, or in only_up mode the highest band reached since registration),
    and the downgrade outlook: the tier on D+30 with no new order (growth over D-334 … D), whether
    that is below today's tier, and the spend needed to keep today's tier. -#}

{%- set window_days = cfg('growth_window_days') | int -%}
{%- set horizon_days = cfg('downgrade_horizon_days') | int -%}
{%- set only_up = cfg('tier_mode') == 'only_up' %}

with

members as (

    select
        one_id,
        member_id,
        registration_date
    from {{ ref('int_members_as_of') }}

),

counted_orders as (

    select
        one_id,
        business_date,
        growth_value
    from {{ ref('int_member_orders_counted') }}

),

current_tiers as (

    select
        one_id,
        tier_rank
    from {{ ref('int_tier_timeline') }}
    where next_event_date is null

),

current_stretches as (

    select
        one_id,
        valid_from as tier_since
    from {{ ref('tier_history') }}
    where is_current

),

growth as (

    select
        one_id,
        sum(
            case
                when business_date >= {{ days_after(as_of_date(), 1 - window_days) }}
                then growth_value else 0
            end
        ) as growth_value,
        sum(
            case
                when business_date >= {{ days_after(as_of_date(), 1 - window_days + horizon_days) }}
                then growth_value else 0
            end
        ) as growth_value_in_30_days
    from counted_orders
    group by one_id

),

ranked as (

    select
        m.one_id,
        m.member_id,
        m.registration_date,
        cast(coalesce(g.growth_value, 0) as bigint) as growth_value,
        cast(coalesce(g.growth_value_in_30_days, 0) as bigint) as growth_value_in_30_days,
        coalesce(t.tier_rank, 0) as tier_rank,
        s.tier_since
    from members as m
    left join growth as g
        on m.one_id = g.one_id
    left join current_tiers as t
        on m.one_id = t.one_id
    left join current_stretches as s
        on m.one_id = s.one_id

),

outlook as (

    select
        ranked.*,
        {%- if only_up %}
        tier_rank as tier_rank_in_30_days
        {%- else %}
        {{ tier_rank_of('growth_value_in_30_days') }} as tier_rank_in_30_days
        {%- endif %}
    from ranked

)

select
    one_id,
    {{ as_of_date() }} as as_of_date,
    member_id,
    registration_date,
    growth_value,
    {{ tier_name_of('tier_rank') }} as tier,
    tier_rank,
    tier_since,
    growth_value_in_30_days,
    {{ tier_name_of('tier_rank_in_30_days') }} as tier_in_30_days,
    tier_rank_in_30_days < tier_rank as downgrade_risk,
    cast(
        case
            when tier_rank_in_30_days < tier_rank
            then {{ tier_lower_of('tier_rank') }} - growth_value_in_30_days
            else 0
        end
        as decimal(18, 2)
    ) as spend_to_keep_tier_yuan,
    {{ tier_name_of('tier_rank + 1') }} as next_tier,
    cast(
        case
            when {{ tier_lower_of('tier_rank + 1') }} is not null
            then greatest({{ tier_lower_of('tier_rank + 1') }} - growth_value, 0)
        end
        as decimal(18, 2)
    ) as spend_to_next_tier_yuan
from outlook
