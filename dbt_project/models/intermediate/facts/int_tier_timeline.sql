{{ kept_by_persons_config('tier_timeline', 'kept_timeline_as_of', 'kept_timeline_state', 'int_member_orders_counted', 'counted',
                          more='kept_timeline_leavers', hands_on=true) }}
{#- Growth value and tier of every registered member on every date its growth value can change.

    Growth value on a date t = Σ floor(net) of counted orders with business date in t-364 … t.
    It changes only when an order enters the window (its business date: +growth) or leaves it
    (business date + growth_window_days: -growth), so the timeline is the running sum of those
    events per member, from the registration date (growth 0, the lowest tier) up to D.
    One row per (one_id, event_date); the row holds from event_date to next_event_date - 1.

    tier_rank is the band of the growth value (up_and_down) or the highest band reached so far
    (only_up, a running maximum).

    Kept by person on DuckDB: a build recomputes only the persons in the counted orders' delta
    and those with an order that left the window since the table's D
    (macros/facts/kept_by_person.sql). -#}

{%- set window_days = cfg('growth_window_days') | int -%}
{%- set since = kept_timeline_as_of() -%}
{%- set only_up = cfg('tier_mode') == 'only_up' %}

with

members as (

    select
        one_id,
        registration_date
    from {{ ref('int_members_as_of') }}
    {%- if since is not none %}
    where one_id in (select one_id from {{ kept_changed_relation() }})
    {%- endif %}

),

counted_orders as (

    select
        one_id,
        business_date,
        growth_value
    from {{ ref('int_member_orders_counted') }}
    {%- if since is not none %}
    where one_id in (select one_id from {{ kept_changed_relation() }})
    {%- endif %}

),

first_orders as (

    select
        one_id,
        min(business_date) as first_order_date
    from counted_orders
    group by one_id

),

history_starts as (

    select
        m.one_id,
        coalesce(m.registration_date, f.first_order_date) as start_date
    from members as m
    left join first_orders as f
        on m.one_id = f.one_id

),

growth_events as (

    select one_id, start_date as event_date, cast(0 as bigint) as growth_delta
    from history_starts
    where start_date is not null

    union all

    select one_id, business_date as event_date, growth_value as growth_delta
    from counted_orders

    union all

    select one_id, {{ days_after('business_date', window_days) }} as event_date, -growth_value as growth_delta
    from counted_orders
    where {{ days_after('business_date', window_days) }} <= {{ as_of_date() }}

),

daily_changes as (

    select
        one_id,
        event_date,
        sum(growth_delta) as growth_delta
    from growth_events
    group by one_id, event_date

),

growth_by_date as (

    select
        one_id,
        event_date,
        sum(growth_delta) over (
            partition by one_id order by event_date
            rows between unbounded preceding and current row
        ) as growth_value
    from daily_changes

),

banded as (

    select
        one_id,
        event_date,
        growth_value,
        {{ tier_rank_of('growth_value') }} as band_rank
    from growth_by_date

),

held as (

    select
        one_id,
        event_date,
        growth_value,
        band_rank,
        {%- if only_up %}
        max(band_rank) over (
            partition by one_id order by event_date
            rows between unbounded preceding and current row
        ) as tier_rank
        {%- else %}
        band_rank as tier_rank
        {%- endif %}
    from banded

)

select
    one_id,
    event_date,
    lead(event_date) over (partition by one_id order by event_date) as next_event_date,
    growth_value,
    band_rank,
    tier_rank,
    {{ tier_name_of('tier_rank') }} as tier
from held
