{#- Point lots as of D: one row per (member, earn date), with what was spent from it, what expired
    and what is left. A redemption spends the stream positions [points_position_start,
    points_position_end) of int_point_redemptions; a lot's used points are its overlap with those
    ranges; what a lot past its expiry did not spend has expired. -#}

with

lots as (

    select
        one_id,
        earn_date,
        expiry_date,
        orders,
        points_earned,
        points_position_start,
        points_position_end
    from {{ ref('int_point_lots_earned') }}

),

spent_ranges as (

    select
        one_id,
        points_position_start,
        points_position_end
    from {{ ref('int_point_redemptions') }}
    where points_applied > 0

),

lot_usage as (

    select
        l.one_id,
        l.earn_date,
        sum(
            least(l.points_position_end, s.points_position_end)
            - greatest(l.points_position_start, s.points_position_start)
        ) as points_used
    from lots as l
    inner join spent_ranges as s
        on l.one_id = s.one_id
       and s.points_position_start < l.points_position_end
       and s.points_position_end > l.points_position_start
    group by l.one_id, l.earn_date

),

lot_state as (

    select
        l.one_id,
        l.earn_date,
        l.expiry_date,
        l.orders,
        l.points_earned,
        cast(coalesce(u.points_used, 0) as bigint) as points_used,
        l.expiry_date <= {{ as_of_date() }} as is_expired
    from lots as l
    left join lot_usage as u
        on l.one_id = u.one_id
       and l.earn_date = u.earn_date

)

select
    one_id,
    earn_date,
    expiry_date,
    {{ as_of_date() }} as as_of_date,
    orders,
    points_earned,
    points_used,
    case when is_expired then points_earned - points_used else cast(0 as bigint) end as points_expired,
    case when is_expired then cast(0 as bigint) else points_earned - points_used end as points_left,
    is_expired
from lot_state
