{#- Points of every registered member as of D (SPEC §6): balance, points expiring in the next
    days (lots with points left expiring on D+1 … D+points_expiring_window_days), the earliest
    expiry of a lot with points left, and redemptions that found too few points (shortfall). -#}

{%- set expiring_days = cfg('points_expiring_window_days') | int %}

with

members as (

    select
        one_id,
        member_id
    from {{ ref('int_members_as_of') }}

),

lots as (

    select
        one_id,
        expiry_date,
        points_earned,
        points_used,
        points_expired,
        points_left
    from {{ ref('point_lots') }}

),

redemptions as (

    select
        one_id,
        redeem_date,
        points_requested,
        points_applied,
        points_shortfall
    from {{ ref('int_point_redemptions') }}

),

lot_totals as (

    select
        one_id,
        sum(points_earned) as points_earned_total,
        sum(points_expired) as points_expired_total,
        sum(points_left) as points_balance,
        sum(
            case
                when expiry_date > {{ as_of_date() }}
                 and expiry_date <= {{ days_after(as_of_date(), expiring_days) }}
                then points_left
                else 0
            end
        ) as points_expiring_30d,
        min(case when points_left > 0 then expiry_date end) as earliest_expiry
    from lots
    group by one_id

),

redemption_totals as (

    select
        one_id,
        count(*) as redemptions,
        sum(points_requested) as points_requested_total,
        sum(points_applied) as points_redeemed_total,
        sum(points_shortfall) as points_shortfall,
        max(redeem_date) as last_redeem_date
    from redemptions
    group by one_id

)

select
    m.one_id,
    {{ as_of_date() }} as as_of_date,
    m.member_id,
    cast(coalesce(l.points_balance, 0) as bigint) as points_balance,
    cast(coalesce(l.points_expiring_30d, 0) as bigint) as points_expiring_30d,
    l.earliest_expiry,
    cast(coalesce(r.points_shortfall, 0) as bigint) as points_shortfall,
    coalesce(r.points_shortfall, 0) > 0 as has_shortfall,
    cast(coalesce(l.points_earned_total, 0) as bigint) as points_earned_total,
    cast(coalesce(r.points_redeemed_total, 0) as bigint) as points_redeemed_total,
    cast(coalesce(l.points_expired_total, 0) as bigint) as points_expired_total,
    cast(coalesce(r.redemptions, 0) as bigint) as redemptions,
    r.last_redeem_date
from members as m
left join lot_totals as l
    on m.one_id = l.one_id
left join redemption_totals as r
    on m.one_id = r.one_id
