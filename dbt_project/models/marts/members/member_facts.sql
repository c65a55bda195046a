{#- Member facts as of D (SPEC §5): one row per one_id that is a registered member or has a valid
    order. Only valid orders up to D count. Recency / frequency / monetary over the last
    window_days days (D-364 … D), lifetime figures, channel mix, preferred channel and hour,
    RFM scores and the 8-segment model among one_ids with frequency_365 >= 1, and lifecycle.
    The per-person sums come from int_member_order_totals (kept by person on DuckDB); this model
    adds what needs D and the whole population: recency, lifecycle, channel preference, scores. -#}

{%- set new_days = cfg('new_days') | int -%}
{%- set active_max = cfg('active_max_recency_days') | int -%}
{%- set dormant_max = cfg('dormant_max_recency_days') | int -%}
{%- set buckets = cfg('rfm_buckets') | int -%}
{%- set sources = ['pos', 'meituan', 'eleme', 'miniprogram'] %}
{%- set sources_sorted_counts = [] %}
{%- for source in sources | sort %}{% do sources_sorted_counts.append(("'" ~ source ~ "'", 'o.orders_' ~ source)) %}{% endfor %}

{{ require_kept_as_of(ref('int_member_order_totals'), 'member_totals') }}
with

members as (

    select
        one_id,
        member_id,
        registration_date
    from {{ ref('int_members_as_of') }}

),

order_totals as (

    {#- each person's valid orders summed up (kept by person on DuckDB: a build recomputes only
        the persons whose orders changed or left the window) -#}
    select
        one_id,
        first_order_date,
        last_order_date,
        lifetime_orders,
        lifetime_spend_yuan,
        largest_order_yuan,
        gross_yuan,
        discount_yuan,
        frequency_365,
        monetary_365,
        {%- for source in sources %}
        orders_{{ source }},
        {%- endfor %}
        stores_visited,
        preferred_hour
    from {{ ref('int_member_order_totals') }}

),

people as (

    select one_id from members
    union
    select one_id from order_totals

),

facts as (

    select
        p.one_id,
        m.one_id is not null as is_member,
        m.member_id,
        m.registration_date,
        o.first_order_date,
        o.last_order_date,
        case when o.last_order_date is not null
             then {{ days_between('o.last_order_date', as_of_date()) }} end as recency_days,
        cast(coalesce(o.frequency_365, 0) as bigint) as frequency_365,
        cast(coalesce(o.monetary_365, 0) as decimal(18, 2)) as monetary_365,
        cast(coalesce(o.lifetime_orders, 0) as bigint) as lifetime_orders,
        cast(coalesce(o.lifetime_spend_yuan, 0) as decimal(18, 2)) as lifetime_spend_yuan,
        case when o.lifetime_orders > 0 then
            {{ fen_as_yuan(int_floor_div(
                '2 * ' ~ yuan_as_fen('o.lifetime_spend_yuan') ~ ' + o.lifetime_orders',
                '2 * o.lifetime_orders')) }}
        end as avg_order_value_yuan,
        cast(o.largest_order_yuan as decimal(18, 2)) as largest_order_yuan,
        {{ int_ratio_half_up(yuan_as_fen('o.discount_yuan'), yuan_as_fen('o.gross_yuan'), 4) }} as discount_share,
        {%- for source in sources %}
        cast(coalesce(o.orders_{{ source }}, 0) as bigint) as orders_{{ source }},
        {%- endfor %}
        {#- the most orders, ties → alphabetical source: from the channel counts above -#}
        {{ label_of_max(sources_sorted_counts) }} as preferred_channel,
        o.preferred_hour,
        cast(coalesce(o.stores_visited, 0) as bigint) as stores_visited,
        -- lifecycle, first match wins
        case
            when o.last_order_date is null then 'prospect'
            when o.first_order_date >= {{ days_after(as_of_date(), 1 - new_days) }} then 'new'
            when {{ days_between('o.last_order_date', as_of_date()) }} <= {{ active_max }} then 'active'
            when {{ days_between('o.last_order_date', as_of_date()) }} <= {{ dormant_max }} then 'dormant'
            else 'lost'
        end as lifecycle,
        coalesce(o.frequency_365, 0) >= 1 as in_rfm_population
    from people as p
    left join members as m
        on p.one_id = m.one_id
    left join order_totals as o
        on p.one_id = o.one_id

),

-- RFM population: frequency_365 >= 1 (the other rows get no score). c = how many in it have a
-- value <= this one's (F, M) or >= this one's recency (R), so equal values share a score: counted
-- once per distinct value and joined back, instead of sorting every row three times.
rfm_population as (

    select
        count(*) as population,
        sum(cast(recency_days as bigint)) as recency_total,
        sum(frequency_365) as frequency_total,
        sum(cast(monetary_365 as decimal(38, 2))) as monetary_total
    from facts
    where in_rfm_population

),
{%- for column, direction in [('recency_days', 'desc'), ('frequency_365', 'asc'), ('monetary_365', 'asc')] %}

{{ column }}_counts as (

    select
        {{ column }},
        sum(count(*)) over (
            order by {{ column }} {{ direction }} rows between unbounded preceding and current row
        ) as value_count
    from facts
    where in_rfm_population
    group by {{ column }}

),
{%- endfor %}

rfm_counts as (

    select
        facts.*,
        p.population,
        r.value_count as r_count,
        f.value_count as f_count,
        m.value_count as m_count,
        p.recency_total,
        p.frequency_total,
        p.monetary_total
    from facts
    cross join rfm_population as p
    left join recency_days_counts as r
        on facts.in_rfm_population
       and r.recency_days = facts.recency_days
    left join frequency_365_counts as f
        on facts.in_rfm_population
       and f.frequency_365 = facts.frequency_365
    left join monetary_365_counts as m
        on facts.in_rfm_population
       and m.monetary_365 = facts.monetary_365

),

rfm as (

    select
        rfm_counts.*,
        {{ int_ceil_div(buckets ~ ' * r_count', 'population') }} as r_score_value,
        {{ int_ceil_div(buckets ~ ' * f_count', 'population') }} as f_score_value,
        {{ int_ceil_div(buckets ~ ' * m_count', 'population') }} as m_score_value,
        -- above / below the population mean, compared exactly: value * n against the total
        cast(recency_days as bigint) * population < recency_total as r_high,
        frequency_365 * population > frequency_total as f_high,
        cast(monetary_365 as decimal(38, 2)) * population > monetary_total as m_high
    from rfm_counts

),

segmented as (

    select
        rfm.*,
        case when in_rfm_population then r_score_value end as r_score,
        case when in_rfm_population then f_score_value end as f_score,
        case when in_rfm_population then m_score_value end as m_score,
        case
            when not in_rfm_population then null
            when r_high and f_high and m_high then 'important_value'
            when r_high and not f_high and m_high then 'important_develop'
            when not r_high and f_high and m_high then 'important_retain'
            when not r_high and not f_high and m_high then 'important_winback'
            when r_high and f_high and not m_high then 'general_value'
            when r_high and not f_high and not m_high then 'general_develop'
            when not r_high and f_high and not m_high then 'general_retain'
            else 'general_winback'
        end as rfm_segment
    from rfm

)

select
    f.one_id,
    {{ as_of_date() }} as as_of_date,
    f.is_member,
    f.member_id,
    f.registration_date,
    f.first_order_date,
    f.last_order_date,
    f.recency_days,
    f.frequency_365,
    f.monetary_365,
    f.lifetime_orders,
    f.lifetime_spend_yuan,
    f.avg_order_value_yuan,
    f.largest_order_yuan,
    f.discount_share,
    {%- for source in sources %}
    f.orders_{{ source }},
    {%- endfor %}
    f.preferred_channel,
    f.preferred_hour,
    f.stores_visited,
    f.r_score,
    f.f_score,
    f.m_score,
    f.rfm_segment,
    case f.rfm_segment
        when 'important_value' then '重要价值客户'
        when 'important_develop' then '重要发展客户'
        when 'important_retain' then '重要保持客户'
        when 'important_winback' then '重要挽留客户'
        when 'general_value' then '一般价值客户'
        when 'general_develop' then '一般发展客户'
        when 'general_retain' then '一般保持客户'
        when 'general_winback' then '一般挽留客户'
    end as rfm_segment_cn,
    f.lifecycle,
    case f.lifecycle
        when 'prospect' then '潜在客户'
        when 'new' then '新客'
        when 'active' then '活跃'
        when 'dormant' then '沉睡'
        when 'lost' then '流失'
    end as lifecycle_cn
from segmented as f
