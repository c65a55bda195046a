{{ config(materialized=view_materialization()) }}
{#- Ele.me orders as of D: the latest delivered version of each orderId wins.
    status: settled | cancelled (INVALID) | refunded (REFUND_SUCCESS). -#}

select
    order_id,
    shop_id,
    order_ts_local,
    business_date,
    eleme_user_hash,
    case when phone_status is null or phone_status = 'valid' then phone_hash end as phone_hash,
    phone_masked,
    phone_status,
    original_amount_yuan,
    paid_amount_yuan,
    income_yuan,
    status,
    refund_amount_yuan,
    item_count,
    delivery_date,
    file_name,
    line_no,
    line_uid
from {{ ref('base_eleme__orders') }}
where order_id is not null
  and business_date <= {{ as_of_date() }}
