{{ config(
    materialized='incremental',
    incremental_strategy='append',
    on_schema_change='fail',
    full_refresh=false,
    pre_hook=[
        "{{ audience_history_clear_days() }}",
        "{{ audience_history_forget_deleted() }}",
    ],
) }}
-- depends_on: {{ ref('deleted_persons') }}
-- depends_on: {{ ref('stg_miniprogram__member_events') }}

{#- The history of every emitted audience row (SPEC §7, §10): one row per (audience, as_of_date,
    one_id), for every day D of the build's range [audience_from, as_of_date] at once; earlier
    days stay as they were (pre-hooks: macros/audiences/audience_history.sql). A full refresh is
    refused: the history is what marketing was sent.

    - reactivation / tier_downgrade: the eligible runs (int_audience_eligible_runs) scanned with
      the cooldown (macro cooldown_emissions), starting from the last emission the history holds
      before the range;
    - points_expiry: every reminder day (int_audience_point_reminders), no cooldown.
    Every other column is the member's as of that day D, computed for the emitted (person, D)
    pairs only, never for member × day: each stream of the member (running order totals per
    order day, lot and redemption positions in its point stream, tier timeline, profile) is read
    at D with an as-of join (macro asof_join: the latest row at or before D); frequency and
    monetary are the running totals at D minus those at D-365; the preferred hour is a running
    maximum of (orders in that hour × 24 + 23 - hour); rfm_segment compares the member's values
    with the day's population sums (int_audience_daily_rfm). -#}

{{- audience_require_intermediates([
    'int_audience_eligible_runs', 'int_audience_point_reminders',
    'int_audience_daily_rfm', 'int_audience_tier_outlook',
]) -}}
{%- set range = audience_range() -%}
{%- set first_day = "cast('" ~ range['first'] ~ "' as date)" -%}
{%- set window_days = cfg('window_days') | int -%}
{%- set new_days = cfg('new_days') | int -%}
{%- set active_max = cfg('active_max_recency_days') | int -%}
{%- set dormant_max = cfg('dormant_max_recency_days') | int -%}
{%- set expiring_days = cfg('points_expiring_window_days') | int -%}
{%- set horizon_days = cfg('downgrade_horizon_days') | int -%}
{%- set reactivation_cooldown = cfg('reactivation_cooldown_days') | int -%}
{%- set downgrade_cooldown = cfg('tier_downgrade_cooldown_days') | int -%}
{%- set reminder_days = (cfg('points_reminder_days') or []) | map('int') | sort | list %}

with

eligible_runs as (

    select
        audience,
        person_key,
        {{ audience_day_index('run_start') }} as run_start,
        {{ audience_day_index('run_end') }} as run_end
    from {{ ref('int_audience_eligible_runs') }}

),

-- the last emission before the range of each member, from the history
emission_history as (

    {%- if is_incremental() %}
    select
        audience,
        {{ audience_person_key('one_id') }} as person_key,
        max({{ audience_day_index('as_of_date') }}) as last_emitted
    from {{ this }}
    where audience in ('reactivation', 'tier_downgrade')
      and as_of_date < {{ first_day }}
      and as_of_date >= {{ days_after(first_day, -([reactivation_cooldown, downgrade_cooldown] | max)) }}
    group by audience, {{ audience_person_key('one_id') }}
    {%- else %}
    select
        cast(null as {{ dbt.type_string() }}) as audience,
        cast(null as bigint) as person_key,
        cast(null as integer) as last_emitted
    from eligible_runs
    where 1 = 0
    {%- endif %}

),

reactivation_emissions as (

    {{ cooldown_emissions('eligible_runs', 'emission_history', 'reactivation', reactivation_cooldown, range['days']) | indent(4) }}

),

downgrade_emissions as (

    {{ cooldown_emissions('eligible_runs', 'emission_history', 'tier_downgrade', downgrade_cooldown, range['days']) | indent(4) }}

),

-- reminders of one member and day, one column pair per reminder offset (7 before 30)
point_reminders as (

    select
        person_key,
        cast({{ audience_day_index('reminder_date') }} as integer) as day_index
        {%- for days in reminder_days %},
        max(case when days_before_expiry = {{ days }} then points_left end) as points_left_{{ days }},
        max(case when days_before_expiry = {{ days }} then expiry_date end) as expiry_date_{{ days }}
        {%- endfor %}
    from {{ ref('int_audience_point_reminders') }}
    group by person_key, {{ audience_day_index('reminder_date') }}

),

-- every emitted (audience, person, D); points rows carry their lots for the reason
emissions as (

    select
        audience,
        person_key,
        day_index
        {%- for days in reminder_days %},
        cast(null as bigint) as points_left_{{ days }},
        cast(null as date) as expiry_date_{{ days }}
        {%- endfor %}
    from reactivation_emissions

    union all

    select
        audience,
        person_key,
        day_index
        {%- for days in reminder_days %},
        cast(null as bigint) as points_left_{{ days }},
        cast(null as date) as expiry_date_{{ days }}
        {%- endfor %}
    from downgrade_emissions

    union all

    select
        'points_expiry' as audience,
        person_key,
        day_index
        {%- for days in reminder_days %},
        points_left_{{ days }},
        expiry_date_{{ days }}
        {%- endfor %}
    from point_reminders

),

-- the persons whose streams are read below (macro audience_stream_persons: on Spark a superset)
emitted_persons as (

    {{ audience_stream_persons('emissions', ref('int_audience_profiles')) | indent(4) }}

),

-- orders of the emitted persons per day: count, net amount and the preferred-hour key
-- (orders in the hour so far × 24 + 23 - hour: its running maximum is the most frequent hour,
-- ties to the earliest)
member_orders as (

    select
        p.person_key,
        {{ audience_day_index('o.business_date') }} as order_day,
        o.order_hour,
        o.net_amount_yuan
    from {{ ref('int_orders_valid_as_of') }} as o
    inner join emitted_persons as p
        on p.person_key = {{ audience_person_key('o.one_id') }}
    where o.one_id is not null

),

hour_counts as (

    select
        person_key,
        order_day,
        order_hour,
        sum(count(*)) over (
            partition by person_key, order_hour order by order_day
            rows between unbounded preceding and current row
        ) as orders_in_hour
    from member_orders
    where order_hour is not null
    group by person_key, order_day, order_hour

),

order_days as (

    select
        o.person_key,
        o.order_day,
        o.orders,
        o.net_amount_yuan,
        h.hour_key
    from (
        select person_key, order_day, count(*) as orders, sum(net_amount_yuan) as net_amount_yuan
        from member_orders
        group by person_key, order_day
    ) as o
    left join (
        select person_key, order_day, max(orders_in_hour * 24 + 23 - order_hour) as hour_key
        from hour_counts
        group by person_key, order_day
    ) as h
        on h.person_key = o.person_key
       and h.order_day = o.order_day

),

-- running totals at the end of each order day
order_totals as (

    select
        person_key,
        order_day,
        sum(orders) over (
            partition by person_key order by order_day
            rows between unbounded preceding and current row
        ) as orders_to_date,
        sum(net_amount_yuan) over (
            partition by person_key order by order_day
            rows between unbounded preceding and current row
        ) as net_to_date,
        max(hour_key) over (
            partition by person_key order by order_day
            rows between unbounded preceding and current row
        ) as hour_key_to_date
    from order_days

),

order_totals_before_window as (

    select
        person_key,
        order_day as order_day_before_window,
        orders_to_date as orders_before_window,
        net_to_date as net_before_window
    from order_totals

),

first_orders as (

    select
        person_key,
        min(order_day) as first_order_day
    from order_days
    group by person_key

),

-- points: the lots and redemptions of the emitted persons, by the day they act and by position
-- in the member's point stream (int_point_redemptions header)
member_lots as (

    select
        p.person_key,
        {{ audience_day_index('l.earn_date') }} as earn_day,
        {{ audience_day_index('l.expiry_date') }} as expiry_day,
        l.expiry_date,
        l.points_position_start,
        l.points_position_end
    from {{ ref('int_point_lots_earned') }} as l
    inner join emitted_persons as p
        on p.person_key = {{ audience_person_key('l.one_id') }}

),

lots_earned as (

    select person_key, earn_day, points_position_end as earned_position
    from member_lots

),

lots_expired as (

    select person_key, expiry_day, points_position_end as expired_position
    from member_lots

),

lots_expiring as (

    select person_key, expiry_day - {{ expiring_days }} as expiring_day, points_position_end as expiring_position
    from member_lots

),

lot_starts as (

    select person_key, points_position_start as lot_start, expiry_date as lot_expiry_date
    from member_lots

),

redemption_days as (

    select
        p.person_key,
        {{ audience_day_index('r.redeem_date') }} as redeem_day,
        cast(max(r.points_position_end) as bigint) as frontier_position
    from {{ ref('int_point_redemptions') }} as r
    inner join emitted_persons as p
        on p.person_key = {{ audience_person_key('r.one_id') }}
    group by p.person_key, {{ audience_day_index('r.redeem_date') }}

),

tier_events as (

    select
        p.person_key,
        {{ audience_day_index('t.event_date') }} as tier_event_day,
        t.tier_rank
    from {{ ref('int_tier_timeline') }} as t
    inner join emitted_persons as p
        on p.person_key = {{ audience_person_key('t.one_id') }}

),

profiles as (

    select
        p.person_key,
        {{ audience_day_index('p.valid_from') }} as profile_day,
        p.one_id,
        p.member_id,
        p.channel,
        p.phone_hash,
        p.phone_masked,
        p.unionid_hash
    from {{ ref('int_audience_profiles') }} as p
    inner join emitted_persons as e
        on e.person_key = p.person_key

),

-- each emission with the latest value of every stream of its member on or before its day D
days_with_orders as (

    {{ asof_join('emissions', 'order_totals', 'person_key', 'day_index', 'order_day',
                 ['order_day', 'orders_to_date', 'net_to_date', 'hour_key_to_date']) | indent(4) }}

),

days_before_window as (

    select
        days_with_orders.*,
        day_index - {{ window_days }} as window_start_day
    from days_with_orders

),

days_with_window as (

    {{ asof_join('days_before_window', 'order_totals_before_window', 'person_key', 'window_start_day',
                 'order_day_before_window', ['orders_before_window', 'net_before_window']) | indent(4) }}

),

days_with_earned as (

    {{ asof_join('days_with_window', 'lots_earned', 'person_key', 'day_index', 'earn_day',
                 ['earned_position']) | indent(4) }}

),

days_with_expired as (

    {{ asof_join('days_with_earned', 'lots_expired', 'person_key', 'day_index', 'expiry_day',
                 ['expired_position']) | indent(4) }}

),

days_with_expiring as (

    {{ asof_join('days_with_expired', 'lots_expiring', 'person_key', 'day_index', 'expiring_day',
                 ['expiring_position']) | indent(4) }}

),

days_with_frontier as (

    {{ asof_join('days_with_expiring', 'redemption_days', 'person_key', 'day_index', 'redeem_day',
                 ['frontier_position']) | indent(4) }}

),

-- everything below the gone position is spent or expired; the lot holding it is the oldest
-- with points left (lots are contiguous in the stream and expire in its order)
days_with_gone as (

    select
        days_with_frontier.*,
        greatest(
            coalesce(expired_position, cast(0 as bigint)),
            coalesce(frontier_position, cast(0 as bigint))
        ) as gone_position
    from days_with_frontier

),

days_with_expiry as (

    {{ asof_join('days_with_gone', 'lot_starts', 'person_key', 'gone_position', 'lot_start',
                 ['lot_expiry_date']) | indent(4) }}

),

days_with_tier as (

    {{ asof_join('days_with_expiry', 'tier_events', 'person_key', 'day_index', 'tier_event_day',
                 ['tier_rank']) | indent(4) }}

),

days_with_profile as (

    {{ asof_join('days_with_tier', 'profiles', 'person_key', 'day_index', 'profile_day',
                 ['one_id', 'member_id', 'channel', 'phone_hash', 'phone_masked', 'unionid_hash']) | indent(4) }}

),

downgrade_outlooks as (

    select
        person_key,
        {{ audience_day_index('valid_from') }} as valid_from,
        {{ audience_day_index('valid_to') }} as valid_to,
        tier,
        growth_value_kept,
        spend_to_keep_tier_yuan
    from {{ ref('int_audience_tier_outlook') }}

),

daily_rfm as (

    select
        day_index,
        rfm_population,
        recency_days_total,
        frequency_total,
        monetary_total
    from {{ ref('int_audience_daily_rfm') }}

),

described as (

    select
        d.audience,
        d.one_id,
        d.day_index,
        d.member_id,
        d.channel,
        d.phone_hash,
        d.phone_masked,
        d.unionid_hash,
        coalesce(d.tier_rank, 0) as tier_rank,
        d.order_day as last_order_day,
        f.first_order_day,
        d.day_index - d.order_day as recency_days,
        coalesce(d.orders_to_date, 0) - coalesce(d.orders_before_window, 0) as frequency_365,
        coalesce(d.net_to_date, cast(0 as decimal(18, 2)))
            - coalesce(d.net_before_window, cast(0 as decimal(18, 2))) as monetary_365,
        case when d.hour_key_to_date is not null then 23 - d.hour_key_to_date % 24 end as preferred_hour,
        greatest(coalesce(d.earned_position, cast(0 as bigint)) - d.gone_position, cast(0 as bigint)) as points_balance,
        greatest(coalesce(d.expiring_position, cast(0 as bigint)) - d.gone_position, cast(0 as bigint)) as points_expiring,
        case when coalesce(d.earned_position, cast(0 as bigint)) > d.gone_position then d.lot_expiry_date end as earliest_expiry,
        r.rfm_population,
        r.recency_days_total,
        r.frequency_total,
        r.monetary_total,
        o.tier as downgrade_tier,
        o.growth_value_kept,
        o.spend_to_keep_tier_yuan
        {%- for days in reminder_days %},
        d.points_left_{{ days }},
        d.expiry_date_{{ days }}
        {%- endfor %}
    from days_with_profile as d
    left join first_orders as f
        on f.person_key = d.person_key
    left join daily_rfm as r
        on r.day_index = d.day_index
    left join downgrade_outlooks as o
        on d.audience = 'tier_downgrade'
       and o.person_key = d.person_key
       and {{ valid_on('o', 'd.day_index') }}
    where d.channel is not null

),

segmented as (

    select
        described.*,
        case
            when last_order_day is null then 'prospect'
            when first_order_day >= day_index - {{ new_days - 1 }} then 'new'
            when recency_days <= {{ active_max }} then 'active'
            when recency_days <= {{ dormant_max }} then 'dormant'
            else 'lost'
        end as lifecycle,
        case
            when frequency_365 < 1 then null
            else {{ rfm_segment_of(
                'cast(recency_days as bigint) * rfm_population < recency_days_total',
                'frequency_365 * rfm_population > frequency_total',
                'cast(monetary_365 as decimal(38, 2)) * rfm_population > monetary_total') }}
        end as rfm_segment
    from described

),

reasoned as (

    select
        segmented.*,
        case audience
            when 'reactivation' then
                {{ dbt.concat(["'dormant: '", "cast(recency_days as " ~ dbt.type_string() ~ ")", "' days since last order'"]) }}
            when 'tier_downgrade' then
                {{ dbt.concat([
                    "'growth value '", format_thousands('growth_value_kept'),
                    "' in " ~ horizon_days ~ " days < '", 'downgrade_tier', "' '",
                    format_thousands('growth_value_kept + spend_to_keep_tier_yuan'),
                    "': spend '", format_thousands('spend_to_keep_tier_yuan'), "' yuan to keep'"]) }}
            when 'points_expiry' then
                {{ point_reminder_reason(reminder_days) }}
        end as reason
    from segmented

)

select
    audience,
    {{ audience_day_date('day_index') }} as as_of_date,
    {{ dbt.concat(["audience", "':'", date_text(audience_day_date('day_index')), "':'", "one_id"]) }} as message_key,
    one_id,
    member_id,
    channel,
    case when channel = 'sms' then phone_hash end as phone_hash,
    case when channel = 'wecom' then unionid_hash end as unionid_hash,
    case when channel = 'sms' then phone_masked end as phone_masked,
    {{ tier_name_of('tier_rank') }} as tier,
    rfm_segment,
    lifecycle,
    cast(recency_days as integer) as recency_days,
    cast(monetary_365 as decimal(18, 2)) as monetary_365,
    cast(points_balance as bigint) as points_balance,
    cast(points_expiring as bigint) as points_expiring,
    earliest_expiry,
    cast(preferred_hour as integer) as preferred_hour,
    reason
from reasoned
