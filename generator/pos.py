"""Store cash registers (pos): sales, refunds and their register lines."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from generator import catalog as C
from generator import textfmt as T
from generator.world import BLOCKLIST, DAY, POS, Calendar, Orders, Persons, Stores, draw, hours_sample, phone_at, pick

# phone_kind: what the cashier typed
NO_PHONE, REAL_PHONE, BLOCKLISTED, STORE_PHONE = range(4)
HEADER = (
    "order_no,store_code,order_type,ref_order_no,order_time,member_card_no,member_phone,pay_method,"
    "pay_openid,gross_amount,discount_amount,paid_amount\n"
).encode()


@dataclass
class PosLines:
    """One row per register line: sales, then refunds of known sales, then refunds of unknown sales."""

    kind: np.ndarray  # 0 SALE, 1 REFUND
    sale: np.ndarray  # for sales and their refunds: the sale's index; -1 for unknown-sale refunds
    store: np.ndarray
    t: np.ndarray
    deliv: np.ndarray
    no_day: np.ndarray
    no_seq: np.ndarray
    has_ref: np.ndarray
    ref_day: np.ndarray
    ref_seq: np.ndarray
    card_pid: np.ndarray  # -1: no card shown
    phone_kind: np.ndarray
    variant: np.ndarray  # 0 13812345678, 1 138 1234 5678, 2 +86 138-1234-5678, 3 86-13812345678
    phone_val: np.ndarray
    pay: np.ndarray
    openid_pid: np.ndarray  # -1: none
    gross: np.ndarray
    disc: np.ndarray
    paid: np.ndarray
    defect: np.ndarray
    n_sales: int
    person: np.ndarray  # sales: person index, -1 when the sale carries no identifier (anonymous)
    protected: np.ndarray  # sales: rows that carry a forced edge case (never made malformed)
    refunded: np.ndarray  # sales: has a refund row


def make_pos(o: Orders, p: Persons, s: Stores, combo_total: np.ndarray, days: int, rng: np.random.Generator,
             family: np.ndarray) -> PosLines:
    last = days - 1
    ip = np.flatnonzero(o.ch == POS)
    ns = len(ip)
    pid, t = o.pid[ip], o.t[ip]
    day, sec = t // DAY, t % DAY
    w = s.weight / s.weight.sum()
    store = np.where(rng.random(ns, dtype=np.float32) < 0.85, p.home[pid], draw(rng, w, ns))
    store[rng.choice(ns, size=min(s.n, ns), replace=False)] = np.arange(min(s.n, ns))  # every store sells

    gross = combo_total[o.combo[ip]]
    coupon = np.array([200, 300, 500, 800, 1000])[rng.integers(0, 5, size=ns)]
    disc = np.where(rng.random(ns, dtype=np.float32) < 0.3, coupon, 0)
    disc = np.clip(np.minimum(disc, gross - 100), 0, None)
    paid = gross - disc

    r = rng.random((4, ns), dtype=np.float32)
    anon = r[0] < 0.15
    card = ~anon & p.has_card[pid] & (r[1] < 0.75)
    pay = draw(rng, [0.45, 0.25, 0.05, 0.05, 0.12, 0.08], ns)
    has_openid = p.has_openid[pid]
    pay = np.where((pay == C.WECHAT) & ~has_openid, C.ALIPAY, pay)
    pay = np.where(np.isin(pay, [C.CARD, C.STORED_VALUE]) & ~card, np.where(has_openid, C.WECHAT, C.ALIPAY), pay)
    pay = np.where(anon, draw(rng, [0.7, 0.2, 0.1], ns, [C.CASH, C.ALIPAY, C.UNIONPAY]), pay)
    phone_kind = np.where(anon, draw(rng, [0.7, 0.0, 0.12, 0.18], ns), draw(rng, [0.5, 0.45, 0.025, 0.025], ns))
    variant = draw(rng, [0.55, 0.15, 0.15, 0.15], ns)
    placeholder = BLOCKLIST[rng.integers(0, len(BLOCKLIST), size=ns)]
    real = phone_at(p, pid, t)

    protected = np.zeros(ns, dtype=bool)  # sales that carry a forced edge case
    columns = {"anon": anon, "card": card, "pay": pay, "phone_kind": phone_kind, "variant": variant}

    def force(rows: np.ndarray, **values) -> None:
        for name, value in values.items():
            columns[name][rows] = value
        protected[rows] = True

    # edge cases, each at least once: every phone spelling, both placeholders, an anonymous cash sale
    for v in range(4):
        if not ((phone_kind == REAL_PHONE) & (variant == v) & ~anon).any():
            force(pick(rng, ~anon & ~protected), phone_kind=REAL_PHONE, variant=v)
    for kind in (BLOCKLISTED, STORE_PHONE):  # typed for several guests who gave no phone
        missing = 3 - int((phone_kind == kind).sum())
        if missing > 0:
            force(pick(rng, ~protected, missing), anon=True, card=False, pay=C.CASH, phone_kind=kind)
    if not card.any():  # a store member card shown at the till
        j = pick(rng, ~anon & ~protected)
        p.has_card[pid[j]] = True
        force(j, card=True)
    if not (anon & (pay == C.CASH) & (phone_kind == NO_PHONE)).any():
        force(pick(rng, ~protected), anon=True, card=False, pay=C.CASH, phone_kind=NO_PHONE)
    # two family members sharing a phone both give it at the till
    for member in family[:1].ravel():
        rows = pick(rng, (pid == member) & ~protected)
        force(rows, anon=False, phone_kind=REAL_PHONE, variant=0)
    variant = np.where(phone_kind == REAL_PHONE, variant, 0)

    # a store's own number only on identified sales when many guests get it (else a blocklisted one)
    identified = card | (pay == C.WECHAT)
    on_ids = (phone_kind == STORE_PHONE) & identified
    distinct = np.zeros(s.n, dtype=np.int64)
    if on_ids.any():
        pairs = np.unique(store[on_ids] * p.n + pid[on_ids])
        distinct = np.bincount(pairs // p.n, minlength=s.n)
    phone_kind = np.where(on_ids & (distinct[store] < 6), BLOCKLISTED, phone_kind)
    phone_val = np.select([phone_kind == REAL_PHONE, phone_kind == BLOCKLISTED, phone_kind == STORE_PHONE],
                          [real, placeholder, s.phone[store]], 0)
    person = np.where(card | (phone_kind == REAL_PHONE) | (pay == C.WECHAT), pid, -1)

    # refunds of known sales: same store, later the same day or days later, full or partial
    rr = rng.random(ns, dtype=np.float32) < 0.03
    lag = np.where(rng.random(ns, dtype=np.float32) < 0.3, 0, rng.integers(1, 6, size=ns))
    full = (rng.random(ns, dtype=np.float32) < 0.6) | (paid < 500)
    rr &= day + lag <= last
    if days >= 2:
        for want_full in (True, False):
            if not (rr & (lag >= 1) & (full == want_full)).any():
                rows = pick(rng, ~protected & (paid >= 500) & (day <= last - 1))
                rr[rows], lag[rows], full[rows] = True, 1, want_full
                protected[rows] = True
    rday = day + lag
    rr &= rday <= last
    ri = np.flatnonzero(rr)
    refunded = rr
    nr = len(ri)
    partial = np.clip(np.round(paid[ri] * rng.uniform(0.2, 0.7, size=nr) / 100) * 100, 100, paid[ri] - 100)
    amount = np.where(full[ri], paid[ri], partial).astype(np.int64)  # one per refund
    rsec = np.where(lag[ri] == 0, np.minimum(sec[ri] + rng.integers(600, 7200, size=nr), DAY - 1),
                    hours_sample(rng, C.HOURS_POS, nr))

    # refunds of sales older than the data: ref_order_no names an order_no never generated
    nu = 1 + ns // 300_000
    u_store = rng.integers(0, s.n, size=nu)
    u_t = rng.integers(0, days, size=nu) * DAY + hours_sample(rng, C.HOURS_POS, nu)
    u_amount = combo_total[rng.integers(0, len(combo_total), size=nu)]
    u_ref_day = -rng.integers(30, 380, size=nu)
    u_ref_seq = rng.integers(1, 400, size=nu)
    u_pay = np.array([C.CASH, C.ALIPAY])[rng.integers(0, 2, size=nu)]

    # store-day outages: a register uploads several days at once, into a later delivery
    outage = np.where(rng.random((s.n, days), dtype=np.float32) < 0.01, rng.integers(1, 4, size=(s.n, days)), 0)
    if days >= 3:
        if not (outage >= 2).any():
            j = pick(rng, day <= last - 2)
            if len(j):
                outage[store[j], day[j]] = 2
    outage = np.minimum(outage, last - np.arange(days))

    # order numbers: P<yymmdd><seq> per store and day; refunds R<yymmdd><seq>
    seq = _seq_within(store * days + day, t)
    r_store = np.concatenate([store[ri], u_store])
    r_t = np.concatenate([rday[ri] * DAY + rsec, u_t])
    r_day = r_t // DAY
    r_seq = _seq_within(r_store * days + r_day, r_t)
    nk = nr + nu

    def cat(a, b):
        return np.concatenate([a, b])

    lines = PosLines(
        kind=cat(np.zeros(ns, np.int8), np.ones(nk, np.int8)),
        sale=cat(np.arange(ns), cat(ri, np.full(nu, -1))),
        store=cat(store, r_store),
        t=cat(t, r_t),
        deliv=cat(day + outage[store, day], r_day + outage[r_store, r_day]),
        no_day=cat(day, r_day),
        no_seq=cat(seq, r_seq),
        has_ref=cat(np.zeros(ns, bool), np.ones(nk, bool)),
        ref_day=cat(np.zeros(ns, np.int64), cat(day[ri], u_ref_day)),
        ref_seq=cat(np.zeros(ns, np.int64), cat(seq[ri], u_ref_seq)),
        card_pid=cat(np.where(card, pid, -1), cat(np.where(card[ri], pid[ri], -1), np.full(nu, -1))),
        phone_kind=cat(phone_kind, np.zeros(nk, np.int64)),
        variant=cat(variant, np.zeros(nk, np.int64)),
        phone_val=cat(phone_val, np.zeros(nk, np.int64)),
        pay=cat(pay, cat(pay[ri], u_pay)),
        openid_pid=cat(np.where(pay == C.WECHAT, pid, -1),
                       cat(np.where(pay[ri] == C.WECHAT, pid[ri], -1), np.full(nu, -1))),
        gross=cat(gross, -cat(amount, u_amount)),
        disc=cat(disc, np.zeros(nk, np.int64)),
        paid=cat(paid, -cat(amount, u_amount)),
        defect=np.zeros(ns + nk, dtype=np.int8),
        n_sales=ns,
        person=person,
        protected=protected,
        refunded=refunded,
    )
    assert nr + nu == nk
    return lines


def _seq_within(group: np.ndarray, t: np.ndarray) -> np.ndarray:
    """1-based rank by time within each group."""
    order = np.argsort(group * (int(t.max(initial=0)) + 1) + t, kind="stable")
    g = group[order]
    starts = np.flatnonzero(np.r_[True, g[1:] != g[:-1]])
    run = np.arange(len(g)) - np.repeat(starts, np.diff(np.r_[starts, len(g)]))
    seq = np.empty(len(g), dtype=np.int64)
    seq[order] = run + 1
    return seq


def order_numbers(cal: Calendar, kind: np.ndarray, day: np.ndarray, seq: np.ndarray) -> pa.Array:
    return T.cat(T.lookup(cal.pos_prefix, kind.astype(np.int64) * cal.n + day + cal.off), T.padded(seq, 5))


def _spelled(v: np.ndarray, variant: int) -> pa.Array:
    """A phone as a cashier types it."""
    if variant == 0:
        return T.num(v)
    if variant == 3:
        return T.cat("86-", T.num(v))
    head, mid, tail = T.num(v // 100_000_000), T.padded(v // 10_000 % 10_000, 4), T.padded(v % 10_000, 4)
    if variant == 1:
        return T.cat(head, " ", mid, " ", tail)
    return T.cat('"+86 ', head, "-", mid, "-", tail, '"')


def render(L: PosLines, sel: np.ndarray, p: Persons, s: Stores, cal: Calendar, year: int) -> pa.Array:
    n = len(sel)
    st = L.store[sel]
    defect = L.defect[sel]
    kind = L.kind[sel]
    order_no = T.choose(defect == 3, "", order_numbers(cal, kind, L.no_day[sel], L.no_seq[sel]))
    ref_day, ref_seq = L.ref_day[sel], L.ref_seq[sel]
    ref = T.by_rows(n, "", [
        (L.has_ref[sel], lambda i: order_numbers(cal, np.zeros(len(i), np.int64), ref_day[i], ref_seq[i]))])
    order_type = T.lookup(["SALE", "REFUND", "VOID"], np.where(defect == 4, 2, kind))

    t = L.t[sel]
    slash = s.slash_time[st]
    when = T.cat(T.lookup(cal.dash_slash, t // DAY + cal.off + cal.n * slash), " ", T.clock_mixed(t % DAY, slash))
    when = T.choose(defect == 2, f"{year}-02-30 25:61:00", when)

    card = T.lookup(p.card, p.lut_index(L.card_pid[sel], L.card_pid[sel] >= 0))
    v = L.phone_val[sel]
    spelling = np.where(L.phone_kind[sel] == NO_PHONE, -1, L.variant[sel])
    phone = T.by_rows(n, "", [(spelling == k, lambda i, k=k: _spelled(v[i], k)) for k in range(4)])
    pay = T.lookup(C.PAY_EN + C.PAY_ZH, L.pay[sel] + 6 * s.chinese_pay[st])
    openid = T.lookup(p.openid, p.lut_index(L.openid_pid[sel], L.openid_pid[sel] >= 0))
    paid = T.choose(defect == 1, "ten", T.yuan(L.paid[sel]))
    lines = T.csv_lines(order_no, T.lookup(s.code, st), order_type, ref, when, card, phone, pay, openid,
                        T.yuan(L.gross[sel]), T.yuan(L.disc[sel]), paid)
    return T.replace_rows(lines, defect == 5, lambda x: pc.replace_substring_regex(x, r",[^,]*\n$", "\n"))
