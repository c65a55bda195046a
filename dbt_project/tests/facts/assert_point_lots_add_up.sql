{{ config(meta={"dagster": {"ref": {"name": "point_lots"}}}) }}
-- Every lot's points are used, expired or left (none negative, none twice), and each member's
-- balance is the sum of its lots' points left.
with

bad_lots as (

    select one_id, earn_date, 'lot does not add up' as problem
    from {{ ref('point_lots') }}
    where points_used < 0 or points_expired < 0 or points_left < 0
       or points_used + points_expired + points_left <> points_earned
       or (is_expired and points_left <> 0)
       or (not is_expired and points_expired <> 0)

),

lot_balances as (

    select one_id, sum(points_left) as points_left
    from {{ ref('point_lots') }}
    group by one_id

),

bad_balances as (

    select p.one_id, cast(null as date) as earn_date, 'balance differs from lots' as problem
    from {{ ref('member_points') }} as p
    left join lot_balances as l
        on p.one_id = l.one_id
    where p.points_balance <> coalesce(l.points_left, 0)
       or p.points_balance < 0

)

select * from bad_lots
union all
select * from bad_balances
