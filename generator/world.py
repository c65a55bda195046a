"""The simulated world: stores, persons, member timelines and the orders they place.

Everything is drawn as numpy arrays (one element per store, person, order or event); nothing
here writes files. Times are integer seconds since ``start`` 00:00 local time (Asia/Shanghai):
``t // 86400`` is the business day index, ``t % 86400`` the local second of the day.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta

import numpy as np
import pyarrow as pa

from generator import catalog as C
from generator import textfmt as T

DAY = 86_400
UTC_OFFSET = 8 * 3600  # Asia/Shanghai is UTC+8 all year
NEVER = np.iinfo(np.int64).max
BLOCKLIST = np.array([int(p) for p in C.PLACEHOLDER_PHONES], dtype=np.int64)
POS, MEITUAN, ELEME, MINIPROGRAM = range(4)

MIN_ORDERS = 500  # tiny worlds are boosted to at least this many orders, so every edge case fits
MIN_PER_CHANNEL = 50  # ... and to at least this many orders on each channel
VALID_SHARE = 0.93  # share of orders that end up valid (not cancelled, not fully refunded)
ORDERS_PER_YEAR = 10.0  # average valid orders per person per year

_DRAW_TABLE = 1 << 20
_B64 = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
_HEX = b"0123456789abcdef"


def pick(rng: np.random.Generator, candidates: np.ndarray, k: int = 1) -> np.ndarray:
    """Up to k distinct indices where candidates is true (deterministic for the rng state)."""
    n = len(candidates)
    if 0 < k <= 8 and n > 100_000:  # large and usually dense: try random positions first
        tries = rng.integers(0, n, size=256)
        hits = tries[candidates[tries]]
        _, first = np.unique(hits, return_index=True)
        hits = hits[np.sort(first)]
        if len(hits) >= k:
            return np.sort(hits[:k])
    idx = np.flatnonzero(candidates)
    if len(idx) == 0 or k <= 0:
        return idx[:0]
    return np.sort(rng.choice(idx, size=min(k, len(idx)), replace=False))


def draw(rng: np.random.Generator, p, n: int, values=None) -> np.ndarray:
    """n categorical draws with probabilities p (indices, or values[index]); much faster than rng.choice.

    Large draws map a 20-bit uniform integer through an inverse-CDF table (probabilities are rounded
    to multiples of 2**-20, far below anything the data is meant to show)."""
    cum = np.cumsum(np.asarray(p, dtype=np.float64))
    cum /= cum[-1]
    if n < _DRAW_TABLE:
        idx = np.searchsorted(cum, rng.random(n), side="right")
    else:
        table = np.searchsorted(cum, (np.arange(_DRAW_TABLE) + 0.5) / _DRAW_TABLE, side="right").astype(np.int32)
        idx = table[rng.integers(0, _DRAW_TABLE, size=n, dtype=np.int32)]
    idx = np.minimum(idx, len(cum) - 1)
    return idx if values is None else np.asarray(values)[idx]


def hours_sample(rng: np.random.Generator, weights: list[float], n: int) -> np.ndarray:
    """n local seconds-of-day whose hour follows the given 24 weights."""
    p = np.asarray(weights, dtype=np.float64)
    hour = draw(rng, p, n)
    return hour.astype(np.int64) * 3600 + rng.integers(0, 3600, size=n)


class Calendar:
    """Date strings by day index (day 0 = start); covers ``back`` days before start for old refs."""

    def __init__(self, start: date, days: int, back: int = 400) -> None:
        self.start, self.days, self.off = start, days, back
        ds = np.arange(np.datetime64(start) - back, np.datetime64(start) + days + 10)
        iso = [str(x) for x in ds]
        self.iso = iso
        self.dash = pa.array(iso)
        self.slash = pa.array([s.replace("-", "/") for s in iso])
        self.compact = pa.array([s.replace("-", "") for s in iso])
        self.yymmdd = pa.array([s[2:].replace("-", "") for s in iso])
        self.weekday = np.array([(start + timedelta(days=i)).weekday() for i in range(days)])
        self.n = len(iso)
        # "P240501" / "R240501": POS order number prefixes by (kind, day)
        self.pos_prefix = pa.array([k + s[2:].replace("-", "") for k in "PR" for s in iso])
        self.dash_slash = pa.concat_arrays([self.dash, self.slash])

    def date_str(self, day: int) -> str:
        return self.iso[day + self.off]

    def compact_str(self, day: int) -> str:
        return self.iso[day + self.off].replace("-", "")


@dataclass
class Stores:
    code: list[str]
    name: list[str]
    city: np.ndarray
    meituan_id: list[str]
    eleme_id: list[str | None]
    opened_on: list[date]
    encoding: list[str]
    chinese_pay: np.ndarray
    slash_time: np.ndarray
    phone: np.ndarray
    weight: np.ndarray

    @property
    def n(self) -> int:
        return len(self.code)


def make_stores(n_persons: int, start: date, rng: np.random.Generator) -> Stores:
    n = int(min(50, max(3, n_persons // 20_000)))
    city = np.zeros(n, dtype=np.int64)
    city[:3] = [0, 0, 1]
    if n > 3:
        cw = np.array([0.3, 0.15, 0.15, 0.1, 0.1, 0.07, 0.07, 0.06])
        city[3:] = rng.choice(len(C.CITIES), size=n - 3, p=cw / cw.sum())
    codes, names, seen = [], [], {}
    for i in range(n):
        prefix, cname, _, marks = C.CITIES[city[i]]
        k = seen.get(prefix, 0)
        seen[prefix] = k + 1
        codes.append(f"{prefix}{k + 1:03d}")
        names.append(f"{marks[k]}店" if k < len(marks) else f"{cname}{k + 1}号店")
    encoding = ["utf-8", "utf-8-sig", "gb18030"] + [
        str(e) for e in rng.choice(["utf-8", "utf-8-sig", "gb18030"], size=n - 3, p=[0.5, 0.2, 0.3])
    ]
    slash = np.zeros(n, dtype=bool)
    slash[2] = True
    slash[3:] = rng.random(n - 3, dtype=np.float32) < 0.2
    return Stores(
        code=codes,
        name=names,
        city=city,
        meituan_id=[f"MT{100234 + i}" for i in range(n)],
        eleme_id=[None if i % 4 == 2 else f"E-{778899 + i}" for i in range(n)],
        opened_on=[start - timedelta(days=int(d)) for d in rng.integers(90, 1500, size=n)],
        encoding=encoding,
        chinese_pay=np.array([e == "gb18030" for e in encoding]),
        slash_time=slash,
        phone=19_900_000_000 + (np.arange(n) + 1) * 10_007 + rng.integers(0, 10_000, size=n),
        weight=rng.lognormal(0.0, 0.35, size=n),
    )


def make_phones(ids: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Unique valid mobile numbers: the 8-digit suffix is a bijection of the id."""
    prefixes = np.array(C.PHONE_PREFIXES, dtype=np.int64)
    suffix = (ids.astype(np.int64) * 54_435_761 + 20_240_101) % 100_000_000
    phones = prefixes[rng.integers(0, len(prefixes), size=len(ids))] * 100_000_000 + suffix
    bad = np.isin(phones, BLOCKLIST)
    phones[bad] = 186 * 100_000_000 + suffix[bad]
    return phones


@dataclass
class Persons:
    n: int
    phone: np.ndarray  # int64, stable (family members may share one)
    phone_new: np.ndarray  # int64, the phone after a phone-change update (0: none)
    phone_change_t: np.ndarray  # when phone_new takes over (NEVER: never)
    home: np.ndarray
    surname: np.ndarray
    has_openid: np.ndarray
    has_unionid: np.ndarray
    is_member: np.ndarray
    has_card: np.ndarray
    has_meituan: np.ndarray
    has_eleme: np.ndarray
    meituan_linked: np.ndarray  # 会员通: 会员手机号 filled once registered
    eleme_linked: np.ndarray
    profile_phone: np.ndarray  # the member authorized its phone in the mini-program
    guest_phone: np.ndarray  # a guest (non-member) authorized its phone on mini-program orders
    rate: np.ndarray  # valid orders per year
    channel_w: np.ndarray  # (n, 4) channel preference
    openid: pa.Array  # n + 1 strings, the last one empty (lookup with index n = none)
    unionid: pa.Array
    card: pa.Array
    meituan_uid: pa.Array
    eleme_uid: pa.Array
    # member timeline (filled by make_members)
    reg_t: np.ndarray | None = None
    deleted: np.ndarray | None = None
    del_t: np.ndarray | None = None
    member_no: np.ndarray | None = None
    cache: dict = field(default_factory=dict)  # per-person text fragments, built once by the renderers

    def lut_index(self, pid: np.ndarray, mask: np.ndarray) -> np.ndarray:
        """Index into the n+1 string tables: pid where mask, else the trailing empty string."""
        return np.where(mask, pid, self.n)


def make_persons(n: int, stores: Stores, rng: np.random.Generator) -> Persons:
    idx = np.arange(n, dtype=np.int64)
    r = rng.random((12, n), dtype=np.float32)
    has_openid = r[0] < 0.55
    is_member = has_openid & (r[2] < 0.55)
    has_meituan = r[4] < 0.45
    has_eleme = r[5] < 0.30
    w = stores.weight / stores.weight.sum()

    base = np.array([0.25, 0.40, 0.35, 0.40])  # ~53% pos, 16% meituan, 9% eleme, 22% mini-program
    g = rng.gamma(np.array([1.2, 0.8, 0.7, 0.9]), size=(n, 4)) * base
    g *= np.stack([np.ones(n, bool), has_meituan, has_eleme, has_openid], axis=1)
    channel_w = (g / g.sum(axis=1, keepdims=True)).astype(np.float32)

    def with_empty(a: pa.Array) -> pa.Array:
        return pa.concat_arrays([a, pa.array([""])])

    # the last 5 characters encode a scrambled person index (a bijection modulo 64**5): unique ids
    openid = T.cat("o", T.from_bytes(T.random_tokens(rng, n, 27, _B64, (idx * 0x2545F491 + 7) % (1 << 30), 5)))
    unionid = T.cat("u", T.from_bytes(T.random_tokens(rng, n, 27, _B64, (idx * 0x1B873593 + 11) % (1 << 30), 5)))
    card = T.cat("VIP", T.padded((idx * 7_919 + 12_345) % 100_000_000, 8))
    meituan_uid = T.num(900_000_000 + (idx * 48_271 + 777) % 100_000_000)
    h = (idx * 2_654_435_761 + 0x5BD1E995) % (1 << 32)
    hexchars = np.frombuffer(_HEX, dtype=np.uint8)[np.stack([(h >> (4 * k)) & 15 for k in range(7, -1, -1)], axis=1)]
    eleme_uid = T.cat("e_", T.from_bytes(np.ascontiguousarray(hexchars).view("S8").ravel()))

    return Persons(
        n=n,
        phone=make_phones(idx, rng),
        phone_new=np.zeros(n, dtype=np.int64),
        phone_change_t=np.full(n, NEVER, dtype=np.int64),
        home=draw(rng, w, n),
        surname=rng.integers(0, len(C.SURNAMES), size=n),
        has_openid=has_openid,
        has_unionid=has_openid & (r[1] < 0.6),
        is_member=is_member,
        has_card=r[3] < np.where(is_member, 0.45, 0.12),
        has_meituan=has_meituan,
        has_eleme=has_eleme,
        meituan_linked=is_member & has_meituan & (r[6] < 0.4),
        eleme_linked=is_member & has_eleme & (r[7] < 0.35),
        profile_phone=is_member & (r[8] < 0.8),
        guest_phone=has_openid & ~is_member & (r[9] < 0.15),
        rate=rng.gamma(0.5, ORDERS_PER_YEAR / 0.5, size=n),
        channel_w=channel_w,
        openid=with_empty(openid),
        unionid=with_empty(unionid),
        card=with_empty(card),
        meituan_uid=with_empty(meituan_uid),
        eleme_uid=with_empty(eleme_uid),
    )


@dataclass
class Orders:
    pid: np.ndarray  # int64 person index
    ch: np.ndarray  # int8 channel
    t: np.ndarray  # int64 local seconds since start
    combo: np.ndarray  # basket

    def take(self, keep: np.ndarray) -> "Orders":
        return Orders(self.pid[keep], self.ch[keep], self.t[keep], self.combo[keep])


def draw_orders(p: Persons, days: int, weekday: np.ndarray, combo_p: np.ndarray, rng: np.random.Generator) -> Orders:
    expected = p.rate * days / 365.0 / VALID_SHARE
    # tiny worlds: everyone buys a little more (spread evenly, so nobody orders dozens of times a day)
    expected = expected + max(0.0, MIN_ORDERS - expected.sum()) / p.n
    counts = rng.poisson(expected)
    pid = np.repeat(np.arange(p.n, dtype=np.int64), counts)
    m = len(pid)

    ch = np.empty(m, dtype=np.int8)
    cum = np.cumsum(p.channel_w, axis=1)
    step = 1_000_000
    for a in range(0, m, step):
        b = min(a + step, m)
        u = rng.random(b - a, dtype=np.float32)
        ch[a:b] = (u[:, None] > cum[pid[a:b]]).sum(axis=1)
    ch = np.minimum(ch, 3)
    ch[p.channel_w[pid, ch] == 0] = POS  # float rounding never picks an unavailable channel
    # tiny worlds: every channel gets enough orders to carry its edge cases (store buyers move online)
    for c, has in ((MEITUAN, p.has_meituan), (ELEME, p.has_eleme), (MINIPROGRAM, p.has_openid)):
        need = MIN_PER_CHANNEL - int((ch == c).sum())
        if need > 0:
            moved = pick(rng, ch == POS, need)
            ch[moved] = c
            has[pid[moved]] = True

    dw = np.array(C.WEEKDAY_WEIGHTS)[weekday]
    day = draw(rng, dw, m)
    sec = np.empty(m, dtype=np.int64)
    for c, hours in enumerate([C.HOURS_POS, C.HOURS_DELIVERY, C.HOURS_DELIVERY, C.HOURS_MINIPROGRAM]):
        sel = np.flatnonzero(ch == c)
        sec[sel] = hours_sample(rng, hours, len(sel))
    t = day * DAY + sec
    # mini-program files are cut by UTC date: keep the first morning inside the first UTC day
    early = (ch == MINIPROGRAM) & (t < UTC_OFFSET)
    t[early] += UTC_OFFSET
    combo = draw(rng, combo_p, m)
    return Orders(pid, ch, t, combo)


@dataclass
class Members:
    """One row per member (a person with a mini-program membership), in member_no order."""

    pid: np.ndarray
    reg_t: np.ndarray
    source: np.ndarray  # index into REGISTER_SOURCES
    referrer_no: np.ndarray  # member_no of the referrer, 0 when none
    card_at_reg: np.ndarray
    birthday: np.ndarray  # index into the birthday table, -1 = none
    gender: np.ndarray  # 0 F, 1 M, 2 U
    consent_sms: np.ndarray
    consent_wecom: np.ndarray
    upd: np.ndarray
    upd_kind: np.ndarray  # 0 profile edit (re-consent, birthday), 1 phone change, 2 card binding
    upd_t: np.ndarray
    unsub: np.ndarray
    unsub_t: np.ndarray
    deleted: np.ndarray
    del_t: np.ndarray
    new_birthday: np.ndarray


def make_members(p: Persons, o: Orders, days: int, n_birthdays: int,
                 rng: np.random.Generator) -> tuple[Members, Orders]:
    """Member timelines; returns the members and the orders without those placed after a deletion."""
    mem = np.flatnonzero(p.is_member)
    nm = len(mem)
    end = days * DAY
    reg_t = np.floor(days * rng.random(nm) ** 1.3).astype(np.int64) * DAY + hours_sample(rng, C.HOURS_MINIPROGRAM, nm)
    reg_t = np.where(reg_t < UTC_OFFSET, reg_t + UTC_OFFSET, reg_t)

    # edge case: a member who ordered as a guest in the mini-program before registering
    mp_first = np.full(p.n, NEVER, dtype=np.int64)
    mpo = o.ch == MINIPROGRAM
    np.minimum.at(mp_first, o.pid[mpo], o.t[mpo])
    guest_before = mp_first[mem] < reg_t
    protect = np.zeros(nm, dtype=bool)
    if nm and not guest_before.any():
        j = pick(rng, (mp_first[mem] < end - 2 * 3600))
        if len(j):
            reg_t[j] = mp_first[mem][j] + 3600
            protect[j] = True

    r = rng.random((8, nm), dtype=np.float32)
    has_card = p.has_card[mem]
    card_at_reg = has_card & (r[0] < 0.5)
    upd = r[1] < 0.2
    upd_kind = np.where(p.profile_phone[mem] & (r[2] < 0.35), 1, np.where(has_card & ~card_at_reg, 2, 0))
    unsub = r[3] < 0.04
    # every kind of event at least once: a phone change, a card binding, a profile edit, an unsubscribe
    early = reg_t < end - DAY
    for kind in (1, 2, 0):
        if not (upd & (upd_kind == kind)).any():
            j = pick(rng, ~upd & early)
            upd[j], upd_kind[j] = True, kind
            if kind == 1:  # the member had authorized a phone, and changes it
                p.profile_phone[mem[j]] = True
            if kind == 2:  # the member holds a store card it had not bound yet
                has_card[j], card_at_reg[j] = True, False
                p.has_card[mem[j]] = True
    if not unsub.any():
        unsub[pick(rng, early)] = True

    remaining = lambda base: np.maximum(end - 1 - base, 0)  # noqa: E731
    upd_t = reg_t + np.minimum(remaining(reg_t) * rng.uniform(0.05, 0.5, nm),
                               rng.uniform(3600, 30 * DAY, nm)).astype(np.int64)
    after_upd = np.where(upd, upd_t, reg_t)
    unsub_t = after_upd + np.minimum(remaining(after_upd) * rng.uniform(0.1, 0.6, nm),
                                     rng.uniform(3600, 20 * DAY, nm)).astype(np.int64)
    last_event = np.where(unsub, unsub_t, after_upd)
    deleted = np.zeros(nm, dtype=bool)
    n_del = max(1, round(nm * 0.004))
    deleted[pick(rng, ~protect & (last_event < end - DAY), n_del)] = True
    del_t = np.where(deleted, last_event + (remaining(last_event) * rng.uniform(0.2, 0.8, nm)).astype(np.int64), NEVER)

    birthday = np.where(r[4] < 0.7, rng.integers(0, n_birthdays, nm), -1)
    new_birthday = np.where(birthday >= 0, birthday, rng.integers(0, n_birthdays, nm))
    gender = draw(rng, [0.6, 0.3, 0.1], nm)
    has_unionid = p.has_unionid[mem]
    consent_sms = r[5] < 0.7
    consent_wecom = np.where(has_unionid, r[6] < 0.6, r[6] < 0.1)
    for both in (True, False):  # members who consent to everything, and members who consent to nothing
        if nm >= 2 and not ((consent_sms == both) & (consent_wecom == both)).any():
            j = pick(rng, (consent_sms != both) | (consent_wecom != both))
            consent_sms[j], consent_wecom[j] = both, both
    source = draw(rng, C.REGISTER_SOURCE_WEIGHTS, nm)

    # member numbers in registration order
    order = np.lexsort((mem, reg_t))
    rank = np.empty(nm, dtype=np.int64)
    rank[order] = np.arange(nm)
    member_no = rank + 1
    referral = np.isin(source, [2, 3]) & (rank > 0)
    if nm > 1 and not (referral & (source == 2)).any():
        j = int(np.argmax(rank))
        source[j], referral[j] = 2, True
    source = np.where(np.isin(source, [2, 3]) & ~referral, 1, source)  # the first member was not referred
    ref_rank = np.floor(rng.random(nm) * rank).astype(np.int64)
    referrer_no = np.where(referral, ref_rank + 1, 0)

    # phone changes: the person uses the new phone from the update on
    phone_change = upd & (upd_kind == 1)
    pc_pid = mem[phone_change]
    p.phone_new[pc_pid] = make_phones(np.arange(p.n, p.n + len(pc_pid)), rng)
    p.phone_change_t[pc_pid] = upd_t[phone_change]

    p.reg_t = np.full(p.n, NEVER, dtype=np.int64)
    p.reg_t[mem] = reg_t
    p.deleted = np.zeros(p.n, dtype=bool)
    p.deleted[mem] = deleted
    p.del_t = np.full(p.n, NEVER, dtype=np.int64)
    p.del_t[mem] = del_t
    p.member_no = np.zeros(p.n, dtype=np.int64)
    p.member_no[mem] = member_no

    keep = o.t <= p.del_t[o.pid]  # a deleted person orders no more
    sort = order  # rows in member_no order
    m = Members(
        pid=mem[sort], reg_t=reg_t[sort], source=source[sort], referrer_no=referrer_no[sort],
        card_at_reg=card_at_reg[sort], birthday=birthday[sort], gender=gender[sort],
        consent_sms=consent_sms[sort], consent_wecom=consent_wecom[sort], upd=upd[sort],
        upd_kind=upd_kind[sort], upd_t=upd_t[sort], unsub=unsub[sort], unsub_t=unsub_t[sort],
        deleted=deleted[sort], del_t=del_t[sort], new_birthday=new_birthday[sort],
    )
    return m, o.take(keep)


def make_families(p: Persons, o: Orders, rng: np.random.Generator) -> np.ndarray:
    """Pairs (a, b) of family members sharing a's phone; pair 0 both shop at stores."""
    n_pairs = max(1, p.n // 200)
    pos_buyers = np.zeros(p.n, dtype=bool)
    pos_buyers[o.pid[o.ch == POS]] = True
    first = pick(rng, pos_buyers & ~p.is_member, 2)
    if len(first) < 2:
        first = pick(rng, pos_buyers, 2)
    buyers = np.zeros(p.n, dtype=bool)
    buyers[o.pid] = True
    buyers[first] = False
    rest = pick(rng, buyers, 2 * (n_pairs - 1))
    rest = rest[rng.permutation(len(rest))]
    if len(first) < 2:
        return np.zeros((0, 2), np.int64)
    pairs = np.concatenate([first, rest[: len(rest) // 2 * 2]]).reshape(-1, 2)
    p.phone[pairs[:, 1]] = p.phone[pairs[:, 0]]
    return pairs


def phone_at(p: Persons, pid: np.ndarray, t: np.ndarray) -> np.ndarray:
    """The phone a person uses at time t (after a phone change, the new one)."""
    return np.where(t >= p.phone_change_t[pid], p.phone_new[pid], p.phone[pid])
