{{ config(materialized=view_materialization()) }}

{#- Valid orders (SPEC §3: a sale, not cancelled, net > 0 after every refund known so far) whose
    business date is on or before D. `is_valid` is decided once, in marts.orders. Anonymous orders
    (no one_id) are kept: they count in channel totals only. -#}

with

orders as (

    select
        order_key,
        source,
        store_code,
        order_id,
        order_ts_local,
        business_date,
        order_hour,
        gross_amount_yuan,
        discount_amount_yuan,
        net_amount_yuan,
        one_id
    from {{ ref('orders') }}
    where is_valid
      and business_date <= {{ as_of_date() }}

)

select
    order_key,
    source,
    store_code,
    order_id,
    order_ts_local,
    business_date,
    order_hour,
    gross_amount_yuan,
    discount_amount_yuan,
    net_amount_yuan,
    one_id
from orders
