{{ config(
    materialized=staging_materialization(),
    incremental_strategy='append',
    on_schema_change='sync_all_columns',
    pre_hook=["{{ kept_delta_drop() }}",
              "{{ kept_person_prepare(kept_counted_as_of(), ref('int_member_order_totals'), kept_counted_member_changes()) }}",
              "{{ kept_person_delta_create(kept_counted_as_of(), 'counted') }}",
              "{{ kept_reset(kept_counted_as_of(), 'one_id') }}"],
    post_hook=["{{ kept_drop_changed() }}", "{{ kept_counted_members_write() }}",
               "{{ kept_person_mark('counted', kept_counted_state(), ref('int_member_order_totals'), 'member_totals') }}"],
) }}
-- depends_on: {{ ref('int_member_order_totals') }}
{#- The orders that earn growth value and points (SPEC §6): valid orders of registered members on
    or after the member's registration date, up to D. One row per order.
    growth_value = floor(net amount); points_earned = floor(net amount / yuan_per_point), computed
    on integers (floor(x / n) = floor(floor(x) / n) for a whole n).
    Kept by person on DuckDB (macros/facts/kept_by_person.sql): a build recomputes only the
    persons whose valid orders or member row may have changed, and hands them on as its delta. -#}
{%- set since = kept_counted_as_of() %}

with

members as (

    select
        one_id,
        registration_date
    from {{ ref('int_members_as_of') }}

),

valid_orders as (

    select
        order_key,
        source,
        one_id,
        business_date,
        order_ts_local,
        net_amount_yuan
    from {{ ref('int_orders_valid_as_of') }}
    where one_id is not null
    {%- if since is not none %}
      and one_id in (select one_id from {{ kept_changed_relation() }})
    {%- endif %}

),

counted as (

    select
        o.order_key,
        o.source,
        o.one_id,
        o.business_date,
        o.order_ts_local,
        o.net_amount_yuan,
        cast(floor(o.net_amount_yuan) as bigint) as growth_value
    from valid_orders as o
    inner join members as m
        on o.one_id = m.one_id
    where m.registration_date is null
       or o.business_date >= m.registration_date

)

select
    order_key,
    source,
    one_id,
    business_date,
    order_ts_local,
    net_amount_yuan,
    growth_value,
    {{ int_floor_div('growth_value', cfg('yuan_per_point')) }} as points_earned
from counted
