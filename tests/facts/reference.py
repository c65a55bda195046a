"""A slow, obviously-correct Python reading of SPEC §5-§6, used to check the dbt facts models.

Everything is computed the naive way (one evaluation per member per day, lots spent one by one)
so that it shares no trick with the SQL it checks.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import ROUND_FLOOR, ROUND_HALF_UP, Decimal

RULES = {
    "window_days": 365,
    "new_days": 30,
    "active_max_recency_days": 60,
    "dormant_max_recency_days": 180,
    "rfm_buckets": 5,
    "tier_mode": "up_and_down",
    "growth_window_days": 365,
    "tier_bands": [
        {"tier": "regular", "lower": 0},
        {"tier": "silver", "lower": 3000},
        {"tier": "gold", "lower": 6000},
    ],
    "downgrade_horizon_days": 30,
    "yuan_per_point": 10,
    "points_validity_days": 365,
    "points_expiring_window_days": 30,
}

SEGMENTS = {
    (True, True, True): "important_value",
    (True, False, True): "important_develop",
    (False, True, True): "important_retain",
    (False, False, True): "important_winback",
    (True, True, False): "general_value",
    (True, False, False): "general_develop",
    (False, True, False): "general_retain",
    (False, False, False): "general_winback",
}


@dataclass(frozen=True)
class Order:
    order_key: str
    source: str
    store_code: str | None
    order_ts_local: datetime
    gross_amount_yuan: Decimal
    discount_amount_yuan: Decimal
    net_amount_yuan: Decimal
    order_status: str
    is_valid: bool
    points_redeemed: int
    one_id: str | None

    @property
    def business_date(self) -> date:
        return self.order_ts_local.date()


@dataclass(frozen=True)
class Member:
    one_id: str
    member_id: str
    registration_date: date | None


def _floor(x: Decimal) -> int:
    return int(x.to_integral_value(rounding=ROUND_FLOOR))


def _band(growth: int, rules: dict) -> int:
    bands = sorted(rules["tier_bands"], key=lambda b: b["lower"])
    rank = 0
    for i, b in enumerate(bands):
        if growth >= b["lower"]:
            rank = i
    return rank


def _tier_name(rank: int, rules: dict) -> str:
    return sorted(rules["tier_bands"], key=lambda b: b["lower"])[rank]["tier"]


def member_facts(orders: list[Order], members: list[Member], d: date, rules: dict = RULES) -> dict:
    valid = [o for o in orders if o.is_valid and o.business_date <= d and o.one_id]
    by_person: dict[str, list[Order]] = defaultdict(list)
    for o in valid:
        by_person[o.one_id].append(o)
    mem = {m.one_id: m for m in members if m.registration_date is None or m.registration_date <= d}
    start = d - timedelta(days=rules["window_days"] - 1)
    out: dict[str, dict] = {}
    for one_id in set(mem) | set(by_person):
        os_ = by_person.get(one_id, [])
        w = [o for o in os_ if o.business_date >= start]
        row: dict = {"is_member": one_id in mem, "frequency_365": len(w),
                     "monetary_365": sum((o.net_amount_yuan for o in w), Decimal("0.00")),
                     "lifetime_orders": len(os_),
                     "lifetime_spend_yuan": sum((o.net_amount_yuan for o in os_), Decimal("0.00"))}
        if os_:
            first = min(o.business_date for o in os_)
            last = max(o.business_date for o in os_)
            row.update(first_order_date=first, last_order_date=last, recency_days=(d - last).days,
                       largest_order_yuan=max(o.net_amount_yuan for o in os_))
            row["avg_order_value_yuan"] = (row["lifetime_spend_yuan"] / len(os_)).quantize(
                Decimal("0.01"), rounding=ROUND_HALF_UP)
            gross = sum(o.gross_amount_yuan for o in os_)
            disc = sum(o.discount_amount_yuan for o in os_)
            row["discount_share"] = (disc / gross).quantize(Decimal("0.0001"), ROUND_HALF_UP) if gross else None
            ch = Counter(o.source for o in os_)
            row["preferred_channel"] = sorted(ch.items(), key=lambda kv: (-kv[1], kv[0]))[0][0]
            hr = Counter(o.order_ts_local.hour for o in os_)
            row["preferred_hour"] = sorted(hr.items(), key=lambda kv: (-kv[1], kv[0]))[0][0]
            row["stores_visited"] = len({o.store_code for o in os_ if o.store_code})
            if first >= d - timedelta(days=rules["new_days"] - 1):
                row["lifecycle"] = "new"
            elif row["recency_days"] <= rules["active_max_recency_days"]:
                row["lifecycle"] = "active"
            elif row["recency_days"] <= rules["dormant_max_recency_days"]:
                row["lifecycle"] = "dormant"
            else:
                row["lifecycle"] = "lost"
        else:
            row.update(first_order_date=None, last_order_date=None, recency_days=None,
                       largest_order_yuan=None, avg_order_value_yuan=None, discount_share=None,
                       preferred_channel=None, preferred_hour=None, stores_visited=0,
                       lifecycle="prospect")
        for s in ("pos", "meituan", "eleme", "miniprogram"):
            row[f"orders_{s}"] = sum(1 for o in os_ if o.source == s)
        row.update(r_score=None, f_score=None, m_score=None, rfm_segment=None)
        out[one_id] = row
    pop = [k for k, r in out.items() if r["frequency_365"] >= 1]
    n = len(pop)
    k = rules["rfm_buckets"]
    if n:
        rs = [out[p]["recency_days"] for p in pop]
        fs = [out[p]["frequency_365"] for p in pop]
        ms = [out[p]["monetary_365"] for p in pop]
        for p in pop:
            r = out[p]
            r["r_score"] = math.ceil(k * sum(1 for x in rs if x >= r["recency_days"]) / n)
            r["f_score"] = math.ceil(k * sum(1 for x in fs if x <= r["frequency_365"]) / n)
            r["m_score"] = math.ceil(k * sum(1 for x in ms if x <= r["monetary_365"]) / n)
            key = (r["recency_days"] * n < sum(rs), r["frequency_365"] * n > sum(fs),
                   r["monetary_365"] * n > sum(ms))
            r["rfm_segment"] = SEGMENTS[key]
    return out


def counted_orders(orders: list[Order], members: list[Member], d: date) -> dict[str, list[Order]]:
    mem = {m.one_id: m for m in members if m.registration_date is None or m.registration_date <= d}
    out: dict[str, list[Order]] = defaultdict(list)
    for o in orders:
        m = mem.get(o.one_id or "")
        if o.is_valid and m and o.business_date <= d and (
            m.registration_date is None or o.business_date >= m.registration_date
        ):
            out[o.one_id].append(o)
    return out


def tiers(orders: list[Order], members: list[Member], d: date, rules: dict = RULES):
    """member_tiers rows and tier_history rows, by evaluating every day since registration."""
    counted = counted_orders(orders, members, d)
    w = rules["growth_window_days"]
    only_up = rules["tier_mode"] == "only_up"

    def growth(os_: list[Order], t: date, window: int) -> int:
        return sum(_floor(o.net_amount_yuan) for o in os_ if t - timedelta(days=window - 1) <= o.business_date <= t)

    tier_rows, history = {}, []
    for m in members:
        if not (m.registration_date is None or m.registration_date <= d):
            continue
        os_ = counted.get(m.one_id, [])
        start = m.registration_date or (min(o.business_date for o in os_) if os_ else None)
        held, daily = 0, []
        t = start
        while t is not None and t <= d:
            band = _band(growth(os_, t, w), rules)
            held = max(held, band) if only_up else band
            daily.append((t, held))
            t += timedelta(days=1)
        for t, rank in daily:
            if history and history[-1]["one_id"] == m.one_id and history[-1]["tier_rank"] == rank:
                history[-1]["valid_to"] = t
            else:
                history.append({"one_id": m.one_id, "tier_rank": rank, "tier": _tier_name(rank, rules),
                                "valid_from": t, "valid_to": t})
        if daily:
            history[-1]["valid_to"] = None
        g = growth(os_, d, w)
        g30 = growth(os_, d, w - rules["downgrade_horizon_days"])
        rank = held if daily else 0
        rank30 = rank if only_up else _band(g30, rules)
        lower = sorted(rules["tier_bands"], key=lambda b: b["lower"])[rank]["lower"]
        tier_rows[m.one_id] = {
            "growth_value": g, "tier": _tier_name(rank, rules), "growth_value_in_30_days": g30,
            "tier_in_30_days": _tier_name(rank30, rules), "downgrade_risk": rank30 < rank,
            "spend_to_keep_tier_yuan": Decimal(lower - g30 if rank30 < rank else 0),
        }
    return tier_rows, history


def points(orders: list[Order], members: list[Member], d: date, rules: dict = RULES):
    """member_points rows and lots {(one_id, earn_date): {...}} by a day-by-day FIFO simulation."""
    counted = counted_orders(orders, members, d)
    mem = {m.one_id: m for m in members if m.registration_date is None or m.registration_date <= d}
    validity = rules["points_validity_days"]
    per = rules["yuan_per_point"]
    result, lots_out = {}, {}
    for one_id, m in mem.items():
        earned: dict[date, int] = defaultdict(int)
        for o in counted.get(one_id, []):
            p = _floor(o.net_amount_yuan) // per
            if p > 0:
                earned[o.business_date] += p
        reds = sorted(
            (o for o in orders if o.one_id == one_id and o.source == "miniprogram"
             and o.points_redeemed > 0 and o.order_status not in ("cancelled", "refunded")
             and o.business_date <= d
             and (m.registration_date is None or o.business_date >= m.registration_date)),
            key=lambda o: (o.business_date, o.order_ts_local, o.order_key))
        lots = {e: {"points_earned": p, "points_used": 0} for e, p in sorted(earned.items())}
        shortfall = 0
        for o in reds:
            need = o.points_redeemed
            for e in sorted(lots):
                lot = lots[e]
                if e <= o.business_date < e + timedelta(days=validity):
                    take = min(need, lot["points_earned"] - lot["points_used"])
                    lot["points_used"] += take
                    need -= take
            shortfall += need
        balance = expiring = 0
        earliest = None
        for e, lot in lots.items():
            expiry = e + timedelta(days=validity)
            rest = lot["points_earned"] - lot["points_used"]
            expired = expiry <= d
            lots_out[(one_id, e)] = {"expiry_date": expiry, "points_earned": lot["points_earned"],
                                     "points_used": lot["points_used"],
                                     "points_expired": rest if expired else 0,
                                     "points_left": 0 if expired else rest}
            if not expired and rest > 0:
                balance += rest
                if expiry <= d + timedelta(days=rules["points_expiring_window_days"]):
                    expiring += rest
                earliest = expiry if earliest is None else min(earliest, expiry)
        result[one_id] = {"points_balance": balance, "points_expiring_30d": expiring,
                          "earliest_expiry": earliest, "points_shortfall": shortfall}
    return result, lots_out


def channel_kpis(orders: list[Order], members: list[Member], d: date) -> dict:
    """{(business_date, channel): row} for channel_kpis_daily."""
    mem = {m.one_id: m for m in members if m.registration_date is None or m.registration_date <= d}
    valid = [o for o in orders if o.is_valid and o.business_date <= d]
    first: dict[str, date] = {}
    for o in valid:
        if o.one_id:
            first[o.one_id] = min(first.get(o.one_id, o.business_date), o.business_date)
    groups: dict[tuple, list[Order]] = defaultdict(list)
    for o in valid:
        groups[(o.business_date, o.source)].append(o)
        groups[(o.business_date, "all")].append(o)
    regs = Counter(m.registration_date for m in mem.values() if m.registration_date)
    for day in regs:
        groups.setdefault((day, "all"), [])

    def ratio(a: Decimal | int, b: Decimal | int) -> Decimal | None:
        return (Decimal(a) / Decimal(b)).quantize(Decimal("0.0001"), ROUND_HALF_UP) if b else None

    out = {}
    for (day, channel), os_ in groups.items():
        gmv = sum((o.net_amount_yuan for o in os_), Decimal("0.00"))
        member_gmv = sum((o.net_amount_yuan for o in os_ if o.one_id in mem and (
            mem[o.one_id].registration_date is None or mem[o.one_id].registration_date <= day)),
            Decimal("0.00"))
        buyers = {o.one_id for o in os_ if o.one_id}
        returning = {b for b in buyers if first[b] < day}
        out[(day, channel)] = {
            "gmv_yuan": gmv, "orders": len(os_), "buyers": len(buyers),
            "member_gmv_share": ratio(member_gmv, gmv) if gmv else None,
            "new_members": regs.get(day, 0) if channel == "all" else None,
            "repurchase_rate": ratio(len(returning), len(buyers)),
            "aov_yuan": (gmv / len(os_)).quantize(Decimal("0.01"), ROUND_HALF_UP) if os_ else None,
        }
    return out
