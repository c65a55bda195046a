{{ config(
    materialized=staging_materialization(),
    incremental_strategy='append',
    on_schema_change='sync_all_columns',
    pre_hook=["{{ kept_delta_drop() }}", "{{ kept_totals_prepare() }}",
              "{{ kept_delta_create(kept_totals_as_of(), 'member_totals', 'one_id', ['one_id']) }}",
              "{{ kept_reset(kept_totals_as_of(), 'one_id') }}"],
    post_hook=["{{ kept_delta_finish(kept_totals_as_of(), 'one_id', ['one_id']) }}",
               "{{ kept_drop_changed() }}",
               "{{ kept_person_mark('member_totals', kept_totals_state(), ref('int_orders__unified'), 'orders') }}"],
) }}
-- depends_on: {{ ref('int_orders__unified') }}
{#- Each person's valid orders up to D summed up (SPEC §5): one row per one_id with a valid order.
    Dates, lifetime and 365-day (D-364 … D) counts and amounts, gross and discount, orders per
    channel, distinct stores and the preferred hour (most orders, ties → the earlier hour).
    member_facts adds recency, lifecycle and the RFM scores, which need D and the whole
    population. lifetime_orders and orders_fingerprint: what the table is kept by on DuckDB,
    where a build recomputes only the persons whose orders changed or left the window
    (macros/facts/kept_member_totals.sql). -#}
{%- set window_days = cfg('window_days') | int -%}
{%- set sources = ['pos', 'meituan', 'eleme', 'miniprogram'] -%}
{%- set since = kept_totals_as_of() %}

with

valid_orders as (

    select
        order_key,
        one_id,
        source,
        store_code,
        business_date,
        order_hour,
        order_ts_local,
        gross_amount_yuan,
        discount_amount_yuan,
        net_amount_yuan
    from {{ ref('int_orders_valid_as_of') }}
    where one_id is not null
    {%- if since is not none %}
      and one_id in (select one_id from {{ kept_changed_relation() }})
    {%- endif %}

),

order_totals as (

    select
        one_id,
        min(business_date) as first_order_date,
        max(business_date) as last_order_date,
        count(*) as lifetime_orders,
        sum(net_amount_yuan) as lifetime_spend_yuan,
        max(net_amount_yuan) as largest_order_yuan,
        sum(gross_amount_yuan) as gross_yuan,
        sum(discount_amount_yuan) as discount_yuan,
        sum(case when business_date >= {{ days_after(as_of_date(), 1 - window_days) }} then 1 else 0 end)
            as frequency_365,
        sum(case when business_date >= {{ days_after(as_of_date(), 1 - window_days) }} then net_amount_yuan else 0 end)
            as monetary_365,
        {%- for source in sources %}
        sum(case when source = '{{ source }}' then 1 else 0 end) as orders_{{ source }},
        {%- endfor %}
        count(distinct store_code) as stores_visited,
        {{ member_orders_fingerprint() }} as orders_fingerprint
    from valid_orders
    group by one_id

),

hour_counts as (

    select
        one_id,
        order_hour,
        count(*) as orders
    from valid_orders
    where order_hour is not null
    group by one_id, order_hour

),

preferred_hours as (

    {#- most orders, ties → the earlier hour (0–23): one aggregate over an integer that orders by
        (orders desc, hour asc), instead of ranking every (one_id, hour) row -#}
    select
        one_id,
        cast(99 - max(orders * 100 + 99 - order_hour) % 100 as integer) as preferred_hour
    from hour_counts
    group by one_id

)

select
    o.one_id,
    o.first_order_date,
    o.last_order_date,
    cast(o.lifetime_orders as bigint) as lifetime_orders,
    cast(o.lifetime_spend_yuan as decimal(18, 2)) as lifetime_spend_yuan,
    cast(o.largest_order_yuan as decimal(18, 2)) as largest_order_yuan,
    cast(o.gross_yuan as decimal(18, 2)) as gross_yuan,
    cast(o.discount_yuan as decimal(18, 2)) as discount_yuan,
    cast(o.frequency_365 as bigint) as frequency_365,
    cast(o.monetary_365 as decimal(18, 2)) as monetary_365,
    {%- for source in sources %}
    cast(o.orders_{{ source }} as bigint) as orders_{{ source }},
    {%- endfor %}
    cast(o.stores_visited as bigint) as stores_visited,
    ph.preferred_hour,
    o.orders_fingerprint
from order_totals as o
left join preferred_hours as ph
    on ph.one_id = o.one_id
