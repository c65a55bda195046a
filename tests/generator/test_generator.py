"""`memberflow generate`: real runs, read back by an independent reader (landing.py).

Every SPEC §1 edge case the generator promises must be present at a tiny size, and the ground
truth must agree with what a correct ingestion of the landing files would see.
"""

from __future__ import annotations

import csv
import re
from collections import defaultdict
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path

import pandas as pd
import pytest

from generator import generate

from .landing import (BLOCKLIST, FILE_NAME, File, Line, business_date, days_between, delivered_lines, final_lines,
                      latest_by_key, normalize_phone, read_landing)

CHINESE_PAY = {"微信", "支付宝", "现金", "银联", "会员卡", "储值"}
ENGLISH_PAY = {"wechat", "alipay", "cash", "unionpay", "card", "stored_value"}


@dataclass
class World:
    out: Path
    persons: int
    days: int
    summary: dict
    files: list[File]
    orders: pd.DataFrame
    members: pd.DataFrame
    malformed: pd.DataFrame

    def lines(self, source: str, prefix: str = "") -> list[Line]:
        return [ln for f in self.files if f.source == source and f.name.startswith(prefix) for ln in f.lines]

    def good(self, source: str, prefix: str = "") -> list[Line]:
        return [ln for ln in self.lines(source, prefix) if ln.rec is not None]

    def person_of(self, source: str) -> dict:
        o = self.orders[self.orders.source == source]
        if source == "pos":
            return {(s, i): p for s, i, p in zip(o.store_code, o.order_id, o.person_id)}
        return dict(zip(o.order_id, o.person_id))


# tiny, the smallest with every edge case guaranteed, and the CLI default
SIZES = [(200, 14, 42), (50, 7, 3), (2000, 60, 42)]


@pytest.fixture(scope="module", params=SIZES, ids=lambda s: f"{s[0]}p-{s[1]}d-seed{s[2]}")
def world(request, tmp_path_factory) -> World:
    persons, days, seed = request.param
    out = tmp_path_factory.mktemp("gen")
    summary = generate(out, persons=persons, days=days, start=date(2024, 5, 1), seed=seed)
    return World(
        out=out, persons=persons, days=days, summary=summary, files=read_landing(out / "landing"),
        orders=pd.read_parquet(out / "truth" / "orders.parquet"),
        members=pd.read_parquet(out / "truth" / "members.parquet"),
        malformed=pd.read_csv(out / "truth" / "malformed.csv", dtype={"line_no": int}),
    )


def _tree(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


# ------------------------------------------------------------------ determinism and layout

def test_same_seed_gives_identical_bytes(tmp_path):
    a = generate(tmp_path / "a", persons=150, days=10, seed=7)
    b = generate(tmp_path / "b", persons=150, days=10, seed=7)
    generate(tmp_path / "c", persons=150, days=10, seed=8)
    ta, tb, tc = _tree(tmp_path / "a"), _tree(tmp_path / "b"), _tree(tmp_path / "c")
    assert ta == tb
    assert ta != tc
    assert {k: v for k, v in a.items() if k != "seconds"} == {k: v for k, v in b.items() if k != "seconds"}


def test_refuses_a_non_empty_output(tmp_path):
    generate(tmp_path, persons=50, days=3)
    with pytest.raises(FileExistsError):
        generate(tmp_path, persons=50, days=3)


def test_layout_names_and_summary(world):
    start = date(2024, 5, 1)
    for f in world.files:
        m = FILE_NAME[f.source].match(f.name)
        assert m, f.name
        folder = date.fromisoformat(f.delivery_date)
        assert 0 <= (folder - start).days < world.days
        stamp = date(int(m.group(1)[:4]), int(m.group(1)[4:6]), int(m.group(1)[6:]))
        assert stamp <= folder  # named for its first delivery; a re-delivery lands in a later folder
    s = world.summary
    assert set(s) == {"persons", "days", "files", "orders", "member_events", "malformed", "seconds"}
    assert s["files"] == len(world.files)
    assert s["orders"] == world.orders.groupby("source").size().to_dict()
    assert s["malformed"] == len(world.malformed)
    assert s["member_events"] == sum(1 for ln in world.lines("miniprogram", "members_") if ln.defect is None)
    # one POS file per store and delivery day at most (plus the one re-delivered register file)
    pos = [(f.delivery_date, f.name[:5]) for f in world.files if f.source == "pos"]
    assert len(pos) - len(set(pos)) <= 1


def test_store_master(world):
    with open(world.out / "stores.csv", encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert list(rows[0]) == ["store_code", "store_name", "city", "meituan_shop_id", "eleme_shop_id", "opened_on"]
    assert 3 <= len(rows) <= 50
    assert len({r["store_code"] for r in rows}) == len(rows)
    assert any(r["eleme_shop_id"] == "" for r in rows) and any(r["eleme_shop_id"] for r in rows)
    assert all(date.fromisoformat(r["opened_on"]) < date(2024, 5, 1) for r in rows)
    codes = {r["store_code"] for r in rows}
    assert {ln.rec["store_code"] for ln in world.good("pos")} <= codes


# ------------------------------------------------------------------ POS

def test_pos_encodings_pay_methods_and_time_formats(world):
    pos = [f for f in world.files if f.source == "pos"]
    gb = [f for f in pos if f.encoding == "gb18030"]
    assert gb and [f for f in pos if f.encoding == "utf-8-sig"] and [f for f in pos if f.encoding == "utf-8"]
    with pytest.raises(UnicodeDecodeError):
        gb[0].data.decode("utf-8")
    for f in pos:
        pays = {ln.rec["pay_method"] for ln in f.lines if ln.rec}
        assert pays <= (CHINESE_PAY if f.encoding == "gb18030" else ENGLISH_PAY), f.name
    times = [ln.rec["order_time"] for ln in world.good("pos")]
    assert any(re.fullmatch(r"\d{4}/\d\d/\d\d \d\d:\d\d", t) for t in times)
    assert any(re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d", t) for t in times)
    for f in world.files:
        if f.source != "pos":
            assert f.encoding == "utf-8", f.name


def test_pos_phone_spellings_and_placeholders(world):
    phones = [ln.rec["member_phone"] for ln in world.good("pos")]
    for pattern in (r"1\d{10}", r"1\d\d \d{4} \d{4}", r"\+86 1\d\d-\d{4}-\d{4}", r"86-1\d{10}"):
        assert any(re.fullmatch(pattern, p) for p in phones), pattern
    assert all(p == "" or normalize_phone(p) for p in phones)
    assert BLOCKLIST & set(phones)
    # a store's own number, typed for many guests (store numbers are 199…)
    store_numbers = [p for p in phones if p.startswith("199")]
    assert len(store_numbers) >= 2


def test_anonymous_sales_have_no_person(world):
    person = world.person_of("pos")
    anonymous_cash = 0
    for ln in world.good("pos"):
        r = ln.rec
        if r["order_type"] != "SALE":
            continue
        phone = normalize_phone(r["member_phone"])
        real_phone = phone is not None and phone not in BLOCKLIST and not phone.startswith("199")
        identified = bool(r["member_card_no"] or r["pay_openid"] or real_phone)
        assert pd.isna(person[(r["store_code"], r["order_no"])]) == (not identified), r
        if r["pay_method"] in ("cash", "现金") and not (r["member_card_no"] or r["member_phone"] or r["pay_openid"]):
            anonymous_cash += 1
    assert anonymous_cash >= 1


def test_family_members_share_a_phone(world):
    person = world.person_of("pos")
    holders = defaultdict(set)
    for ln in world.good("pos"):
        p = person.get((ln.rec["store_code"], ln.rec["order_no"]))
        phone = normalize_phone(ln.rec["member_phone"])
        if phone and phone not in BLOCKLIST and not phone.startswith("199") and not pd.isna(p):
            holders[phone].add(int(p))
    assert any(len(ps) == 2 for ps in holders.values())


def test_pos_refunds_known_and_unknown_sales(world):
    lines = world.good("pos")
    sales = {(ln.rec["store_code"], ln.rec["order_no"]): ln for ln in lines if ln.rec["order_type"] == "SALE"}
    full = partial = unknown = 0
    person = world.person_of("pos")
    for ln in lines:
        r = ln.rec
        if r["order_type"] != "REFUND":
            continue
        assert Decimal(r["paid_amount"]) < 0 and Decimal(r["gross_amount"]) < 0
        sale = sales.get((r["store_code"], r["ref_order_no"]))
        if sale is None:
            assert r["ref_order_no"] and (r["store_code"], r["order_no"]) in person  # its own order key
            assert pd.isna(person[(r["store_code"], r["order_no"])])
            unknown += 1
            continue
        assert business_date(sale) <= business_date(ln)
        if days_between(business_date(sale), business_date(ln)) >= 1:
            paid, refund = Decimal(sale.rec["paid_amount"]), -Decimal(r["paid_amount"])
            full += refund == paid
            partial += 0 < refund < paid
    assert unknown >= 1 and full >= 1 and partial >= 1


# ------------------------------------------------------------------ platforms

def test_meituan_ids_and_contacts(world):
    rows = [ln.rec for ln in world.good("meituan")]
    assert all(re.fullmatch(r"\d{18,19}", r["订单号"]) for r in rows)
    assert any(len(r["订单号"]) == 19 for r in rows)
    contacts = [r["收货人电话"] for r in rows]
    assert all(re.fullmatch(r"1\d\d\*{4}\d{4}|170\d{8}_\d{4}", c) for c in contacts)
    assert any("*" in c for c in contacts) and any("_" in c for c in contacts)
    assert all(normalize_phone(c) is None for c in contacts)  # never an identifier
    members = [r["会员手机号"] for r in rows if r["会员手机号"]]
    assert members and all(normalize_phone(m) for m in members)
    with open(world.out / "stores.csv", encoding="utf-8") as fh:
        known = {r["meituan_shop_id"] for r in csv.DictReader(fh)}
    assert any(r["门店ID"] not in known for r in rows)  # an unknown shop id


def test_eleme_contacts(world):
    rows = [ln.rec for ln in world.good("eleme")]
    assert all(isinstance(r["orderId"], str) for r in rows)
    contacts = [c for r in rows for c in r["phoneList"]]
    assert all(re.fullmatch(r"1\d\d\*{4}\d{4}|170\d{8}_\d{4}", c) for c in contacts)
    assert any(r["memberPhone"] for r in rows)
    assert all(r["memberPhone"] is None or normalize_phone(r["memberPhone"]) for r in rows)
    with open(world.out / "stores.csv", encoding="utf-8") as fh:
        known = {r["eleme_shop_id"] for r in csv.DictReader(fh)} - {""}
    assert {r["shopId"] for r in rows} <= known


def _versions(lines: list[Line], key) -> dict:
    """The delivered versions of every order, in re-delivery order."""
    out = defaultdict(list)
    for ln in lines:
        out[key(ln.rec)].append(ln)
    return out


def test_platform_orders_redelivered_with_a_new_status(world):
    def changed(versions, first, last):
        return any(len(v) >= 2 and v[0].delivery_date < v[-1].delivery_date and first(v[0].rec) and last(v[-1].rec)
                   for v in versions.values())

    mt = _versions(delivered_lines(world.files, "meituan"), lambda r: r["订单号"])
    done = lambda r: r["订单状态"] == "已完成" and r["退款金额"] == "0.00"  # noqa: E731
    assert changed(mt, done, lambda r: r["订单状态"] == "已退款")
    assert changed(mt, done, lambda r: r["订单状态"] == "部分退款" and Decimal(r["退款金额"]) > 0)
    el = _versions(delivered_lines(world.files, "eleme"), lambda r: r["orderId"])
    settled = lambda r: r["status"] == "SETTLED" and r["refundAmount"] == 0  # noqa: E731
    assert changed(el, settled, lambda r: r["status"] == "REFUND_SUCCESS")
    assert changed(el, settled, lambda r: r["status"] == "SETTLED" and r["refundAmount"] > 0)
    mp = _versions(delivered_lines(world.files, "miniprogram", "orders_"), lambda r: r["order_id"])
    paid = lambda r: r["status"] == "paid" and r["refund_fen"] == 0  # noqa: E731
    assert changed(mp, paid, lambda r: r["status"] == "refunded")
    assert changed(mp, paid, lambda r: r["status"] == "paid" and 0 < r["refund_fen"] < r["paid_fen"])


def test_late_files(world):
    """A delivery folder carries orders from two or more days earlier (not a re-delivered version)."""
    for source, prefix in (("pos", ""), ("meituan", ""), ("eleme", ""), ("miniprogram", "orders_")):
        files_of = defaultdict(set)  # a record -> the files (by name) it was delivered in
        for ln in world.good(source, prefix):
            files_of[ln.raw].add(ln.file_name)
        late = [ln for ln in world.good(source, prefix)
                if days_between(business_date(ln), ln.delivery_date) >= 2 and len(files_of[ln.raw]) == 1]
        if source == "pos":
            late = [ln for ln in late if ln.rec["order_type"] == "SALE"]
        assert late, source


def test_files_delivered_twice(world):
    by_name = defaultdict(list)
    for f in world.files:
        by_name[(f.source, f.name)].append(f)
    twice = [fs for fs in by_name.values() if len(fs) == 2]
    assert len(twice) == 2
    same = [fs for fs in twice if fs[0].data == fs[1].data]
    differ = [fs for fs in twice if fs[0].data != fs[1].data]
    assert len(same) == 1 and len(differ) == 1
    first, second = sorted(differ[0], key=lambda f: f.delivery_date)
    assert first.source == "pos" and first.delivery_date < second.delivery_date
    keys = lambda f: {ln.rec["order_no"] for ln in f.lines if ln.rec}  # noqa: E731
    assert keys(first) < keys(second)  # the first upload was incomplete


def test_miniprogram_times_are_utc_and_cross_local_midnight(world):
    rows = world.good("miniprogram", "orders_")
    assert all(ln.rec["created_at"].endswith("Z") for ln in rows)
    night = [ln for ln in rows if int(ln.rec["created_at"][11:13]) >= 16]
    assert night
    for ln in night:  # delivered in the UTC day's file: the business date is the next day
        assert ln.rec["created_at"][:10] == ln.delivery_date or ln.delivery_date > ln.rec["created_at"][:10]
        assert business_date(ln) > ln.rec["created_at"][:10]


def test_points_redeemed_and_a_shortfall(world):
    rows = [ln.rec for ln in world.good("miniprogram", "orders_")]
    redeem = [r for r in rows if r["points_redeemed"] > 0]
    assert redeem and all(r["status"] == "paid" and r["member_id"] for r in redeem)
    person = world.person_of("miniprogram")
    everything = world.orders.dropna(subset=["person_id"]).groupby("person_id").size()
    # an order earns floor(yuan / 10) points, and no basket is worth 1000 yuan
    shortfall = [r for r in redeem if r["points_redeemed"] > 100 * everything[person[r["order_id"]]]]
    assert 1 <= len(shortfall) < len(redeem)
    # the others are covered by points the member earned on its earlier mini-program orders (final versions)
    final = [ln.rec for ln in latest_by_key(final_lines(world.files, "miniprogram", "orders_"),
                                             lambda r: r["order_id"]).values()]
    for r in redeem:
        if r in shortfall:
            continue
        earned = sum((o["paid_fen"] - o["refund_fen"]) // 1000 for o in final
                     if o["member_id"] == r["member_id"] and o["status"] == "paid" and o["created_at"] < r["created_at"])
        assert r["points_redeemed"] <= earned, r["order_id"]


# ------------------------------------------------------------------ members

def test_member_events(world):
    events = [ln.rec for ln in world.good("miniprogram", "members_")]
    kinds = defaultdict(list)
    for e in events:
        kinds[e["event"]].append(e)
    reg = {e["member_id"]: e for e in kinds["register"]}
    assert len(reg) == len(kinds["register"]) == len(world.members)
    assert set(reg) == set(world.members.member_id)
    assert {(e["consent_sms"], e["consent_wecom"]) for e in reg.values()} >= {(True, True), (False, False)} or \
        {e["consent_sms"] for e in reg.values()} == {True, False}
    referred = [e for e in reg.values() if e["register_source"] == "referral"]
    assert referred and all(reg[e["referrer_member_id"]]["event_time"] <= e["event_time"] for e in referred)
    updates = kinds["update"]
    assert any(u["phone"] and reg[u["member_id"]]["phone"] not in (None, u["phone"]) for u in updates)  # new phone
    assert any(u["member_card_no"] and reg[u["member_id"]]["member_card_no"] is None for u in updates)
    assert kinds["unsubscribe"] and all(not e["consent_sms"] and not e["consent_wecom"] for e in kinds["unsubscribe"])
    deleted = {e["member_id"] for e in kinds["delete"]}
    assert deleted and deleted == set(world.members[world.members.deleted].member_id)
    for e in events:  # every event follows the member's registration
        assert e["event_time"] >= reg[e["member_id"]]["event_time"]


def test_deleted_persons_stop_ordering(world):
    deleted = world.members[world.members.deleted]
    delete_time = {e["member_id"]: e["event_time"] for e in (ln.rec for ln in world.good("miniprogram", "members_"))
                   if e["event"] == "delete"}
    mp = world.person_of("miniprogram")
    for member_id, person_id in zip(deleted.member_id, deleted.person_id):
        for ln in world.good("miniprogram", "orders_"):
            if mp.get(ln.rec["order_id"]) == person_id:
                assert ln.rec["created_at"] <= delete_time[member_id]


def test_a_member_first_ordered_as_a_guest(world):
    reg_time = {ln.rec["openid"]: ln.rec["event_time"] for ln in world.good("miniprogram", "members_")
                if ln.rec["event"] == "register"}
    guest_first = [ln for ln in world.good("miniprogram", "orders_")
                   if ln.rec["member_id"] is None and ln.rec["openid"] in reg_time
                   and ln.rec["created_at"] < reg_time[ln.rec["openid"]]]
    assert guest_first


# ------------------------------------------------------------------ malformed rows and the truth

def test_malformed_csv_lists_exactly_the_broken_lines(world):
    listed = {(r.source, r.delivery_date, r.file_name, r.line_no): r.defect for r in world.malformed.itertuples()}
    found = {(ln.source, ln.delivery_date, ln.file_name, ln.line_no): ln.defect
             for f in world.files for ln in f.lines if ln.defect}
    assert listed == found
    kinds = defaultdict(set)
    for (source, _, name, _), defect in listed.items():
        kinds[(source, name.split("_")[0])].add(defect)
    csv_kinds = {"unparseable amount 'ten'", "impossible order time", "missing order id", "unknown status",
                 "wrong column count"}
    json_kinds = csv_kinds - {"wrong column count"} | {"invalid JSON line"}
    assert kinds[("pos", next(f.name for f in world.files if f.source == "pos").split("_")[0])] <= csv_kinds
    assert set().union(*(v for (s, _), v in kinds.items() if s == "pos")) == csv_kinds
    assert kinds[("meituan", "meituan")] == csv_kinds
    assert kinds[("eleme", "eleme")] == json_kinds
    assert kinds[("miniprogram", "orders")] == json_kinds
    assert kinds[("miniprogram", "members")] == {"invalid JSON line", "unknown event type"}


def test_truth_matches_the_landing_zone(world):
    o = world.orders
    assert list(o.columns) == ["source", "store_code", "order_id", "person_id", "is_malformed"]
    assert str(o.person_id.dtype) == "Int64" or o.person_id.dtype.kind in "if"
    assert not o.duplicated(["source", "store_code", "order_id"]).any()
    assert o.store_code.notna().eq(o.source == "pos").all()

    pos = final_lines(world.files, "pos")
    sales = {(ln.rec["store_code"], ln.rec["order_no"]) for ln in pos if ln.rec["order_type"] == "SALE"}
    unknown_refunds = {(r["store_code"], r["order_no"]) for r in (ln.rec for ln in pos)
                       if r["order_type"] == "REFUND" and (r["store_code"], r["ref_order_no"]) not in sales}
    landing = {("pos", s, i) for s, i in sales | unknown_refunds}
    landing |= {("meituan", None, k) for k in latest_by_key(final_lines(world.files, "meituan"), lambda r: r["订单号"])}
    landing |= {("eleme", None, k) for k in latest_by_key(final_lines(world.files, "eleme"), lambda r: r["orderId"])}
    landing |= {("miniprogram", None, k)
                for k in latest_by_key(final_lines(world.files, "miniprogram", "orders_"), lambda r: r["order_id"])}
    good = o[~o.is_malformed]
    truth = {(s, None if pd.isna(c) else c, i) for s, c, i in zip(good.source, good.store_code, good.order_id)}
    assert truth == landing
    order_files = [f for f in world.files if f.source != "miniprogram" or f.name.startswith("orders_")]
    assert o.is_malformed.sum() == sum(1 for f in order_files for ln in f.lines if ln.defect)


def test_truth_persons_agree_with_platform_identifiers(world):
    """One platform user id / openid / card is one person; platform orders always have a person."""
    for source, ident in (("meituan", lambda r: r["用户ID"]), ("eleme", lambda r: r["userId"]),
                          ("miniprogram", lambda r: r["openid"]), ("pos", lambda r: r["member_card_no"])):
        prefix = "orders_" if source == "miniprogram" else ""
        person = world.person_of(source)
        seen = defaultdict(set)
        for ln in world.good(source, prefix):
            r = ln.rec
            key = (r["store_code"], r["order_no"]) if source == "pos" else (r.get("订单号") or r.get("orderId")
                                                                             or r.get("order_id"))
            if source == "pos" and (r["order_type"] != "SALE" or not r["member_card_no"]):
                continue
            p = person[key]
            assert not pd.isna(p)
            seen[ident(r)].add(int(p))
        assert seen and all(len(ps) == 1 for ps in seen.values()), source
    members = world.members
    assert members.member_id.is_unique and members.person_id.is_unique


def test_default_size_volume_skew_and_hours(world):
    if world.persons < 2000:
        pytest.skip("volume is boosted at tiny sizes")
    o = world.orders
    per_year = len(o) / world.persons * 365 / world.days
    assert 8 <= per_year <= 14  # ~10 valid orders per person and year (plus cancellations, anonymous sales)
    per_person = o.dropna(subset=["person_id"]).groupby("person_id").size()
    assert (per_person == 1).sum() > (per_person >= 5).sum() > 0  # many one-off buyers, some heavy ones
    hours = defaultdict(int)
    for source in ("pos", "meituan", "eleme"):
        for ln in world.good(source):
            t = ln.rec.get("order_time") or ln.rec.get("下单时间") or ln.rec.get("createdAt")
            hours[int(t[11:13])] += 1
    peak = max(hours, key=hours.get)
    assert 11 <= peak <= 16
    assert hours[12] > 2 * hours[8] and hours[15] > 1.5 * hours[22]
