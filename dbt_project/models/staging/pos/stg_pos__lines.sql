{{ config(materialized=view_materialization()) }}
{#- POS register lines as of D: the latest version of each (store_code, order_no), SALE and REFUND
    alike (a REFUND is its own line with its own order_no, naming its sale in ref_order_no). -#}

select
    store_code,
    order_no,
    order_type,
    ref_order_no,
    order_ts_local,
    business_date,
    member_card_hash,
    case when phone_status is null or phone_status = 'valid' then phone_hash end as phone_hash,
    phone_masked,
    phone_status,
    pay_method,
    openid_hash,
    gross_amount_yuan,
    discount_amount_yuan,
    paid_amount_yuan,
    delivery_date,
    file_name,
    line_no,
    line_uid
from {{ ref('base_pos__lines') }}
where store_code is not null and order_no is not null
  and business_date <= {{ as_of_date() }}
