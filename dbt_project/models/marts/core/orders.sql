{#- Every order as of D, one row per order key, with its person (SPEC §3, §4, §10).

    order_key: 'pos:<store_code>:<order_no>' or '<source>:<order_id>'. Amounts are decimal(18,2)
    yuan; discount is the register's discount (pos) or gross − paid (platforms, mini-program);
    refund_amount_yuan is positive and net = paid − refund. order_status: completed | cancelled |
    refunded | partially_refunded | refund_only (a POS REFUND whose sale is unknown as of D).
    points_redeemed: a `paid` mini-program order's redeemed points (else 0). one_id is null for
    an anonymous order (no identifier of a person) and for a deleted person's order. -#}
with orders as (
    select * from {{ ref('int_orders__unified') }}
),

order_persons as (
    select c.record_id, s.one_id
    from {{ ref('int_identity__record_centers') }} c
    inner join {{ ref('int_identity__one_id_current') }} s
        on s.node_id = c.center_node_id
    left join {{ ref('deleted_persons') }} d
        on d.one_id = s.one_id
    where d.one_id is null
)

select
    o.order_key,
    o.source,
    o.store_code,
    o.order_id,
    o.order_ts_local,
    o.business_date,
    o.order_hour,
    o.gross_amount_yuan,
    o.discount_amount_yuan,
    o.paid_amount_yuan,
    o.refund_amount_yuan,
    o.net_amount_yuan,
    o.order_status,
    o.is_valid,
    o.points_redeemed,
    p.one_id
from orders o
left join order_persons p
    on p.record_id = o.record_id
