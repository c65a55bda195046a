"""``generate``: a realistic landing zone, store master and ground truth for demos, tests and benchmarks."""

from __future__ import annotations

import csv
import io
import logging
import time
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path

import numpy as np
import orjson
import pyarrow as pa
import pyarrow.parquet as pq

from generator import catalog as C
from generator import members as MB
from generator import platforms as PF
from generator import pos as POS
from generator import textfmt as T
from generator.world import (DAY, Calendar, Stores, draw_orders, make_families, make_members, make_persons,
                             make_stores, pick)
from generator.writer import Writer

# one independent random stream per stage: changing one stage never shifts another
_STREAMS = ["stores", "combos", "persons", "orders", "members", "families", "pos", "meituan", "eleme",
            "miniprogram", "points", "events", "defects"]
DEFECT_ROWS = 500_000  # one malformed row of each kind per this many rows of a source (at least one)
MAX_BASKET_FEN = 60_000  # no basket above 600 yuan (so no order earns 100 points)
log = logging.getLogger(__name__)


def _rng(seed: int, stage: str) -> np.random.Generator:
    return np.random.default_rng(np.random.SeedSequence([seed, _STREAMS.index(stage)]))


@dataclass
class Combos:
    """Baskets: the items of an order, as JSON for Ele.me and the mini-program, and their total."""

    total: np.ndarray
    p: np.ndarray
    eleme_json: pa.Array
    mp_json: pa.Array


def make_combos(rng: np.random.Generator, k: int = 400) -> Combos:
    w = np.array(C.MENU_WEIGHTS) / sum(C.MENU_WEIGHTS)
    totals, eleme, mp = [], [], []
    while len(totals) < k:
        n_items = int(rng.choice([1, 2, 3], p=[0.5, 0.35, 0.15]))
        items = rng.choice(len(C.MENU), size=n_items, replace=False, p=w)
        qty = rng.choice([1, 2, 3], size=n_items, p=[0.8, 0.17, 0.03])
        promo = rng.random(n_items) < 0.15
        menu = [C.MENU[i] for i in items]
        total = sum(int(q) * m[2] for q, m in zip(qty, menu))
        if total > MAX_BASKET_FEN:
            continue
        totals.append(total)
        eleme.append(orjson.dumps([{"name": m[1], "quantity": int(q), "price": m[2] / 100}
                                   for q, m in zip(qty, menu)]).decode())
        mp.append(orjson.dumps([{"sku": m[0], "name": m[1], "qty": int(q), "unit_price_fen": m[2], "promo": bool(pr)}
                                for q, m, pr in zip(qty, menu, promo)]).decode())
    p = 1.0 / (np.arange(k) + 5.0)
    return Combos(np.array(totals, dtype=np.int64), p / p.sum(), pa.array(eleme), pa.array(mp))


def _check_out(out: Path) -> None:
    for sub in ("landing", "truth"):
        d = out / sub
        if d.exists() and any(d.iterdir()):
            raise FileExistsError(f"{d} is not empty: generate into a new or empty directory")


def _preliminary(body: bytes) -> bytes:
    """A register's first, incomplete upload of a day: the first lines only, one amount mistyped."""
    lines = body.decode("utf-8").split("\n")[:-1]
    keep = min(max(1, (len(lines) * 6 + 9) // 10), max(1, len(lines) - 1))
    lines = lines[:keep]
    for i, line in enumerate(lines):
        f = line.split(",")
        if f[2] == "SALE":
            f[9] = f"{Decimal(f[9]) + 10:.2f}"
            f[11] = f"{Decimal(f[11]) + 10:.2f}"
            lines[i] = ",".join(f)
            break
    return ("\n".join(lines) + "\n").encode("utf-8")


def _set_defects(rng: np.random.Generator, defect: np.ndarray, candidates: np.ndarray, codes: list[int]) -> None:
    per_type = max(1, round(len(defect) / DEFECT_ROWS))
    rows = pick(rng, candidates, per_type * len(codes))
    rows = rows[rng.permutation(len(rows))]
    defect[rows] = np.resize(np.array(codes, dtype=np.int8), len(rows))


def _biggest_file(deliv: np.ndarray, key: np.ndarray, last_day: int) -> tuple[int, int] | None:
    """(delivery day, key) of the file with most rows among days that leave room for a re-delivery."""
    ok = deliv <= last_day
    if not ok.any():
        return None
    width = int(key.max()) + 1
    counts = np.bincount(deliv[ok] * width + key[ok])
    best = int(np.argmax(counts))  # the first of the largest: deterministic
    return best // width, best % width


def _person_col(person: np.ndarray) -> pa.Array:
    """0-based person index (-1 none) as the truth's 1-based int64 person_id (null none)."""
    return pa.array(np.where(person >= 0, person + 1, 0).astype(np.int64), mask=person < 0)


def generate(out_dir: Path, persons: int = 2000, days: int = 60, start: date = date(2024, 1, 1),
             seed: int = 42) -> dict:
    """Write ``out_dir/landing/<source>/<delivery date>/<file>``, ``out_dir/stores.csv`` and the ground
    truth ``out_dir/truth/{orders.parquet, members.parquet, malformed.csv}``; return a summary.

    Deterministic: the same arguments give the same bytes.
    """
    started = time.perf_counter()
    phase = [started]

    def done(what: str) -> None:
        now = time.perf_counter()
        log.debug("generate: %s in %.2fs", what, now - phase[0])
        phase[0] = now

    if persons < 10:
        raise ValueError("persons must be at least 10")
    if days < 1:
        raise ValueError("days must be at least 1")
    out = Path(out_dir)
    _check_out(out)
    last = days - 1
    year = start.year
    cal = Calendar(start, days)
    birthdays = pa.array([str(d) for d in np.arange(np.datetime64("1965-01-01"), np.datetime64("2006-01-01"))])

    # the world
    stores = make_stores(persons, start, _rng(seed, "stores"))
    combos = make_combos(_rng(seed, "combos"))
    people = make_persons(persons, stores, _rng(seed, "persons"))
    orders = draw_orders(people, days, cal.weekday, combos.p, _rng(seed, "orders"))
    mem, orders = make_members(people, orders, days, len(birthdays), _rng(seed, "members"))
    family = make_families(people, orders, _rng(seed, "families"))
    done("world")

    # the channels
    pos = POS.make_pos(orders, people, stores, combos.total, days, _rng(seed, "pos"), family)
    mt = PF.make_meituan(orders, people, stores, combos.total, days, _rng(seed, "meituan"))
    el = PF.make_eleme(orders, people, stores, combos.total, days, _rng(seed, "eleme"))
    mp = PF.make_miniprogram(orders, people, stores, combos.total, days, _rng(seed, "miniprogram"))
    PF.redeem_points(mp, people, family, orders.pid, combos.total[orders.combo] + 600, _rng(seed, "points"))
    events = MB.make_events(mem, people, _rng(seed, "events"))
    done("channels")

    # a file delivered twice with the same bytes, and a register file re-delivered with new content
    specials_mt: dict = {}
    specials_pos: dict = {}
    dup = chg = None
    if days >= 3:
        dup = _biggest_file(mt.row_deliv, np.zeros(len(mt.row_deliv), np.int64), last - 2)
        chg = _biggest_file(pos.deliv, pos.store, last - 2)
        if dup:
            specials_mt[dup] = [(dup[0], None), (dup[0] + 2, None)]
        if chg:
            specials_pos[chg] = [(chg[0], _preliminary), (chg[0] + 2, None)]

    # malformed rows, a few per source, never on rows that carry another edge case
    rng = _rng(seed, "defects")
    ns = pos.n_sales
    in_chg = (pos.store[:ns] == (chg[1] if chg else -1)) & (pos.deliv[:ns] == (chg[0] if chg else -1))
    pos_cand = np.zeros(len(pos.defect), bool)
    pos_cand[:ns] = ~pos.protected & ~pos.refunded & ~in_chg
    _set_defects(rng, pos.defect, pos_cand, [1, 2, 3, 4, 5])
    for pf, codes, avoid_day in ((mt, [1, 2, 3, 4, 5], dup[0] if dup else -1), (el, [1, 2, 3, 4, 6], -1),
                                 (mp, [1, 2, 3, 4, 6], -1)):
        oi = pf.row_order
        cand = ~pf.row_first & ~pf.redelivered[oi] & ~pf.protected[oi] & (pf.row_deliv != avoid_day)
        _set_defects(rng, pf.row_defect, cand, codes)
    done("edge cases")

    # files: every file's lines in time order
    out.mkdir(parents=True, exist_ok=True)
    _write_stores(out / "stores.csv", stores)
    w = Writer(out, cal)
    compact = cal.compact_str
    tmax = (days + 10) * DAY  # composite sort keys: (delivery day, store, time, kind), stable
    order = np.argsort(((pos.deliv * stores.n + pos.store) * tmax + pos.t) * 2 + pos.kind, kind="stable")
    w.emit("pos", pos.deliv, pos.store, order,
           lambda sel: POS.render(pos, sel, people, stores, cal, year),
           lambda d, k: f"{stores.code[k]}_{compact(d)}.csv", pos.defect, header=POS.HEADER,
           encoding_of=lambda k: stores.encoding[k], specials=specials_pos)
    done("pos files")
    for source, pf, render, name in (
        ("meituan", mt, lambda sel: PF.render_meituan(mt, sel, people, stores, cal, year), "meituan_orders_{}.csv"),
        ("eleme", el, lambda sel: PF.render_eleme(el, sel, people, stores, cal, year, combos.eleme_json),
         "eleme_orders_{}.jsonl"),
        ("miniprogram", mp, lambda sel: PF.render_miniprogram(mp, sel, people, stores, cal, year, combos.mp_json),
         "orders_{}.jsonl"),
    ):
        key = np.zeros(len(pf.row_order), np.int64)
        order = np.argsort(pf.row_deliv * tmax + pf.t[pf.row_order], kind="stable")
        w.emit(source, pf.row_deliv, key, order, render, lambda d, k, name=name: name.format(compact(d)),
               pf.row_defect, header=PF.MEITUAN_HEADER if source == "meituan" else b"",
               specials=specials_mt if source == "meituan" else None)
    done("platform files")
    order = np.lexsort((np.arange(events.n), events.kind, events.k, events.t, events.deliv))
    w.emit("miniprogram", events.deliv, np.zeros(events.n, np.int64), order,
           lambda sel: MB.render(events, sel, mem, people, stores, cal, birthdays),
           lambda d, k: f"members_{compact(d)}.jsonl", events.defect)
    done("member files")

    # ground truth
    truth = out / "truth"
    truth.mkdir(parents=True, exist_ok=True)
    counts = _write_truth(truth, cal, stores, pos, mt, el, mp)
    pq.write_table(pa.table({
        "member_id": T.cat("M", T.padded(np.arange(len(mem.pid)) + 1, 7)),
        "person_id": pa.array(mem.pid + 1, pa.int64()),
        "deleted": pa.array(mem.deleted, pa.bool_()),
    }), truth / "members.parquet")
    buf = io.StringIO()
    cw = csv.writer(buf, lineterminator="\n")
    cw.writerow(["source", "delivery_date", "file_name", "line_no", "defect"])
    cw.writerows(sorted(w.malformed))
    (truth / "malformed.csv").write_text(buf.getvalue(), encoding="utf-8")
    done("truth")

    return {
        "persons": persons,
        "days": days,
        "files": w.files,
        "orders": counts,
        "member_events": int((events.defect == 0).sum()),
        "malformed": len(w.malformed),
        "seconds": round(time.perf_counter() - started, 2),
    }


def _write_stores(path: Path, s: Stores) -> None:
    buf = io.StringIO()
    cw = csv.writer(buf, lineterminator="\n")
    cw.writerow(["store_code", "store_name", "city", "meituan_shop_id", "eleme_shop_id", "opened_on"])
    for i in range(s.n):
        cw.writerow([s.code[i], s.name[i], C.CITIES[s.city[i]][1], s.meituan_id[i], s.eleme_id[i] or "",
                     s.opened_on[i].isoformat()])
    path.write_text(buf.getvalue(), encoding="utf-8")


def _write_truth(truth: Path, cal: Calendar, stores: Stores, pos: POS.PosLines, mt: PF.Platform, el: PF.Platform,
                 mp: PF.Platform) -> dict[str, int]:
    """truth/orders.parquet: one row per final order key (POS refunds only when their sale is unknown)."""
    ns = pos.n_sales
    unknown = np.flatnonzero(pos.sale == -1)
    rows = np.r_[np.arange(ns), unknown]
    person = np.r_[pos.person, np.full(len(unknown), -1)]
    tables = [pa.table({
        "source": pa.repeat("pos", len(rows)),
        "store_code": T.lookup(stores.code, pos.store[rows]),
        "order_id": POS.order_numbers(cal, pos.kind[rows], pos.no_day[rows], pos.no_seq[rows]),
        "person_id": _person_col(person),
        "is_malformed": pa.array(pos.defect[rows] > 0),
    })]
    counts = {"pos": len(rows)}
    for source, pf, ids in (("meituan", mt, T.num(mt.extra["id"])), ("eleme", el, T.num(el.extra["id"])),
                            ("miniprogram", mp, PF.mp_order_ids(mp, cal))):
        bad = np.zeros(pf.n, dtype=bool)
        bad[pf.row_order[pf.row_defect > 0]] = True
        tables.append(pa.table({
            "source": pa.repeat(source, pf.n),
            "store_code": pa.nulls(pf.n, pa.string()),
            "order_id": ids,
            "person_id": _person_col(pf.pid),
            "is_malformed": pa.array(bad),
        }))
        counts[source] = pf.n
    pq.write_table(pa.concat_tables(tables), truth / "orders.parquet")
    return counts
