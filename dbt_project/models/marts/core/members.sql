{#- Registered members as of D, one row per registered, not deleted one_id (SPEC §4, §6, §11).

    Registered: the person holds a member_id of the member feed. Primary member: the one
    registered first (first `register` event; members without one come after), then the smallest
    member_id; member_id, phone, unionid and consents come from it. registration_date: business
    date of the first `register` event among the person's member_ids (if the feed holds none, of
    its first event). Profile: the primary member's latest `register`/`update` in event-time order;
    consents are both false when an `unsubscribe` is later than that profile. has_valid_phone: the
    profile phone is a valid phone (else ingestion stores no hash) and not blocklisted. -#}
with events as (
    {#- the columns every step reads (the profile's other columns are read for the primary
        members' profile events only, by line_uid): a wide copy of every event cost more than
        the rest of the model at 1 M members -#}
    select member_id, event, event_ts_local, business_date, member_id_hash, delivery_date, file_name, line_no, line_uid
    from {{ ref('stg_miniprogram__member_events') }}
),

member_ids as (
    select member_id, min({{ identifier_node_id('member_id_hash') }}) as node_id
    from events
    group by member_id
),

member_persons as (
    select m.member_id, s.one_id
    from member_ids m
    inner join {{ ref('int_identity__one_id_current') }} s
        on s.node_id = m.node_id
    left join {{ ref('deleted_persons') }} d
        on d.one_id = s.one_id
    where d.one_id is null
),

member_dates as (
    select
        member_id,
        min(case when event = 'register' then event_ts_local end) as registered_at,
        min(case when event = 'register' then business_date end) as register_date,
        min(business_date) as first_event_date
    from events
    group by member_id
),

person_members as (
    select
        mp.one_id,
        mp.member_id,
        md.registered_at,
        row_number() over (
            partition by mp.one_id
            order by case when md.registered_at is null then 1 else 0 end, md.registered_at, mp.member_id
        ) as member_rank,
        count(*) over (partition by mp.one_id) as member_id_count,
        min(md.register_date) over (partition by mp.one_id) as first_register_date,
        min(md.first_event_date) over (partition by mp.one_id) as first_event_date
    from member_persons mp
    inner join member_dates md
        on md.member_id = mp.member_id
),

primary_members as (
    select
        one_id,
        member_id,
        registered_at,
        member_id_count,
        coalesce(first_register_date, first_event_date) as registration_date
    from person_members
    where member_rank = 1
),

profile_events as (
    select
        e.line_uid,
        row_number() over (
            partition by e.member_id
            order by e.event_ts_local desc, e.delivery_date desc, e.file_name desc, e.line_no desc
        ) as profile_rank
    from events e
    inner join primary_members p
        on p.member_id = e.member_id
    where e.event in ('register', 'update')
),

profiles as (
    select s.*
    from {{ ref('stg_miniprogram__member_events') }} s
    inner join profile_events pe
        on pe.line_uid = s.line_uid
    where pe.profile_rank = 1
),

unsubscribes as (
    select e.member_id, max(e.event_ts_local) as last_unsubscribed_at
    from events e
    inner join primary_members p
        on p.member_id = e.member_id
    where e.event = 'unsubscribe'
    group by e.member_id
),

blocked_phones as (
    select n.node_id
    from {{ ref('int_identity__excluded_nodes') }} x
    inner join {{ ref('int_identity__nodes') }} n
        on n.node_id = x.node_id
    where x.reason = 'blocklist'
      and n.identifier_type = 'phone'
)

select
    p.one_id,
    p.member_id,
    cast(p.member_id_count as integer) as member_id_count,
    p.registration_date,
    p.registered_at,
    case
        when u.last_unsubscribed_at is not null
         and (pr.event_ts_local is null or u.last_unsubscribed_at >= pr.event_ts_local) then false
        else coalesce(pr.consent_sms, false)
    end as consent_sms,
    case
        when u.last_unsubscribed_at is not null
         and (pr.event_ts_local is null or u.last_unsubscribed_at >= pr.event_ts_local) then false
        else coalesce(pr.consent_wecom, false)
    end as consent_wecom,
    pr.phone_hash,
    pr.phone_masked,
    case when pr.phone_hash is not null and b.node_id is null then true else false end as has_valid_phone,
    pr.unionid_hash,
    pr.openid_hash,
    pr.member_card_hash,
    pr.gender,
    pr.birth_month,
    pr.register_store,
    pr.register_source,
    pr.referrer_member_id,
    pr.event_ts_local as profile_updated_at
from primary_members p
left join profiles pr
    on pr.member_id = p.member_id
left join unsubscribes u
    on u.member_id = p.member_id
left join blocked_phones b
    on b.node_id = {{ identifier_node_id('pr.phone_hash') }}
