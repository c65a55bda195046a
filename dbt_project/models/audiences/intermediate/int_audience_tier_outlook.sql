{{ config(schema='intermediate') }}

{#- Downgrade risk of every registered member on every day of the build's range (SPEC §6, §11),
    as stretches of days with the same outlook; only the stretches at risk are kept.

    On a day t: growth_value = Σ floor(net) of counted orders (int_member_orders_counted) over
    t-364 … t; growth_value_kept = the same over t-334 … t (what is left on t+30 with no new
    order). Both change only when an order enters (its business date) or leaves a window
    (business date + 335 for the kept value, + 365 for today's), so they are running sums of
    those events. Risk: the band of the kept value is below the band of today's growth value
    (up_and_down). In only_up mode the risk is never true and this model is empty. -#}

{%- set window_days = cfg('growth_window_days') | int -%}
{%- set horizon_days = cfg('downgrade_horizon_days') | int -%}
{%- set only_up = cfg('tier_mode') == 'only_up' -%}
{%- set range = audience_range() %}

with

counted_days as (

    select
        {{ audience_person_key('one_id') }} as person_key,
        business_date,
        sum(growth_value) as growth_value
    from {{ ref('int_member_orders_counted') }}
    group by {{ audience_person_key('one_id') }}, business_date

),

growth_events as (

    select person_key, business_date as event_date, growth_value as growth_delta, growth_value as kept_delta
    from counted_days

    union all

    select person_key, {{ days_after('business_date', window_days - horizon_days) }} as event_date,
           cast(0 as bigint) as growth_delta, -growth_value as kept_delta
    from counted_days

    union all

    select person_key, {{ days_after('business_date', window_days) }} as event_date,
           -growth_value as growth_delta, cast(0 as bigint) as kept_delta
    from counted_days

),

daily_changes as (

    select
        person_key,
        event_date,
        sum(growth_delta) as growth_delta,
        sum(kept_delta) as kept_delta
    from growth_events
    where event_date <= {{ as_of_date() }}
    group by person_key, event_date

),

outlook as (

    select
        person_key,
        event_date as valid_from,
        {{ days_after('lead(event_date) over (partition by person_key order by event_date)', -1) }} as valid_to,
        sum(growth_delta) over (
            partition by person_key order by event_date
            rows between unbounded preceding and current row
        ) as growth_value,
        sum(kept_delta) over (
            partition by person_key order by event_date
            rows between unbounded preceding and current row
        ) as growth_value_kept
    from daily_changes

),

banded as (

    select
        person_key,
        valid_from,
        valid_to,
        cast(growth_value as bigint) as growth_value,
        cast(growth_value_kept as bigint) as growth_value_kept,
        {{ tier_rank_of('growth_value') }} as tier_rank,
        {{ tier_rank_of('growth_value_kept') }} as tier_rank_kept
    from outlook

)

select
    person_key,
    valid_from,
    valid_to,
    growth_value,
    growth_value_kept,
    tier_rank,
    {{ tier_name_of('tier_rank') }} as tier,
    {{ tier_lower_of('tier_rank') }} - growth_value_kept as spend_to_keep_tier_yuan
from banded
where tier_rank_kept < tier_rank
  and {{ valid_during('', "cast('" ~ range['first'] ~ "' as date)", "cast('" ~ range['last'] ~ "' as date)") }}
  {%- if only_up %}
  and 1 = 0  -- only_up (只进不退): a member never falls below its highest tier
  {%- endif %}
