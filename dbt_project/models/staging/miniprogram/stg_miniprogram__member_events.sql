{{ config(materialized=view_materialization()) }}
{#- Mini-program member profile events as of D (register, update, unsubscribe, delete).
    An event delivered in more than one file counts once (same member, event and time: the
    latest delivered version wins). referrer_member_id is the referrer, not this member. -#}

select
    event,
    event_ts_local,
    business_date,
    member_id,
    member_id_hash,
    openid_hash,
    unionid_hash,
    case when phone_status is null or phone_status = 'valid' then phone_hash end as phone_hash,
    phone_masked,
    phone_status,
    member_card_hash,
    birth_month,
    gender,
    register_store,
    register_source,
    referrer_member_id,
    consent_sms,
    consent_wecom,
    delivery_date,
    file_name,
    line_no,
    line_uid
from {{ ref('base_miniprogram__member_events') }}
where member_id is not null and event is not null and event_ts_local is not null
  and business_date <= {{ as_of_date() }}
