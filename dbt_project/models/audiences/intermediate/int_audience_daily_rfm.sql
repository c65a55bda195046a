{{ config(schema='intermediate') }}

{#- The RFM population of every day D of the build's range (SPEC §5, §11), as the sums the
    segment needs: one row per day with n (one_ids, not deleted, with frequency_365 >= 1 on D),
    Σ recency_days, Σ frequency_365 and Σ monetary_365 over them. A member's segment on D compares
    its own values with these (value × n against the sum: exact).

    Computed with difference events over a daily spine, never per member per day:
    - Σ frequency / Σ monetary: an order adds its count / net amount on its business date b and
      removes it on b + 365;
    - n and Σ last order date: a one_id is in the population from an order b that is not within
      the window of its previous order p (b > p + 364) until its last order of that stretch,
      l, leaves the window (l + 365); meanwhile each order moves its last order date from p to b.
      Σ recency_days on D = n × D - Σ last order date (dates as day indexes).
    Events before the range are folded into its first day, so the running sums start right.

    A range of one day (the daily run: audience_from = D) needs no events: the population's
    values are summed from the persons' order totals as of D (int_member_order_totals, whose
    frequency_365 / monetary_365 are over the window and whose last order date is in it when
    frequency_365 >= 1). -#}
-- depends_on: {{ ref('int_orders_valid_as_of') }}
-- depends_on: {{ ref('int_member_order_totals') }}

{%- set window_days = cfg('window_days') | int -%}
{%- set range = audience_range() -%}
{%- set first_day = "cast('" ~ range['first'] ~ "' as date)" -%}
{%- set last_day = "cast('" ~ range['last'] ~ "' as date)" %}

{%- if range['days'] == 1 %}
{{ require_kept_as_of(ref('int_member_order_totals'), 'member_totals') }}
select
    {{ last_day }} as as_of_date,
    cast(0 as integer) as day_index,
    cast(count(*) as bigint) as rfm_population,
    cast(coalesce(sum({{ days_between('last_order_date', last_day) }}), 0) as bigint) as recency_days_total,
    cast(coalesce(sum(frequency_365), 0) as bigint) as frequency_total,
    cast(coalesce(sum(monetary_365), 0) as decimal(38, 2)) as monetary_total
from {{ ref('int_member_order_totals') }}
where frequency_365 >= 1

{%- else %}

with

order_days as (

    select
        {{ audience_person_key('one_id') }} as person_key,
        business_date,
        count(*) as orders,
        sum(net_amount_yuan) as net_amount_yuan
    from {{ ref('int_orders_valid_as_of') }}
    where one_id is not null
    group by {{ audience_person_key('one_id') }}, business_date

),

sequenced as (

    select
        business_date,
        orders,
        net_amount_yuan,
        lag(business_date) over (partition by person_key order by business_date) as previous_order_date,
        lead(business_date) over (partition by person_key order by business_date) as next_order_date
    from order_days

),

stretches as (

    select
        business_date,
        {{ audience_day_index('business_date') }} as order_index,
        {{ audience_day_index('previous_order_date') }} as previous_index,
        orders,
        net_amount_yuan,
        previous_order_date is not null
            and business_date <= {{ days_after('previous_order_date', window_days - 1) }} as continues_stretch,
        next_order_date is null
            or next_order_date > {{ days_after('business_date', window_days - 1) }} as ends_stretch
    from sequenced

),

events as (

    -- an order enters the window
    select
        business_date as event_date,
        case when continues_stretch then 0 else 1 end as population_delta,
        case when continues_stretch then order_index - previous_index else order_index end as last_order_delta,
        orders as frequency_delta,
        net_amount_yuan as monetary_delta
    from stretches

    union all

    -- it leaves the window; the last order of a stretch also takes its one_id out
    select
        {{ days_after('business_date', window_days) }} as event_date,
        case when ends_stretch then -1 else 0 end as population_delta,
        case when ends_stretch then -order_index else 0 end as last_order_delta,
        -orders as frequency_delta,
        -net_amount_yuan as monetary_delta
    from stretches

),

daily_events as (

    select
        {{ audience_day_index('case when event_date < ' ~ first_day ~ ' then ' ~ first_day ~ ' else event_date end') }} as day_index,
        sum(population_delta) as population_delta,
        sum(last_order_delta) as last_order_delta,
        sum(frequency_delta) as frequency_delta,
        sum(monetary_delta) as monetary_delta
    from events
    where event_date <= {{ last_day }}
    group by 1

),

days as (

    {{ audience_day_indexes(range['days']) | indent(4) }}

),

running as (

    select
        d.day_index,
        sum(coalesce(e.population_delta, 0)) over (
            order by d.day_index rows between unbounded preceding and current row
        ) as rfm_population,
        sum(coalesce(e.last_order_delta, 0)) over (
            order by d.day_index rows between unbounded preceding and current row
        ) as last_order_index_total,
        sum(coalesce(e.frequency_delta, 0)) over (
            order by d.day_index rows between unbounded preceding and current row
        ) as frequency_total,
        sum(coalesce(e.monetary_delta, 0)) over (
            order by d.day_index rows between unbounded preceding and current row
        ) as monetary_total
    from days as d
    left join daily_events as e
        on e.day_index = d.day_index

)

select
    {{ audience_day_date('day_index') }} as as_of_date,
    day_index,
    cast(rfm_population as bigint) as rfm_population,
    cast(rfm_population * day_index - last_order_index_total as bigint) as recency_days_total,
    cast(frequency_total as bigint) as frequency_total,
    cast(monetary_total as decimal(38, 2)) as monetary_total
from running

{%- endif %}
