{{ config(materialized=view_materialization()) }}
{#- Meituan Waimai orders as of D: the latest delivered version of each 订单号 wins.
    phone_hash is 会员手机号 (the linked member's phone); 收货人电话 never identifies anyone. -#}

select
    order_id,
    shop_id,
    order_ts_local,
    business_date,
    meituan_user_hash,
    case when phone_status is null or phone_status = 'valid' then phone_hash end as phone_hash,
    phone_masked,
    phone_status,
    original_amount_yuan,
    paid_amount_yuan,
    merchant_income_yuan,
    platform_subsidy_yuan,
    merchant_subsidy_yuan,
    delivery_fee_yuan,
    commission_yuan,
    status,
    refund_amount_yuan,
    delivery_date,
    file_name,
    line_no,
    line_uid
from {{ ref('base_meituan__orders') }}
where order_id is not null
  and business_date <= {{ as_of_date() }}
