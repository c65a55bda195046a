{#- One row per order key as of D, with its amounts and status (SPEC §3, §11).

    net = paid − refunds: pos sale paid + its REFUND rows' (negative) paid; platforms paid −
    refund (0 when fully refunded); mini-program (paid_fen − refund_fen) / 100 (0 when refunded).
    order_status: completed | cancelled | refunded | partially_refunded | refund_only (a POS
    REFUND whose sale is unknown as of D). valid = a sale, not cancelled, net > 0. -#}
with pos_orders as (
    {#- a POS order: its sale line and the REFUND lines that name it (or a lone REFUND) -#}
    select
        record_id,
        min(order_key) as order_key,
        min(source) as source,
        min(store_code) as store_code,
        min(order_id) as order_id,
        max(case when line_role = 'sale' then 1 else 0 end) as has_sale,
        max(case when line_role = 'refund' then 1 else 0 end) as has_refund_line,
        coalesce(
            min(case when line_role = 'sale' then order_ts_local end), min(order_ts_local)
        ) as order_ts_local,
        coalesce(
            min(case when line_role = 'sale' then business_date end), min(business_date)
        ) as business_date,
        cast(sum(gross_amount_yuan) as decimal(18, 2)) as gross_amount_yuan,
        cast(sum(discount_amount_yuan) as decimal(18, 2)) as discount_amount_yuan,
        cast(sum(paid_amount_yuan) as decimal(18, 2)) as paid_amount_yuan,
        cast(sum(refund_amount_yuan) as decimal(18, 2)) as refund_amount_yuan,
        cast(null as {{ dbt.type_string() }}) as platform_status,
        cast(0 as {{ dbt.type_bigint() }}) as points_redeemed,
        cast(null as {{ dbt.type_string() }}) as shop_id,
        count(*) as line_count
    from {{ ref('int_orders__lines') }}
    where source = 'pos'
    group by record_id
),

platform_orders as (
    {#- a platform or mini-program order is one line: its latest delivered version -#}
    select
        record_id,
        order_key,
        source,
        store_code,
        order_id,
        1 as has_sale,
        0 as has_refund_line,
        order_ts_local,
        business_date,
        gross_amount_yuan,
        discount_amount_yuan,
        paid_amount_yuan,
        refund_amount_yuan,
        platform_status,
        points_redeemed,
        shop_id,
        cast(1 as {{ dbt.type_bigint() }}) as line_count
    from {{ ref('int_orders__lines') }}
    where source <> 'pos'
),

orders as (
    select * from pos_orders
    union all
    select * from platform_orders
),

shaped as (
    select
        record_id,
        order_key,
        source,
        store_code,
        order_id,
        order_ts_local,
        business_date,
        gross_amount_yuan,
        discount_amount_yuan,
        paid_amount_yuan,
        refund_amount_yuan,
        cast(paid_amount_yuan - refund_amount_yuan as decimal(18, 2)) as net_amount_yuan,
        case
            when has_sale = 0 then 'refund_only'
            when source = 'pos' and has_refund_line = 0 then 'completed'
            when source = 'pos' and paid_amount_yuan - refund_amount_yuan <= 0 then 'refunded'
            when source = 'pos' then 'partially_refunded'
            when platform_status = 'cancelled' then 'cancelled'
            when platform_status = 'refunded' then 'refunded'
            when platform_status = 'partially_refunded' or refund_amount_yuan > 0 then 'partially_refunded'
            else 'completed'
        end as order_status,
        has_sale,
        points_redeemed,
        shop_id,
        line_count
    from orders
)

select
    record_id,
    order_key,
    source,
    store_code,
    order_id,
    order_ts_local,
    business_date,
    cast(extract(hour from order_ts_local) as integer) as order_hour,
    gross_amount_yuan,
    discount_amount_yuan,
    paid_amount_yuan,
    refund_amount_yuan,
    net_amount_yuan,
    order_status,
    case
        when has_sale = 1 and order_status <> 'cancelled' and net_amount_yuan > 0 then true
        else false
    end as is_valid,
    cast(points_redeemed as integer) as points_redeemed,
    shop_id,
    line_count
from shaped
