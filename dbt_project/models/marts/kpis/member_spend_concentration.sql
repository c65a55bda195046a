{#- How concentrated spend is, as of D: the share of the last-365-day spend that comes from the
    top 20% of spenders (ceil(20% × n), ranked by monetary_365, ties by one_id). One row per
    population: 'customers' (every one_id with a valid order in the window) and
    'registered_members' (those of them that are registered members). -#}

{%- set top_pct = var('memberflow', {}).get('top_spenders_pct', 20) | int %}

with

facts as (

    select
        one_id,
        is_member,
        monetary_365
    from {{ ref('member_facts') }}
    where frequency_365 >= 1

),

populations as (

    select 'customers' as population, one_id, monetary_365 from facts
    union all
    select 'registered_members' as population, one_id, monetary_365 from facts where is_member

),

ranked as (

    select
        population,
        one_id,
        monetary_365,
        row_number() over (partition by population order by monetary_365 desc, one_id) as spend_rank,
        count(*) over (partition by population) as spenders
    from populations

),

summary as (

    select
        population,
        max(spenders) as spenders,
        {{ int_ceil_div(top_pct ~ ' * max(spenders)', '100') }} as top_spenders,
        sum(monetary_365) as spend_365_yuan,
        sum(
            case
                when spend_rank <= {{ int_ceil_div(top_pct ~ ' * spenders', '100') }}
                then monetary_365 else 0
            end
        ) as top_spend_365_yuan
    from ranked
    group by population

)

select
    population,
    {{ as_of_date() }} as as_of_date,
    {{ top_pct }} as top_pct,
    cast(spenders as bigint) as spenders,
    cast(top_spenders as bigint) as top_spenders,
    cast(spend_365_yuan as decimal(18, 2)) as spend_365_yuan,
    cast(top_spend_365_yuan as decimal(18, 2)) as top_spend_365_yuan,
    {{ int_ratio_half_up(yuan_as_fen('top_spend_365_yuan'), yuan_as_fen('spend_365_yuan'), 4) }} as top_spend_share
from summary
