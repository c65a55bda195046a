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

value_counts as (

    {#- the top spenders' spend is the sum of the top ceil(20% × n) values, whichever of the
        tied persons rank first (ties have the same value): so the values are counted once per
        distinct value and summed up from the top, instead of ranking every person -#}
    select
        population,
        monetary_365,
        count(*) as holders
    from populations
    group by population, monetary_365

),

cumulative as (

    select
        population,
        monetary_365,
        holders,
        sum(holders) over (
            partition by population
            order by monetary_365 desc
            rows between unbounded preceding and current row
        ) as through_rank,
        sum(holders) over (partition by population) as spenders
    from value_counts

),

ranked as (

    select
        population,
        monetary_365,
        cast(holders as decimal(18, 0)) as holders,
        through_rank,
        spenders,
        {{ int_ceil_div(top_pct ~ ' * spenders', '100') }} as top_spenders
    from cumulative

),

summary as (

    select
        population,
        max(spenders) as spenders,
        max(top_spenders) as top_spenders,
        sum(monetary_365 * holders) as spend_365_yuan,
        sum(
            case
                when through_rank <= top_spenders then monetary_365 * holders
                when through_rank - holders < top_spenders
                then monetary_365 * cast(top_spenders - (through_rank - holders) as decimal(18, 0))
                else 0
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
