{#- Channel KPIs per business date up to D, for BI: one row per (business_date, channel) for each
    source that had a valid order that day, plus channel = 'all' (the whole brand that day).
    Buyers are distinct one_ids, so the 'all' row is not the sum of the channel rows; anonymous
    orders count in orders and GMV only. Decomposition: gmv_yuan = orders × aov_yuan, and
    identified_orders = buyers × orders_per_buyer. -#}

{%- set channels = ['pos', 'meituan', 'eleme', 'miniprogram'] %}

{{ require_kept_as_of(ref('int_member_order_totals'), 'member_totals') }}
with

members as (

    select
        one_id,
        registration_date
    from {{ ref('int_members_as_of') }}

),

valid_orders as (

    select
        source,
        business_date,
        one_id,
        net_amount_yuan
    from {{ ref('int_orders_valid_as_of') }}

),

persons as (

    {#- each buyer's first valid order (its order totals, kept by person: every one_id of a valid
        order has a row) and membership, so that the orders are joined once -#}
    select
        f.one_id,
        f.first_order_date,
        m.one_id is not null as is_member,
        m.registration_date
    from {{ ref('int_member_order_totals') }} as f
    left join members as m
        on m.one_id = f.one_id

),

orders_enriched as (

    select
        o.source,
        o.business_date,
        o.one_id,
        o.net_amount_yuan,
        case
            when p.is_member
             and (p.registration_date is null or p.registration_date <= o.business_date)
            then 1 else 0
        end as is_member_order,
        case when p.first_order_date < o.business_date then 1 else 0 end as is_returning
    from valid_orders as o
    left join persons as p
        on o.one_id = p.one_id

),

buyer_days as (

    {#- one row per (business date, buyer), with the channels bought in that day as bits (bit i:
        channels[i]; one aggregate instead of one per channel): every distinct buyer count below
        is a sum over these rows, so the orders are grouped by buyer once -#}
    select
        business_date,
        one_id,
        max(is_returning) as is_returning,
        bit_or(case source
            {%- for channel in channels %}
            when '{{ channel }}' then {{ 2 ** loop.index0 }}
            {%- endfor %}
            else 0
        end) as bought
    from orders_enriched
    where one_id is not null
    group by business_date, one_id

),

buyer_totals as (

    select
        business_date,
        {%- for channel in channels %}
        sum(case when (bought & {{ 2 ** loop.index0 }}) <> 0 then 1 else 0 end) as buyers_{{ channel }},
        sum(case when (bought & {{ 2 ** loop.index0 }}) <> 0 then is_returning else 0 end) as returning_buyers_{{ channel }},
        {%- endfor %}
        count(*) as buyers_all,
        sum(is_returning) as returning_buyers_all
    from buyer_days
    group by business_date

),

buyers as (

    {%- for channel in channels + ['all'] %}
    select
        business_date,
        '{{ channel }}' as channel,
        buyers_{{ channel }} as buyers,
        returning_buyers_{{ channel }} as returning_buyers
    from buyer_totals
    {{ "union all" if not loop.last }}
    {%- endfor %}

),

channel_orders as (

    select
        business_date,
        source as channel,
        count(*) as orders,
        sum(case when one_id is null then 1 else 0 end) as anonymous_orders,
        sum(net_amount_yuan) as gmv_yuan,
        sum(case when is_member_order = 1 then net_amount_yuan else 0 end) as member_gmv_yuan
    from orders_enriched
    group by business_date, source

),

order_totals as (

    select * from channel_orders

    union all

    select
        business_date,
        'all' as channel,
        sum(orders) as orders,
        sum(anonymous_orders) as anonymous_orders,
        sum(gmv_yuan) as gmv_yuan,
        sum(member_gmv_yuan) as member_gmv_yuan
    from channel_orders
    group by business_date

),

channel_days as (

    select
        o.business_date,
        o.channel,
        o.orders,
        o.anonymous_orders,
        o.gmv_yuan,
        o.member_gmv_yuan,
        coalesce(b.buyers, 0) as buyers,
        coalesce(b.returning_buyers, 0) as returning_buyers
    from order_totals as o
    left join buyers as b
        on b.business_date = o.business_date
       and b.channel = o.channel

),

by_channel as (

    select * from channel_days where channel <> 'all'

),

all_channels as (

    select * from channel_days where channel = 'all'

),

registrations as (

    select
        registration_date as business_date,
        count(*) as new_members
    from members
    where registration_date is not null
    group by registration_date

),

all_dates as (

    select business_date from all_channels
    union
    select business_date from registrations

),

all_rows as (

    select
        d.business_date,
        'all' as channel,
        coalesce(a.orders, 0) as orders,
        coalesce(a.anonymous_orders, 0) as anonymous_orders,
        coalesce(a.gmv_yuan, 0) as gmv_yuan,
        coalesce(a.member_gmv_yuan, 0) as member_gmv_yuan,
        coalesce(a.buyers, 0) as buyers,
        coalesce(a.returning_buyers, 0) as returning_buyers,
        coalesce(r.new_members, 0) as new_members
    from all_dates as d
    left join all_channels as a
        on d.business_date = a.business_date
    left join registrations as r
        on d.business_date = r.business_date

),

kpi_rows as (

    select
        business_date, channel, orders, anonymous_orders, gmv_yuan, member_gmv_yuan, buyers,
        returning_buyers, cast(null as bigint) as new_members
    from by_channel

    union all

    select
        business_date, channel, orders, anonymous_orders, gmv_yuan, member_gmv_yuan, buyers,
        returning_buyers, new_members
    from all_rows

)

select
    business_date,
    channel,
    cast(gmv_yuan as decimal(18, 2)) as gmv_yuan,
    cast(orders as bigint) as orders,
    cast(anonymous_orders as bigint) as anonymous_orders,
    cast(orders - anonymous_orders as bigint) as identified_orders,
    cast(buyers as bigint) as buyers,
    cast(member_gmv_yuan as decimal(18, 2)) as member_gmv_yuan,
    {{ int_ratio_half_up(yuan_as_fen('member_gmv_yuan'), yuan_as_fen('gmv_yuan'), 4) }} as member_gmv_share,
    cast(new_members as bigint) as new_members,
    cast(returning_buyers as bigint) as returning_buyers,
    {{ int_ratio_half_up('returning_buyers', 'buyers', 4) }} as repurchase_rate,
    {{ int_ratio_half_up('orders - anonymous_orders', 'buyers', 4) }} as orders_per_buyer,
    case when orders > 0 then
        {{ fen_as_yuan(int_floor_div('2 * ' ~ yuan_as_fen('gmv_yuan') ~ ' + orders', '2 * orders')) }}
    end as aov_yuan
from kpi_rows
