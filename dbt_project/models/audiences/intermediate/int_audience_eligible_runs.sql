{{ config(schema='intermediate') }}

{#- The days of the build's range on which a member is eligible for an audience with a cooldown
    (SPEC §7), as runs of consecutive days: one row per (audience, person_key, run), run_start and
    run_end inclusive, clipped to [audience_from, as_of_date]. The cooldown is applied on these
    runs by audience_members.

    Eligible on day D: a registered member (registration date <= D, not deleted) with a reachable,
    consented channel in its profile as of D (int_audience_profiles), and
    - reactivation: lifecycle dormant on D: the last valid order is 61 … 180 days before D (and
      the first one is not within the last 30 days: not `new`). After an order on b, with the next
      order on n, that is every D in [b + 61, min(b + 180, n - 1)];
    - tier_downgrade: downgrade risk on D (int_audience_tier_outlook).
    A run may span a change of channel (sms to wecom): the member stays eligible. -#}

{%- set new_days = cfg('new_days') | int -%}
{%- set active_max = cfg('active_max_recency_days') | int -%}
{%- set dormant_max = cfg('dormant_max_recency_days') | int -%}
{%- set range = audience_range() -%}
{%- set first_day = "cast('" ~ range['first'] ~ "' as date)" -%}
{%- set last_day = "cast('" ~ range['last'] ~ "' as date)" %}

{{ require_kept_as_of(ref('int_member_order_totals'), 'member_totals') }}
with

members as (

    select
        {{ audience_person_key('one_id') }} as person_key,
        registration_date
    from {{ ref('int_members_as_of') }}

),

reachable as (

    select
        person_key,
        valid_from,
        valid_to
    from {{ ref('int_audience_profiles') }}
    where channel is not null
      and {{ valid_during('', first_day, last_day) }}

),

order_days as (

    {#- the days with an order that can open a dormant span in the range, the only ones
        dormant_spans reads (the next order after such a day is on a later day, so it is here
        too) -#}
    select
        m.person_key,
        o.business_date
    from {{ ref('int_orders_valid_as_of') }} as o
    inner join members as m
        on m.person_key = {{ audience_person_key('o.one_id') }}
    where o.one_id is not null
      and o.business_date >= {{ days_after(first_day, -dormant_max) }}
    group by m.person_key, o.business_date

),

order_gaps as (

    {#- each person's first valid order: from the persons' order totals (as of D, as these
        orders), not another pass over all of them -#}
    select
        d.person_key,
        d.business_date,
        lead(d.business_date) over (partition by d.person_key order by d.business_date) as next_order_date,
        t.first_order_date
    from order_days as d
    inner join {{ ref('int_member_order_totals') }} as t
        on {{ audience_person_key('t.one_id') }} = d.person_key

),

dormant_spans as (

    select
        'reactivation' as audience,
        person_key,
        greatest(
            {{ days_after('business_date', active_max + 1) }},
            {{ days_after('first_order_date', new_days) }}
        ) as span_start,
        case
            when next_order_date is null
              or next_order_date > {{ days_after('business_date', dormant_max) }}
            then {{ days_after('business_date', dormant_max) }}
            else {{ days_after('next_order_date', -1) }}
        end as span_end
    from order_gaps

),

risk_spans as (

    select
        'tier_downgrade' as audience,
        person_key,
        valid_from as span_start,
        coalesce(valid_to, {{ last_day }}) as span_end
    from {{ ref('int_audience_tier_outlook') }}

),

spans as (

    select audience, person_key, span_start, span_end
    from dormant_spans
    where span_start <= span_end
      and span_start <= {{ last_day }}
      and span_end >= {{ first_day }}

    union all

    select audience, person_key, span_start, span_end
    from risk_spans

),

-- eligible pieces: audience span ∩ reachable profile ∩ registered ∩ the range
pieces as (

    select
        s.audience,
        s.person_key,
        greatest(s.span_start, r.valid_from, coalesce(m.registration_date, {{ first_day }}), {{ first_day }}) as piece_start,
        least(s.span_end, coalesce(r.valid_to, {{ last_day }}), {{ last_day }}) as piece_end
    from spans as s
    inner join members as m
        on m.person_key = s.person_key
    inner join reachable as r
        on r.person_key = s.person_key
       and {{ valid_during('r', 's.span_start', 's.span_end') }}

),

-- adjacent pieces (a change of channel, two outlook stretches) form one run
flagged as (

    select
        audience,
        person_key,
        piece_start,
        piece_end,
        case
            when {{ days_after('lag(piece_end) over (partition by audience, person_key order by piece_start)', 1) }} >= piece_start
            then 0 else 1
        end as starts_run
    from pieces
    where piece_start <= piece_end

),

numbered as (

    select
        audience,
        person_key,
        piece_start,
        piece_end,
        sum(starts_run) over (
            partition by audience, person_key order by piece_start
            rows between unbounded preceding and current row
        ) as run_no
    from flagged

)

select
    audience,
    person_key,
    min(piece_start) as run_start,
    max(piece_end) as run_end
from numbered
group by audience, person_key, run_no
