{#- Point redemptions up to D, applied FIFO to the member's lots, without a row-by-row loop.

    Lots are laid end to end in earning order (int_point_lots_earned); everything below the
    member's *frontier* is gone (spent or expired). Because the validity is constant, lots expire
    in that same order, so at any date t the expired points are a prefix X(t) of the stream and
    the earned points a prefix A(t) (lots of day t are added before day t's redemptions).
    Redemption j (amount r_j, in order time) moves the frontier to
        F_j = min(max(F_{j-1}, X_j) + r_j, A_j)        (F_0 = 0)
    and spends F_j - max(F_{j-1}, X_j); the rest of r_j is the shortfall (balance never negative).

    With S_j = r_1 + … + r_j, G_j = F_j - S_j, P_j = X_j - S_{j-1} and Q_j = A_j - S_j this is
    G_j = min(max(G_{j-1}, P_j), Q_j), whose solution is
        G_j = max( min(0, min_{l<=j} Q_l),  max_{k<=j} min(P_k, min_{k<=l<=j} Q_l) ).
    Members without a shortfall never meet the cap Q, so G_j is the running maximum
    max(0, max_{k<=j} P_k) over cumulative sums (one window). Only members with a shortfall take
    the pairwise form (redemption pairs k <= j of one member). -#}

with

members as (

    select
        one_id,
        registration_date
    from {{ ref('int_members_as_of') }}

),

lots as (

    select
        one_id,
        earn_date,
        expiry_date,
        points_earned
    from {{ ref('int_point_lots_earned') }}

),

redemption_orders as (

    select
        o.one_id,
        o.order_key,
        o.business_date as redeem_date,
        coalesce(o.order_ts_local, cast(o.business_date as timestamp)) as redeem_ts,
        cast(o.points_redeemed as bigint) as points_requested
    from {{ ref('orders') }} as o
    inner join members as m
        on o.one_id = m.one_id
    where o.source = 'miniprogram'
      and o.points_redeemed > 0
      and o.order_status not in ('cancelled', 'refunded')
      and o.business_date <= {{ as_of_date() }}
      and (m.registration_date is null or o.business_date >= m.registration_date)

),

-- earnings, expiries and redemptions of a member in one stream: on a date, lots are added and
-- expired lots removed (kind 0) before that date's redemptions (kind 1), which go in order time
point_stream as (

    select
        one_id,
        earn_date as event_date,
        0 as event_kind,
        cast(null as timestamp) as redeem_ts,
        cast(null as {{ dbt.type_string() }}) as order_key,
        points_earned as points_in,
        cast(0 as bigint) as points_out_expired,
        cast(0 as bigint) as points_requested
    from lots

    union all

    select
        one_id,
        expiry_date as event_date,
        0 as event_kind,
        cast(null as timestamp) as redeem_ts,
        cast(null as {{ dbt.type_string() }}) as order_key,
        cast(0 as bigint) as points_in,
        points_earned as points_out_expired,
        cast(0 as bigint) as points_requested
    from lots
    where expiry_date <= {{ as_of_date() }}

    union all

    select
        one_id,
        redeem_date as event_date,
        1 as event_kind,
        redeem_ts,
        order_key,
        cast(0 as bigint) as points_in,
        cast(0 as bigint) as points_out_expired,
        points_requested
    from redemption_orders

),

stream_totals as (

    select
        one_id,
        event_date,
        event_kind,
        redeem_ts,
        order_key,
        points_requested,
        sum(points_in) over (
            partition by one_id order by event_date, event_kind, redeem_ts, order_key
            rows between unbounded preceding and current row
        ) as earned_to_date,
        sum(points_out_expired) over (
            partition by one_id order by event_date, event_kind, redeem_ts, order_key
            rows between unbounded preceding and current row
        ) as expired_to_date,
        sum(points_requested) over (
            partition by one_id order by event_date, event_kind, redeem_ts, order_key
            rows between unbounded preceding and current row
        ) as requested_to_date
    from point_stream

),

redemptions as (

    select
        one_id,
        order_key,
        event_date as redeem_date,
        redeem_ts,
        points_requested,
        earned_to_date,
        expired_to_date,
        requested_to_date,
        row_number() over (partition by one_id order by event_date, redeem_ts, order_key) as redemption_seq,
        -- P_j and Q_j of the header
        expired_to_date - (requested_to_date - points_requested) as lower_gap,
        earned_to_date - requested_to_date as upper_gap
    from stream_totals
    where event_kind = 1

),

uncapped as (

    select
        redemptions.*,
        greatest(
            cast(0 as bigint),
            max(lower_gap) over (
                partition by one_id order by redemption_seq
                rows between unbounded preceding and current row
            )
        ) as gap_uncapped,
        min(upper_gap) over (
            partition by one_id order by redemption_seq
            rows between unbounded preceding and current row
        ) as upper_gap_min
    from redemptions

),

members_with_shortfall as (

    select one_id
    from uncapped
    group by one_id
    having max(case when gap_uncapped > upper_gap then 1 else 0 end) = 1

),

-- exact form for those members: for each redemption j and each earlier-or-same redemption k,
-- min(P_k, min of Q over k … j), maximised over k
capped_pairs as (

    select
        j.one_id,
        j.redemption_seq,
        k.lower_gap as lower_gap_k,
        min(k.upper_gap) over (
            partition by j.one_id, j.redemption_seq order by k.redemption_seq desc
            rows between unbounded preceding and current row
        ) as upper_gap_k_to_j
    from uncapped as j
    inner join members_with_shortfall as s
        on j.one_id = s.one_id
    inner join uncapped as k
        on j.one_id = k.one_id
       and k.redemption_seq <= j.redemption_seq

),

capped as (

    select
        one_id,
        redemption_seq,
        max(least(lower_gap_k, upper_gap_k_to_j)) as gap_from_pairs
    from capped_pairs
    group by one_id, redemption_seq

),

frontier as (

    select
        u.one_id,
        u.order_key,
        u.redeem_date,
        u.redeem_ts,
        u.redemption_seq,
        u.points_requested,
        u.expired_to_date,
        u.requested_to_date
            + case
                when c.one_id is null then u.gap_uncapped
                else greatest(least(cast(0 as bigint), u.upper_gap_min), c.gap_from_pairs)
              end as frontier_after
    from uncapped as u
    left join capped as c
        on u.one_id = c.one_id
       and u.redemption_seq = c.redemption_seq

),

applied as (

    select
        one_id,
        order_key,
        redeem_date,
        redeem_ts,
        redemption_seq,
        points_requested,
        greatest(
            coalesce(lag(frontier_after) over (partition by one_id order by redemption_seq), cast(0 as bigint)),
            expired_to_date
        ) as frontier_before,
        frontier_after
    from frontier

)

select
    one_id,
    order_key,
    redeem_date,
    redeem_ts,
    redemption_seq,
    points_requested,
    frontier_after - frontier_before as points_applied,
    points_requested - (frontier_after - frontier_before) as points_shortfall,
    points_requested > frontier_after - frontier_before as has_shortfall,
    frontier_before as points_position_start,
    frontier_after as points_position_end
from applied
