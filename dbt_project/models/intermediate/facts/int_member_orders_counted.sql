{{ kept_by_persons_config('counted', 'kept_counted_as_of', 'kept_counted_state', 'int_member_order_totals', 'member_totals',
                          more='kept_counted_member_changes', hands_on=true, post=["{{ kept_counted_members_write() }}"]) }}
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
