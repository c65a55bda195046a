"""Platform orders: Meituan (CSV), Ele.me (JSONL) and the mini-program (JSONL).

Each order has a final status (0 completed, 1 cancelled, 2 fully refunded, 3 partially refunded).
A refunded order is usually delivered twice: first completed on its own day, then again in a later
day's file with the refund. Rows (one per delivered version) point back at their order.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from generator import catalog as C
from generator import textfmt as T
from generator.world import (DAY, ELEME, MEITUAN, MINIPROGRAM, UTC_OFFSET, Calendar, Orders, Persons, Stores,
                             draw, phone_at, pick)

COMPLETED, CANCELLED, REFUNDED, PARTIAL = range(4)
UNKNOWN_SHOP = "MT999999"
MEITUAN_HEADER = "订单号,门店ID,下单时间,用户ID,收货人,收货人电话,会员手机号,收货地址,订单原价,顾客实付,商家实收,平台补贴,商家补贴,配送费,佣金,订单状态,退款金额\n".encode()


@dataclass
class Platform:
    """Order-level arrays (one per order) and row-level arrays (one per delivered version)."""

    pid: np.ndarray
    t: np.ndarray
    store: np.ndarray
    combo: np.ndarray
    status: np.ndarray
    paid: np.ndarray
    refund: np.ndarray
    protected: np.ndarray
    phone: np.ndarray  # the phone the person uses at order time
    extra: dict
    # rows
    row_order: np.ndarray | None = None
    row_status: np.ndarray | None = None
    row_deliv: np.ndarray | None = None
    row_first: np.ndarray | None = None
    row_defect: np.ndarray | None = None
    redelivered: np.ndarray | None = None

    @property
    def n(self) -> int:
        return len(self.pid)


def _status(rng: np.random.Generator, n: int, p: list[float]) -> np.ndarray:
    return draw(rng, p, n)


def _refund_amounts(rng: np.random.Generator, status: np.ndarray, paid: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    partial = np.clip(np.round(paid * rng.uniform(0.1, 0.6, len(paid)) / 100) * 100, 100, paid - 100).astype(np.int64)
    refund = np.select([status == REFUNDED, status == PARTIAL], [paid, partial], 0)
    return status, refund


def make_versions(pf: Platform, base: np.ndarray, days: int, rng: np.random.Generator) -> None:
    """Delivery rows: late orders, refunds re-delivered later with the new status.

    ``base`` is the day an order is normally delivered (its business day; for the mini-program the
    UTC day, which can be the day before)."""
    last = days - 1
    n = pf.n
    local = pf.t // DAY
    pf.status = np.where((pf.status == PARTIAL) & (pf.paid < 300), REFUNDED, pf.status)  # too small to split
    lag = np.where(rng.random(n, dtype=np.float32) < 0.015, rng.integers(1, 5, size=n), 0)
    deliv = np.minimum(base + lag, last)
    if days >= 3:  # at least one order delivered once, two or more days after its business day
        ok = (pf.status == COMPLETED) & ~pf.protected
        late = ok & (deliv - local >= 2)
        j = pick(rng, late if late.any() else ok & (local <= last - 2))
        deliv[j] = np.maximum(deliv[j], local[j] + 2)
        pf.protected[j] = True
    if days >= 2:  # every final status at least once
        for st in (CANCELLED, REFUNDED, PARTIAL):
            if not (pf.status == st).any():
                j = pick(rng, ~pf.protected & (pf.status == COMPLETED) & (pf.paid >= 300))
                pf.status[j] = st
                pf.protected[j] = True
    red = np.isin(pf.status, [REFUNDED, PARTIAL]) & (rng.random(n, dtype=np.float32) < 0.8)
    later = deliv + rng.integers(1, 6, size=n)
    red &= later <= last
    if days >= 2:
        for st in (REFUNDED, PARTIAL):
            if not (red & (pf.status == st)).any():
                j = pick(rng, ~pf.protected & (pf.status == COMPLETED) & (deliv <= last - 1) & (pf.paid >= 300))
                pf.status[j], red[j], later[j] = st, True, deliv[j] + 1
                pf.protected[j] = True
    pf.status, pf.refund = _refund_amounts(rng, pf.status, pf.paid)
    first = np.flatnonzero(red)
    pf.row_order = np.concatenate([np.arange(n), first])
    pf.row_first = np.concatenate([np.zeros(n, bool), np.ones(len(first), bool)])
    pf.row_status = np.concatenate([pf.status, np.zeros(len(first), np.int64)])
    pf.row_deliv = np.concatenate([np.where(red, later, deliv), deliv[first]])
    pf.row_defect = np.zeros(len(pf.row_order), dtype=np.int8)
    pf.redelivered = red


def _ids(rng: np.random.Generator, t: np.ndarray, base: int) -> np.ndarray:
    """Increasing numeric order ids with random gaps (int64, never floats)."""
    rank = np.empty(len(t), dtype=np.int64)
    rank[np.argsort(t, kind="stable")] = np.arange(len(t))
    offset = int(rng.integers(10**14, 9 * 10**15))
    return base + offset + rank * 9_973 + rng.integers(0, 9_973, size=len(t))


def _delivery_amounts(rng: np.random.Generator, orig: np.ndarray) -> dict[str, np.ndarray]:
    n = len(orig)
    fee = draw(rng, [0.3, 0.2, 0.2, 0.2, 0.1], n, [0, 300, 400, 500, 600])
    ps = draw(rng, [0.4, 0.2, 0.2, 0.1, 0.1], n, [0, 100, 200, 300, 500])
    ms = draw(rng, [0.35, 0.15, 0.2, 0.15, 0.1, 0.05], n, [0, 200, 300, 500, 600, 800])
    paid = orig + fee - ps - ms
    low = paid < 100
    ps, ms = np.where(low, 0, ps), np.where(low, 0, ms)
    paid = orig + fee - ps - ms
    commission = np.round((orig - ms) * 0.18).astype(np.int64)
    return {"orig": orig, "fee": fee, "ps": ps, "ms": ms, "paid": paid, "commission": commission,
            "income": orig - ms - commission}


def _masked_contact(rng: np.random.Generator, n: int) -> dict[str, np.ndarray]:
    return {"privacy": rng.random(n, dtype=np.float32) < 0.5, "priv_no": rng.integers(0, 100_000_000, size=n),
            "priv_ext": rng.integers(0, 10_000, size=n), "stars": rng.integers(0, 2, size=n),
            "district": rng.random(n)}


def _ensure_linked(pid: np.ndarray, t: np.ndarray, p: Persons, linked: np.ndarray, protected: np.ndarray,
                   rng: np.random.Generator) -> None:
    """At least one order by a member who linked the brand membership on the platform (会员手机号):
    link a member who ordered after registering, or else hand an order to a member registered before it."""
    now = linked[pid] & (t >= p.reg_t[pid])
    if now.any() or len(pid) == 0:
        protected[pick(rng, now)] = True  # keep one well formed
        return
    ok = p.is_member[pid] & (t >= p.reg_t[pid]) & ~p.deleted[pid]
    j = pick(rng, ok & ~protected)
    if len(j):
        linked[pid[j]] = True
        protected[j] = True
        return
    members = np.flatnonzero(p.is_member & ~p.deleted)
    if len(members) == 0:
        return
    first = members[np.argmin(p.reg_t[members])]
    j = pick(rng, (t > p.reg_t[first]) & ~protected)
    if len(j):
        pid[j] = first
        linked[first] = True
        protected[j] = True


def make_meituan(o: Orders, p: Persons, s: Stores, combo_total: np.ndarray, days: int,
                 rng: np.random.Generator) -> Platform:
    im = np.flatnonzero(o.ch == MEITUAN)
    n = len(im)
    pid, t = o.pid[im], o.t[im]
    store = np.where(rng.random(n, dtype=np.float32) < 0.8, p.home[pid], rng.integers(0, s.n, size=n))
    protected = np.zeros(n, dtype=bool)
    unknown = pick(rng, np.ones(n, bool), 1 + n // 2_000_000)
    store[unknown] = s.n  # a shop id the store master does not know
    protected[unknown] = True
    _ensure_linked(pid, t, p, p.meituan_linked, protected, rng)
    amounts = _delivery_amounts(rng, combo_total[o.combo[im]])
    ids = _ids(rng, t, 3_801_000_000_000_000_000)
    short = rng.random(n, dtype=np.float32) < 0.1
    short[:1] = False  # at least one 19-digit id
    ids = np.where(short, ids - 3_801_000_000_000_000_000 + 380_100_000_000_000_000, ids)  # some 18-digit ids
    extra = {**amounts, **_masked_contact(rng, n), "id": ids,
             "linked": p.meituan_linked[pid] & (t >= p.reg_t[pid])}
    pf = Platform(pid=pid, t=t, store=store, combo=o.combo[im], status=_status(rng, n, [0.91, 0.04, 0.025, 0.025]),
                  paid=amounts["paid"], refund=np.zeros(n, np.int64), protected=protected, phone=phone_at(p, pid, t),
                  extra=extra)
    make_versions(pf, t // DAY, days, rng)
    return pf


def make_eleme(o: Orders, p: Persons, s: Stores, combo_total: np.ndarray, days: int,
               rng: np.random.Generator) -> Platform:
    ie = np.flatnonzero(o.ch == ELEME)
    n = len(ie)
    pid, t = o.pid[ie], o.t[ie]
    enabled = np.array([i for i in range(s.n) if s.eleme_id[i]])
    home = p.home[pid]
    home_ok = np.isin(home, enabled)
    elsewhere = enabled[rng.integers(0, len(enabled), size=n)]
    store = np.where(home_ok & (rng.random(n, dtype=np.float32) < 0.8), home, elsewhere)
    protected = np.zeros(n, dtype=bool)
    _ensure_linked(pid, t, p, p.eleme_linked, protected, rng)
    amounts = _delivery_amounts(rng, combo_total[o.combo[ie]])
    extra = {**amounts, **_masked_contact(rng, n), "id": _ids(rng, t, 5_012_000_000_000_000_000),
             "linked": p.eleme_linked[pid] & (t >= p.reg_t[pid])}
    pf = Platform(pid=pid, t=t, store=store, combo=o.combo[ie], status=_status(rng, n, [0.91, 0.04, 0.025, 0.025]),
                  paid=amounts["paid"], refund=np.zeros(n, np.int64), protected=protected,
                  phone=phone_at(p, pid, t), extra=extra)
    make_versions(pf, t // DAY, days, rng)
    return pf


def make_miniprogram(o: Orders, p: Persons, s: Stores, combo_total: np.ndarray, days: int,
                     rng: np.random.Generator) -> Platform:
    io_ = np.flatnonzero(o.ch == MINIPROGRAM)
    n = len(io_)
    pid, t = o.pid[io_], o.t[io_]
    w = s.weight / s.weight.sum()
    store = np.where(rng.random(n, dtype=np.float32) < 0.8, p.home[pid], draw(rng, w, n))
    protected = np.zeros(n, dtype=bool)
    # edge case: orders between 16:00Z and 24:00Z (local 00:00-08:00, the next business day)
    night = (t - UTC_OFFSET) % DAY >= 16 * 3600
    if night.any():
        protected[pick(rng, night)] = True
    elif days >= 2:
        j = pick(rng, t // DAY >= 1)
        t[j] = (t[j] // DAY) * DAY + 6 * 3600 + 1234  # 22:20:34Z the day before
        protected[j] = True
    protected[pick(rng, p.is_member[pid] & (t < p.reg_t[pid]))] = True  # a guest order of a future member
    total = combo_total[o.combo[io_]]
    coupon = np.where(rng.random(n, dtype=np.float32) < 0.35, rng.integers(0, len(C.COUPONS), size=n), -1)
    coupon_fen = np.array([c[1] for c in C.COUPONS])[np.maximum(coupon, 0)]
    disc = np.where(coupon >= 0, np.clip(np.minimum(coupon_fen, total - 100), 0, None), 0)
    member_now = p.is_member[pid] & (t >= p.reg_t[pid])
    extra = {
        "total": total, "disc": disc, "coupon": coupon,
        "fulfillment": draw(rng, [0.55, 0.3, 0.15], n),
        "member_now": member_now,
        "phone_flag": (member_now & p.profile_phone[pid]) | p.guest_phone[pid],
        "seq": _day_seq(t),
        "points": np.zeros(n, dtype=np.int64),
    }
    pf = Platform(pid=pid, t=t, store=store, combo=o.combo[io_], status=_status(rng, n, [0.92, 0.04, 0.02, 0.02]),
                  paid=total - disc, refund=np.zeros(n, np.int64), protected=protected, phone=phone_at(p, pid, t),
                  extra=extra)
    make_versions(pf, (t - UTC_OFFSET) // DAY, days, rng)
    return pf


def _day_seq(t: np.ndarray) -> np.ndarray:
    day = t // DAY
    order = np.argsort(t, kind="stable")
    d = day[order]
    starts = np.flatnonzero(np.r_[True, d[1:] != d[:-1]]) if len(d) else np.zeros(0, np.int64)
    run = np.arange(len(d)) - np.repeat(starts, np.diff(np.r_[starts, len(d)]))
    seq = np.empty(len(t), dtype=np.int64)
    seq[order] = run + 1
    return seq


def redeem_points(mp: Platform, p: Persons, family: np.ndarray, all_pid: np.ndarray, all_gross: np.ndarray,
                  rng: np.random.Generator) -> None:
    """points_redeemed on paid member orders: ~80% of the points earned on earlier mini-program orders
    still valid; a few members redeem more than they could ever have earned (a shortfall)."""
    e = mp.extra
    pid, t = mp.pid, mp.t

    def available() -> np.ndarray:
        """Points earned by the member's earlier mini-program orders, still valid at each order."""
        order = np.argsort(pid * (int(t.max(initial=0)) + 1) + t, kind="stable")  # by person, then time
        ps, ds = pid[order], t[order] // DAY
        start = np.searchsorted(ps * 1_000_000 + ds, ps * 1_000_000 + ds - 364, side="left")
        net = np.where(np.isin(mp.status, [COMPLETED, PARTIAL]), mp.paid - mp.refund, 0)
        prefix = np.r_[0, np.cumsum(np.where(e["member_now"], net // 1000, 0)[order])]
        avail = np.empty(mp.n, dtype=np.int64)
        avail[order] = prefix[:-1] - prefix[start]
        return avail

    avail = available()
    in_family = np.zeros(p.n, dtype=bool)
    in_family[family.ravel()] = True
    usable = e["member_now"] & ~p.deleted[pid] & ~in_family[pid] & ~mp.redelivered
    eligible = usable & (mp.status == COMPLETED)
    cand = eligible & (avail >= 5) & (rng.random(mp.n, dtype=np.float32) < 0.3)
    if not cand.any():
        cand[pick(rng, eligible & (avail >= 1))] = True
    if not cand.any():  # tiny worlds: a member's earlier order earns what a later one redeems
        j = pick(rng, eligible & ~mp.protected)
        if len(j):
            j, member = int(j[0]), int(pid[j[0]])
            earlier = ~mp.protected & ~mp.redelivered & (mp.paid >= 1000) & (t < t[j]) & (t >= p.reg_t[member])
            i = pick(rng, earlier)
            if len(i):  # the member placed that order (it was somebody else's)
                pid[i] = member
                mp.phone[i] = phone_at(p, pid[i], t[i])
                e["member_now"][i], e["phone_flag"][i] = True, p.profile_phone[member]
                mp.status[i], mp.refund[i], mp.row_status[i] = COMPLETED, 0, COMPLETED
                avail = available()
                eligible = usable & (mp.status == COMPLETED)
                cand[j] = True
    ci = np.flatnonzero(cand)
    ci = ci[rng.permutation(len(ci))]
    _, first = np.unique(pid[ci], return_index=True)
    chosen = np.sort(ci[first])
    share = (avail[chosen] * 8 // 10) // 5 * 5  # ~80%, in fives
    e["points"][chosen] = np.where(share >= 5, share, avail[chosen])
    # shortfalls: more than everything the person ever bought could earn (no basket earns 100 points)
    assert all_gross.max(initial=0) < 100_000
    upper = 200 * np.bincount(all_pid, minlength=p.n) + 1000
    taken = np.zeros(p.n, dtype=bool)
    taken[pid[chosen]] = True
    short = pick(rng, eligible & ~taken[pid], max(1, len(chosen) // 50))
    e["points"][short] = upper[pid[short]]
    mp.protected[chosen] = True
    mp.protected[short] = True
    # the orders that earned the redeemed points stay well formed (a quarantined one would earn nothing)
    redeemed_at = np.full(p.n, -1, dtype=np.int64)
    redeemed_at[pid[chosen]] = t[chosen]
    mp.protected |= t < redeemed_at[pid]


# ---------------------------------------------------------------- rendering
# Lines are joined from a few pieces per row; constant stretches of a line (keys, store, person)
# come pre-rendered from small tables, so that each row costs a handful of lookups.

_CACHE_LOCK = threading.Lock()
_DISTRICTS = [d for _, _, ds, _ in C.CITIES for d in ds]
_DISTRICT_FIRST = np.cumsum([0] + [len(ds) for _, _, ds, _ in C.CITIES])


def _contact(pf: Platform, oi: np.ndarray) -> pa.Array:
    """The consignee phone a platform shows: masked (138****5678) or a privacy number (17012345678_1234)."""
    e = pf.extra
    phone = pf.phone[oi]
    priv = e["privacy"][oi]
    no, ext = e["priv_no"][oi], e["priv_ext"][oi]
    return T.by_rows(len(oi), "", [
        (~priv, lambda i: T.cat(T.num(phone[i] // 100_000_000), "****", T.padded(phone[i] % 10_000, 4))),
        (priv, lambda i: T.cat("170", T.padded(no[i], 8), "_", T.padded(ext[i], 4))),
    ])


def _district(pf: Platform, oi: np.ndarray, s: Stores) -> np.ndarray:
    city = np.r_[s.city, 0][pf.store[oi]]
    n_d = np.diff(_DISTRICT_FIRST)[city]
    return _DISTRICT_FIRST[city] + np.minimum((pf.extra["district"][oi] * n_d).astype(np.int64), n_d - 1)


def _consignee_code(pf: Platform, oi: np.ndarray, p: Persons) -> np.ndarray:
    """Index into a (surname, stars) table: 张* / 张**."""
    return p.surname[pf.pid[oi]] * 2 + pf.extra["stars"][oi]


def _table(fmt: str, *columns: list[str]) -> pa.Array:
    """fmt filled with every combination of the columns (first column varies slowest)."""
    rows = [[]]
    for col in columns:
        rows = [r + [v] for r in rows for v in col]
    return pa.array([fmt.format(*r) for r in rows])


def _stars() -> list[str]:
    return [name + stars for name in C.SURNAMES for stars in ("*", "**")]


def render_meituan(pf: Platform, sel: np.ndarray, p: Persons, s: Stores, cal: Calendar, year: int) -> pa.Array:
    e = pf.extra
    oi = pf.row_order[sel]
    n = len(sel)
    defect = pf.row_defect[sel]
    status = pf.row_status[sel]
    refund = np.where(pf.row_first[sel], 0, pf.refund[oi])
    t = pf.t[oi]
    when = T.choose(defect == 2, f"{year}-02-30 25:61:00",
                    T.cat(T.lookup(cal.dash, t // DAY + cal.off), " ", T.clock(t % DAY)))
    phone = pf.phone[oi]
    member_phone = T.by_rows(n, "", [(e["linked"][oi], lambda i: T.num(phone[i]))])
    paid = T.choose(defect == 1, "ten", T.yuan(e["paid"][oi]))
    st = T.lookup(["已完成", "已取消", "已退款", "部分退款", "配送中"], np.where(defect == 4, 4, status))
    lines = T.csv_lines(
        T.choose(defect == 3, "", T.num(e["id"][oi])), T.lookup(s.meituan_id + [UNKNOWN_SHOP], pf.store[oi]), when,
        T.lookup(p.meituan_uid, pf.pid[oi]), T.lookup(_stars(), _consignee_code(pf, oi, p)), _contact(pf, oi),
        member_phone, T.lookup([d + "**路**号" for d in _DISTRICTS], _district(pf, oi, s)),
        T.yuan(e["orig"][oi]), paid, T.yuan(e["income"][oi]), T.yuan(e["ps"][oi]), T.yuan(e["ms"][oi]),
        T.yuan(e["fee"][oi]), T.yuan(e["commission"][oi]), st, T.yuan(refund))
    return T.replace_rows(lines, defect == 5, lambda x: pc.replace_substring_regex(x, r",[^,]*\n$", "\n"))


def _truncate(lines: pa.Array) -> pa.Array:
    return T.cat(pc.utf8_slice_codeunits(lines, 0, 45), "\n")


def _person_table(p: Persons, name: str, build) -> pa.Array:
    """A per-person fragment, built once per run."""
    with _CACHE_LOCK:  # two render threads: build it once
        if name not in p.cache:
            p.cache[name] = T.flat(build())
        return p.cache[name]


def render_eleme(pf: Platform, sel: np.ndarray, p: Persons, s: Stores, cal: Calendar, year: int,
                 items: pa.Array) -> pa.Array:
    e = pf.extra
    oi = pf.row_order[sel]
    n = len(sel)
    pid = pf.pid[oi]
    defect = pf.row_defect[sel]
    status = pf.row_status[sel]
    refund = np.where(pf.row_first[sel], 0, pf.refund[oi])
    t = pf.t[oi]
    ids = e["id"][oi]
    head = T.by_rows(n, '{"orderId":null', [(defect != 3, lambda i: T.cat('{"orderId":"', T.num(ids[i]), '"'))])
    shop = _table(',"shopId":"{}","createdAt":"', [x or "" for x in s.eleme_id])
    when = T.choose(defect == 2, f"{year}-13-01T25:61:00+08:00",
                    T.cat(T.lookup(cal.dash, t // DAY + cal.off), "T", T.clock(t % DAY), "+08:00"))
    user = _person_table(p, "eleme_user", lambda: T.cat('","userId":"', p.eleme_uid.slice(0, p.n), '","phoneList":["'))
    phone = pf.phone[oi]
    member_phone = T.by_rows(n, '"],"memberPhone":null', [
        (e["linked"][oi], lambda i: T.cat('"],"memberPhone":"', T.num(phone[i]), '"'))])
    consignee = _table(',"consignee":"{}","address":"', _stars())
    address = _table('{}**路**号","originalPrice":', _DISTRICTS)
    total = T.choose(defect == 1, '"ten"', T.yuan_json(e["paid"][oi]))
    st = _table(',"status":"{}","refundAmount":', ["SETTLED", "INVALID", "REFUND_SUCCESS", "SETTLED", "WAIT_MERCHANT"])
    lines = T.cat(
        head, T.lookup(shop, pf.store[oi]), when, T.lookup(user, pid), _contact(pf, oi), member_phone,
        T.lookup(consignee, _consignee_code(pf, oi, p)), T.lookup(address, _district(pf, oi, s)),
        T.yuan_json(e["orig"][oi] + e["fee"][oi]), ',"totalPrice":', total, ',"income":', T.yuan_json(e["income"][oi]),
        T.lookup(st, np.where(defect == 4, 4, status)), T.yuan_json(refund), ',"items":', T.lookup(items, pf.combo[oi]),
        "}\n")
    return T.replace_rows(lines, defect == 6, _truncate)


def render_miniprogram(pf: Platform, sel: np.ndarray, p: Persons, s: Stores, cal: Calendar, year: int,
                       items: pa.Array) -> pa.Array:
    e = pf.extra
    oi = pf.row_order[sel]
    n = len(sel)
    defect = pf.row_defect[sel]
    status = pf.row_status[sel]
    refund = np.where(pf.row_first[sel], 0, pf.refund[oi])
    t = pf.t[oi]
    utc = t - UTC_OFFSET
    pid = pf.pid[oi]
    head = T.choose(defect == 3, '{"order_id":null,"created_at":"',
                    T.cat('{"order_id":"MP', T.lookup(cal.compact, t // DAY + cal.off), T.padded(e["seq"][oi], 6),
                          '","created_at":"'))
    when = T.choose(defect == 2, f"{year}-13-01T25:61:00Z",
                    T.cat(T.lookup(cal.dash, utc // DAY + cal.off), "T", T.clock(utc % DAY), "Z"))

    def people() -> pa.Array:
        base = T.cat('","openid":"', p.openid.slice(0, p.n), '","unionid":',
                     T.quoted_or_null(p.has_unionid, p.unionid.slice(0, p.n)), ',"member_id":')
        member = T.cat(base, '"M', T.padded(p.member_no, 7), '"')
        return pa.concat_arrays([T.flat(member), T.flat(T.cat(base, "null"))])

    person = _person_table(p, "mp_person", people)
    phone = pf.phone[oi]
    phone_part = T.by_rows(n, ',"phone":null', [
        (e["phone_flag"][oi], lambda i: T.cat(',"phone":"+86', T.num(phone[i]), '"'))])
    store = _table(',"store_code":"{}","fulfillment":"{}","items":', s.code, ["pickup", "delivery", "dine_in"])
    coupons = ["null"] + [f'"{c[0]}"' for c in C.COUPONS]
    tail = _table(',"coupon_id":{},"status":"{}","refund_fen":', coupons,
                  ["paid", "cancelled", "refunded", "paid", "pending"])
    paid = T.choose(defect == 1, '"ten"', T.num(pf.paid[oi]))
    lines = T.cat(
        head, when, T.lookup(person, pid + p.n * ~e["member_now"][oi]), phone_part,
        T.lookup(store, pf.store[oi] * 3 + e["fulfillment"][oi]), T.lookup(items, pf.combo[oi]),
        ',"total_fen":', T.num(e["total"][oi]), ',"discount_fen":', T.num(e["disc"][oi]), ',"paid_fen":', paid,
        ',"points_redeemed":', T.num(e["points"][oi]),
        T.lookup(tail, (e["coupon"][oi] + 1) * 5 + np.where(defect == 4, 4, status)), T.num(refund), "}\n")
    return T.replace_rows(lines, defect == 6, _truncate)


def mp_order_ids(pf: Platform, cal: Calendar) -> pa.Array:
    return T.cat("MP", T.lookup(cal.compact, pf.t // DAY + cal.off), T.padded(pf.extra["seq"], 6))

