{{ config(materialized=view_materialization()) }}
{#- Every order as of D, one row per order key, with its person (SPEC §3, §4, §10).

    order_key: 'pos:<store_code>:<order_no>' or '<source>:<order_id>'. Amounts are decimal(18,2)
    yuan; discount is the register's discount (pos) or gross − paid (platforms, mini-program);
    refund_amount_yuan is positive and net = paid − refund. order_status: completed | cancelled |
    refunded | partially_refunded | refund_only (a POS REFUND whose sale is unknown as of D).
    points_redeemed: a `paid` mini-program order's redeemed points (else 0). one_id is null for
    an anonymous order (no identifier of a person) and for a deleted person's order.
    A view on DuckDB over int_orders__unified, which is kept incrementally: a daily build
    recomputes only the orders that changed instead of rewriting all of them. -#}
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
    paid_amount_yuan,
    refund_amount_yuan,
    net_amount_yuan,
    order_status,
    is_valid,
    points_redeemed,
    one_id
from {{ ref('int_orders__unified') }}
