{{ config(materialized=view_materialization()) }}
{#- Mini-program orders as of D (amounts in fen): the latest delivered version of each order_id.
    status: paid | cancelled | refunded; refund_fen > 0 on a paid order is a partial refund. -#}

select
    order_id,
    order_ts_local,
    business_date,
    openid_hash,
    unionid_hash,
    member_id,
    member_id_hash,
    case when phone_status is null or phone_status = 'valid' then phone_hash end as phone_hash,
    phone_masked,
    phone_status,
    store_code,
    fulfillment,
    item_count,
    total_fen,
    discount_fen,
    paid_fen,
    refund_fen,
    points_redeemed,
    coupon_id,
    status,
    delivery_date,
    file_name,
    line_no,
    line_uid
from {{ ref('base_miniprogram__orders') }}
where order_id is not null
  and business_date <= {{ as_of_date() }}
