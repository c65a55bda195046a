"""Mini-program member profile events: register, update, unsubscribe, delete."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from generator import catalog as C
from generator import textfmt as T
from generator.world import DAY, UTC_OFFSET, Calendar, Members, Persons, Stores, phone_at, pick

REGISTER, UPDATE, UNSUBSCRIBE, DELETE, UNKNOWN_EVENT = range(5)
EVENT_NAMES = ["register", "update", "unsubscribe", "delete", "merge"]


@dataclass
class Events:
    k: np.ndarray  # member row (member_no - 1)
    kind: np.ndarray
    t: np.ndarray
    phone: np.ndarray  # 0: null
    card: np.ndarray
    birthday: np.ndarray  # -1: null
    consent_sms: np.ndarray
    consent_wecom: np.ndarray
    defect: np.ndarray
    deliv: np.ndarray  # UTC date of event_time: the file it lands in

    @property
    def n(self) -> int:
        return len(self.k)


def make_events(m: Members, p: Persons, rng: np.random.Generator) -> Events:
    nm = len(m.pid)
    all_k = np.arange(nm)
    has_union = p.has_unionid[m.pid]
    prof = p.profile_phone[m.pid]
    parts = []

    def add(k, kind, t, phone, card, bday, sms, wecom):
        parts.append((k, np.full(len(k), kind), t, phone, card, bday, sms, wecom))

    add(all_k, REGISTER, m.reg_t, np.where(prof, phone_at(p, m.pid, m.reg_t), 0), m.card_at_reg, m.birthday,
        m.consent_sms, m.consent_wecom)
    u = np.flatnonzero(m.upd)
    edit = m.upd_kind[u] == 0
    add(u, UPDATE, m.upd_t[u], np.where(prof[u], phone_at(p, m.pid[u], m.upd_t[u]), 0),
        m.card_at_reg[u] | (m.upd_kind[u] == 2), np.where(edit, m.new_birthday[u], m.birthday[u]),
        m.consent_sms[u] | edit, m.consent_wecom[u] | (edit & has_union[u]))
    s = np.flatnonzero(m.unsub)
    edited = m.upd[s] & (m.upd_kind[s] == 0)
    add(s, UNSUBSCRIBE, m.unsub_t[s], np.where(prof[s], phone_at(p, m.pid[s], m.unsub_t[s]), 0),
        m.card_at_reg[s] | (m.upd[s] & (m.upd_kind[s] == 2)), np.where(edited, m.new_birthday[s], m.birthday[s]),
        np.zeros(len(s), bool), np.zeros(len(s), bool))
    d = np.flatnonzero(m.deleted)
    add(d, DELETE, m.del_t[d], np.zeros(len(d), np.int64), np.zeros(len(d), bool), np.full(len(d), -1),
        np.zeros(len(d), bool), np.zeros(len(d), bool))
    cols = [np.concatenate([part[i] for part in parts]) for i in range(8)]
    n_real = len(cols[0])
    defect = np.zeros(n_real, dtype=np.int8)

    # malformed lines: copies of register events, cut short or with an event type nobody knows
    per_type = max(1, nm // 200_000)
    bad = pick(rng, cols[1] == REGISTER, 2 * per_type)
    if len(bad):
        cols = [np.concatenate([c, c[bad]]) for c in cols]
        cols[2][n_real:] += 1
        extra = np.where(np.arange(len(bad)) % 2 == 0, 6, 7).astype(np.int8)
        cols[1][n_real:] = np.where(extra == 7, UNKNOWN_EVENT, cols[1][n_real:])
        defect = np.concatenate([defect, extra])
    t = cols[2]
    return Events(k=cols[0], kind=cols[1], t=t, phone=cols[3], card=cols[4], birthday=cols[5], consent_sms=cols[6],
                  consent_wecom=cols[7], defect=defect, deliv=(t - UTC_OFFSET) // DAY)


def render(ev: Events, sel: np.ndarray, m: Members, p: Persons, s: Stores, cal: Calendar,
           birthdays: pa.Array) -> pa.Array:
    k = ev.k[sel]
    kind = ev.kind[sel]
    pid = m.pid[k]
    utc = ev.t[sel] - UTC_OFFSET
    profile = kind != 3
    bday = ev.birthday[sel]
    ref = m.referrer_no[k]
    tf = pa.array(["false", "true"])
    lines = T.cat(
        '{"event":"', T.lookup(EVENT_NAMES, kind),
        '","event_time":"', T.lookup(cal.dash, utc // DAY + cal.off), "T", T.clock(utc % DAY),
        'Z","member_id":"M', T.padded(k + 1, 7),
        '","openid":"', T.lookup(p.openid, pid),
        '","unionid":', T.quoted_or_null(p.has_unionid[pid], T.lookup(p.unionid, pid)),
        ',"phone":', T.quoted_or_null(ev.phone[sel] > 0, T.cat("+86", T.num(ev.phone[sel]))),
        ',"member_card_no":', T.quoted_or_null(ev.card[sel], T.lookup(p.card, pid)),
        ',"birthday":', T.quoted_or_null(bday >= 0, T.lookup(birthdays, np.maximum(bday, 0))),
        ',"gender":', T.quoted_or_null(profile, T.lookup(["F", "M", "U"], m.gender[k])),
        ',"register_store":', T.quoted_or_null(profile, T.lookup(s.code, p.home[pid])),
        ',"register_source":', T.quoted_or_null(profile, T.lookup(C.REGISTER_SOURCES, m.source[k])),
        ',"referrer_member_id":', T.quoted_or_null(profile & (ref > 0), T.cat("M", T.padded(ref, 7))),
        ',"consent_sms":', T.lookup(tf, ev.consent_sms[sel].astype(np.int64)),
        ',"consent_wecom":', T.lookup(tf, ev.consent_wecom[sel].astype(np.int64)), "}\n")
    return T.replace_rows(lines, ev.defect[sel] == 6,
                          lambda x: T.cat(pc.utf8_slice_codeunits(x, 0, 60), "\n"))
