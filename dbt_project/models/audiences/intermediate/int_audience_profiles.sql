{{ config(schema='intermediate') }}

{#- The contact profile of every registered member over time, for the audiences of past days
    (SPEC §7, §11). One row per (one_id, valid_from): the profile at the end of business day
    valid_from, holding until valid_to (inclusive; null while current).

    The profile is the primary member's latest `register`/`update` in event-time order (then
    delivery, file, line: as marts.members); an `unsubscribe` at or after that profile withdraws
    both consents until a later `register`/`update`. Channel: `sms` when the profile phone is a
    valid phone (not blocklisted) and consent_sms, else `wecom` when the profile has a unionid and
    consent_wecom, else null (not reachable). Contacts are hashes; phone_masked is for display. -#}

with

members as (

    select
        {{ audience_person_key('one_id') }} as person_key,
        one_id,
        member_id
    from {{ ref('members') }}

),

events as (

    {#- narrow: the ordering columns and line_uid; the profile columns are fetched by line_uid
        for the profile event of each day-end state only (the events are read twice) -#}
    select
        member_id,
        event,
        event_ts_local,
        business_date,
        delivery_date,
        file_name,
        line_no,
        line_uid
    from {{ ref('stg_miniprogram__member_events') }}
    where event in ('register', 'update', 'unsubscribe')

),

blocked_phones as (

    select n.node_id
    from {{ ref('int_identity__excluded_nodes') }} as x
    inner join {{ ref('int_identity__nodes') }} as n
        on n.node_id = x.node_id
    where x.reason = 'blocklist'
      and n.identifier_type = 'phone'

),

-- the primary member's events in the order they take effect: at the same event time an
-- unsubscribe comes after the profile event (it withdraws that profile's consents)
member_events as (

    select
        m.person_key,
        m.one_id,
        e.*,
        row_number() over (
            partition by m.person_key
            order by
                e.event_ts_local,
                case when e.event = 'unsubscribe' then 1 else 0 end,
                e.delivery_date,
                e.file_name,
                e.line_no
        ) as event_seq
    from events as e
    inner join members as m
        on m.member_id = e.member_id

),

states as (

    select
        person_key,
        one_id,
        member_id,
        business_date,
        event_seq,
        max(case when event <> 'unsubscribe' then event_seq end) over (
            partition by person_key order by event_seq
            rows between unbounded preceding and current row
        ) as profile_seq,
        max(case when event = 'unsubscribe' then event_seq end) over (
            partition by person_key order by event_seq
            rows between unbounded preceding and current row
        ) as unsubscribe_seq,
        row_number() over (partition by person_key, business_date order by event_seq desc) as rank_in_day
    from member_events

),

day_end_states as (

    select
        person_key,
        one_id,
        member_id,
        business_date as valid_from,
        lead(business_date) over (partition by person_key order by business_date) as next_valid_from,
        profile_seq,
        coalesce(unsubscribe_seq > profile_seq, unsubscribe_seq is not null) as is_unsubscribed
    from states
    where rank_in_day = 1

),

profiles as (

    select
        s.person_key,
        s.one_id,
        s.member_id,
        s.valid_from,
        {{ days_after('s.next_valid_from', -1) }} as valid_to,
        s.is_unsubscribed,
        not s.is_unsubscribed and coalesce(p.consent_sms, false) as consent_sms,
        not s.is_unsubscribed and coalesce(p.consent_wecom, false) as consent_wecom,
        p.phone_hash is not null and b.node_id is null as has_valid_phone,
        p.phone_hash,
        p.phone_masked,
        p.unionid_hash
    from day_end_states as s
    left join member_events as pe
        on pe.person_key = s.person_key
       and pe.event_seq = s.profile_seq
    left join {{ ref('stg_miniprogram__member_events') }} as p
        on p.line_uid = pe.line_uid
    left join blocked_phones as b
        on b.node_id = {{ identifier_node_id('p.phone_hash') }}

)

select
    person_key,
    one_id,
    member_id,
    valid_from,
    valid_to,
    is_unsubscribed,
    consent_sms,
    consent_wecom,
    has_valid_phone,
    case
        when has_valid_phone and consent_sms then 'sms'
        when unionid_hash is not null and consent_wecom then 'wecom'
    end as channel,
    phone_hash,
    phone_masked,
    unionid_hash
from profiles
