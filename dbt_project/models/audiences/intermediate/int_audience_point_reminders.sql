{{ config(schema='intermediate') }}

{#- Points-expiry reminders of the build's range (SPEC §7): one row per (person, reminder_date,
    lot) for a lot expiring exactly reminder_days (30, 7) days after reminder_date that still holds
    points at the end of reminder_date, for a registered member reachable on that day.

    A lot's points left on a day t before its expiry follow from the FIFO positions of
    int_point_lots_earned / int_point_redemptions: everything in the member's point stream below
    the frontier F(t) (the end position of its last redemption on or before t) is spent or
    expired, and an unexpired lot is never skipped by expiry, so the lot [start, end) holds
    end - max(start, F(t)) points. F(t) is an as-of lookup (macro asof_join) of the member's
    redemption days at t. -#}

{%- set reminder_days = (cfg('points_reminder_days') or []) | map('int') | list -%}
{%- set range = audience_range() -%}
{%- set first_day = "cast('" ~ range['first'] ~ "' as date)" -%}
{%- set last_day = "cast('" ~ range['last'] ~ "' as date)" %}

with

members as (

    select
        {{ audience_person_key('one_id') }} as person_key,
        registration_date
    from {{ ref('int_members_as_of') }}

),

lots as (

    select
        {{ audience_person_key('one_id') }} as person_key,
        earn_date,
        expiry_date,
        points_earned,
        points_position_start,
        points_position_end
    from {{ ref('int_point_lots_earned') }}

),

candidates as (

    {%- for days in reminder_days %}
    select
        person_key,
        {{ days_after('expiry_date', -days) }} as reminder_date,
        {{ days }} as days_before_expiry,
        earn_date,
        expiry_date,
        points_earned,
        points_position_start,
        points_position_end
    from lots
    where {{ days_after('expiry_date', -days) }} >= {{ first_day }}
      and {{ days_after('expiry_date', -days) }} <= {{ last_day }}
      and earn_date <= {{ days_after('expiry_date', -days) }}
    {{ "union all" if not loop.last }}
    {%- else %}
    select
        person_key,
        expiry_date as reminder_date,
        0 as days_before_expiry,
        earn_date,
        expiry_date,
        points_earned,
        points_position_start,
        points_position_end
    from lots
    where 1 = 0
    {%- endfor %}

),

candidate_days as (

    select distinct
        person_key,
        reminder_date
    from candidates

),

-- the frontier of each member at the end of each candidate day: the end position of its last
-- redemption on or before that day (positions only grow)
redemption_days as (

    select
        {{ audience_person_key('r.one_id') }} as person_key,
        {{ audience_day_index('r.redeem_date') }} as redeem_day,
        cast(max(r.points_position_end) as bigint) as frontier
    from {{ ref('int_point_redemptions') }} as r
    inner join (select distinct person_key from candidate_days) as c
        on c.person_key = {{ audience_person_key('r.one_id') }}
    group by {{ audience_person_key('r.one_id') }}, {{ audience_day_index('r.redeem_date') }}

),

candidate_day_indexes as (

    select
        person_key,
        reminder_date,
        {{ audience_day_index('reminder_date') }} as reminder_day
    from candidate_days

),

frontiers as (

    {{ asof_join('candidate_day_indexes', 'redemption_days', 'person_key', 'reminder_day', 'redeem_day',
                 ['frontier']) | indent(4) }}

),

reachable as (

    select
        person_key,
        valid_from,
        valid_to
    from {{ ref('int_audience_profiles') }}
    where channel is not null

),

points_left as (

    select
        c.person_key,
        c.reminder_date,
        c.days_before_expiry,
        c.earn_date,
        c.expiry_date,
        c.points_earned,
        c.points_position_end - greatest(c.points_position_start, coalesce(f.frontier, cast(0 as bigint))) as points_left
    from candidates as c
    inner join frontiers as f
        on f.person_key = c.person_key
       and f.reminder_date = c.reminder_date

)

select
    p.person_key,
    p.reminder_date,
    p.days_before_expiry,
    p.earn_date,
    p.expiry_date,
    p.points_earned,
    cast(p.points_left as bigint) as points_left
from points_left as p
inner join members as m
    on m.person_key = p.person_key
inner join reachable as r
    on r.person_key = p.person_key
   and {{ valid_on('r', 'p.reminder_date') }}
where p.points_left > 0
  and (m.registration_date is null or m.registration_date <= p.reminder_date)
