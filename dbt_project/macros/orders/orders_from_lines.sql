{#- One row per order key from order lines on int_orders__lines' shape: amounts, status and
    validity (SPEC §3, §11). Emits CTEs (to follow a `with`): the last one, `orders_unified_`, holds
    the orders. `lines`: the relation or CTE of the lines (all of them, or every line of the
    orders to compute). The rules are described in int_orders__unified. -#}
{% macro orders_from_lines(lines) -%}
pos_sales as (
    {#- a POS order's sale line (one per order: the base table keeps one version per order_no) -#}
    select
        record_id,
        order_key,
        store_code,
        order_id,
        order_ts_local,
        business_date,
        gross_amount_yuan,
        discount_amount_yuan,
        paid_amount_yuan,
        refund_amount_yuan
    from {{ lines }}
    where source = 'pos'
      and line_role = 'sale'
),

pos_refunds as (
    {#- the REFUND lines of each POS order, summed apart (a few percent of the lines), so that the
        sale lines need no grouping; a lone REFUND (sale unknown as of D) is an order of its own -#}
    select
        record_id,
        min(order_key) as order_key,
        min(store_code) as store_code,
        min(order_id) as order_id,
        min(order_ts_local) as order_ts_local,
        min(business_date) as business_date,
        sum(gross_amount_yuan) as gross_amount_yuan,
        sum(discount_amount_yuan) as discount_amount_yuan,
        sum(paid_amount_yuan) as paid_amount_yuan,
        sum(refund_amount_yuan) as refund_amount_yuan,
        count(*) as line_count
    from {{ lines }}
    where source = 'pos'
      and line_role = 'refund'
    group by record_id
),

pos_orders as (
    {#- a POS order: its sale line and the REFUND lines that name it (or a lone REFUND); the
        amounts are required at ingestion, so sale + refunds is the sum over the order's lines -#}
    select
        coalesce(s.record_id, r.record_id) as record_id,
        coalesce(s.order_key, r.order_key) as order_key,
        'pos' as source,
        coalesce(s.store_code, r.store_code) as store_code,
        coalesce(s.order_id, r.order_id) as order_id,
        case when s.record_id is null then 0 else 1 end as has_sale,
        case when r.record_id is null then 0 else 1 end as has_refund_line,
        coalesce(s.order_ts_local, r.order_ts_local) as order_ts_local,
        coalesce(s.business_date, r.business_date) as business_date,
        cast(coalesce(s.gross_amount_yuan, 0) + coalesce(r.gross_amount_yuan, 0) as decimal(18, 2)) as gross_amount_yuan,
        cast(coalesce(s.discount_amount_yuan, 0) + coalesce(r.discount_amount_yuan, 0) as decimal(18, 2)) as discount_amount_yuan,
        cast(coalesce(s.paid_amount_yuan, 0) + coalesce(r.paid_amount_yuan, 0) as decimal(18, 2)) as paid_amount_yuan,
        cast(coalesce(s.refund_amount_yuan, 0) + coalesce(r.refund_amount_yuan, 0) as decimal(18, 2)) as refund_amount_yuan,
        cast(null as {{ dbt.type_string() }}) as platform_status,
        cast(0 as {{ dbt.type_bigint() }}) as points_redeemed,
        cast(null as {{ dbt.type_string() }}) as shop_id,
        cast((case when s.record_id is null then 0 else 1 end) + coalesce(r.line_count, 0) as {{ dbt.type_bigint() }}) as line_count
    from pos_sales s
    full outer join pos_refunds r
        on r.record_id = s.record_id
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
    from {{ lines }}
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
),

orders_unified_ as (
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
)
{%- endmacro %}
