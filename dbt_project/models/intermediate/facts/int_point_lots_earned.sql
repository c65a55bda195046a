{{ kept_by_persons_config('lots_earned', 'kept_lots_as_of', 'kept_lots_state', 'int_member_orders_counted', 'counted') }}
{#- Point lots as earned: one lot per (member, earn date) holding the points of that day's counted
    orders; it expires on earn_date + points_validity_days (gone that day).

    Every lot also gets its position in the member's point stream: the lots, in earning order (=
    expiry order, the validity being constant), laid end to end. points_position_start /
    points_position_end are the cumulative points before / after the lot; redemption and expiry
    are then a frontier moving along that stream (see int_point_redemptions).
    Kept by person on DuckDB: a build recomputes only the persons in the counted orders' delta
    (macros/facts/kept_by_person.sql). -#}

{%- set validity_days = cfg('points_validity_days') | int %}
{%- set since = kept_lots_as_of() %}

with

counted_orders as (

    select
        one_id,
        business_date,
        points_earned
    from {{ ref('int_member_orders_counted') }}
    where points_earned > 0
    {%- if since is not none %}
      and one_id in (select one_id from {{ kept_changed_relation() }})
    {%- endif %}

),

lots as (

    select
        one_id,
        business_date as earn_date,
        count(*) as orders,
        sum(points_earned) as points_earned
    from counted_orders
    group by one_id, business_date

),

positioned as (

    select
        one_id,
        earn_date,
        orders,
        points_earned,
        sum(points_earned) over (
            partition by one_id order by earn_date
            rows between unbounded preceding and current row
        ) as points_position_end
    from lots

)

select
    one_id,
    earn_date,
    {{ days_after('earn_date', validity_days) }} as expiry_date,
    orders,
    cast(points_earned as bigint) as points_earned,
    cast(points_position_end - points_earned as bigint) as points_position_start,
    cast(points_position_end as bigint) as points_position_end
from positioned
