{#- POS REFUND rows whose sale is unknown as of D (SPEC §3, §11): kept as their own order
    (order_status refund_only, never valid) and reported here. -#}
select
    o.order_key,
    o.store_code,
    o.order_id as refund_order_no,
    p.ref_order_no,
    o.order_ts_local,
    o.business_date,
    o.refund_amount_yuan,
    p.delivery_date,
    p.file_name as file,
    p.line_no as line
from {{ ref('orders') }} o
inner join {{ ref('stg_pos__lines') }} p
    on p.store_code = o.store_code
   and p.order_no = o.order_id
where o.order_status = 'refund_only'
