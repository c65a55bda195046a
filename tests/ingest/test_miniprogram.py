"""Mini-program orders and member events (JSON Lines, UTC times, fen)."""

from __future__ import annotations

from datetime import date, datetime

import orjson
import pytest

from assets.ingest import miniprogram
from assets.ingest.common import UnreadableFileError
from assets.ingest.schemas import PII_TABLES, RAW_TABLES
from tests.ingest.helpers import D0501, TZ, by_line, h, write


def test_sample_orders_typed_exactly(landing, hasher):
    parsed = miniprogram.parse_file(landing / "miniprogram/2024-05-01/orders_20240501.jsonl", D0501, hasher, TZ)
    assert parsed.source == "miniprogram_orders" and parsed.table == "miniprogram_orders"
    assert parsed.rows.schema == RAW_TABLES["miniprogram_orders"]
    assert (parsed.rows_read, parsed.rows_loaded, parsed.rows_quarantined) == (2, 2, 0)
    rows = by_line(parsed.rows)
    first = rows[1]
    assert first["order_id"] == "MP202405010001"
    assert first["order_ts_local"] == datetime(2024, 5, 1, 12, 3, 11)  # 04:03:11Z + 8h
    assert first["openid_hash"] == h("openid", "oX1a2b3c4d5e6f7g8h9i0jA")
    assert first["unionid_hash"] == h("unionid", "uA1b2C3d4E5f6G7h8")
    assert first["member_id"] == "M000123" and first["member_id_hash"] == h("member_id", "M000123")
    assert first["phone_hash"] == h("phone", "13812345678")  # +8613812345678
    assert (first["store_code"], first["fulfillment"], first["item_count"]) == ("SH001", "pickup", 3)
    assert (first["total_fen"], first["discount_fen"], first["paid_fen"], first["refund_fen"]) == (5000, 800, 4200, 0)
    assert (first["points_redeemed"], first["coupon_id"], first["status"]) == (0, "C-NEW-10", "paid")

    late = rows[2]
    # 2024-05-01T17:30:00Z is 2024-05-02 01:30 in Shanghai: business date 2024-05-02.
    assert late["order_ts_local"] == datetime(2024, 5, 2, 1, 30)
    assert late["business_date"] == date(2024, 5, 2)
    assert late["unionid_hash"] is None and late["phone_status"] == "empty"
    assert (late["paid_fen"], late["refund_fen"]) == (2900, 500)  # fen stay whole fen


def test_sample_members_keep_birthday_out_of_raw(landing, hasher):
    parsed = miniprogram.parse_file(landing / "miniprogram/2024-05-01/members_20240501.jsonl", D0501, hasher, TZ)
    assert parsed.source == "miniprogram_members"
    assert parsed.rows.schema == RAW_TABLES["miniprogram_members"]
    rows = by_line(parsed.rows)
    first = rows[1]
    assert first["event"] == "register"
    assert first["event_ts_local"] == datetime(2024, 5, 1, 8, 10)
    assert first["member_id"] == "M000123" and first["member_id_hash"] == h("member_id", "M000123")
    assert first["member_card_hash"] == h("member_card_no", "VIP00012345")
    assert first["birth_month"] == 5
    assert (first["gender"], first["register_store"], first["register_source"]) == ("F", "SH001", "store_recruit")
    assert (first["consent_sms"], first["consent_wecom"]) == (True, True)
    assert rows[2]["referrer_member_id"] == "M000123" and rows[2]["birth_month"] is None
    assert "1990-05-03" not in str(parsed.rows.to_pylist())

    assert parsed.member_profiles.schema == PII_TABLES["member_profiles"]
    assert [(p["member_id"], p["line_no"], p["birthday"]) for p in parsed.member_profiles.to_pylist()] == [
        ("M000123", 1, date(1990, 5, 3)),
        ("M000124", 2, None),
    ]
    values = {(r["identifier_type"], r["value"]) for r in parsed.pii.to_pylist()}
    assert ("phone", "13812345678") in values and ("member_id", "M000124") in values
    assert ("member_id", "M000123") in values and not any(t == "referrer_member_id" for t, _ in values)


ORDER = {
    "order_id": "MP1", "created_at": "2024-05-01T04:03:11Z", "openid": "oX1", "unionid": None,
    "member_id": None, "phone": None, "store_code": "SH001", "fulfillment": "pickup",
    "items": [{"sku": "T1", "name": "x", "qty": 1, "unit_price_fen": 100, "promo": False}],
    "total_fen": 100, "discount_fen": 0, "paid_fen": 100, "points_redeemed": 0, "coupon_id": None,
    "status": "paid", "refund_fen": 0,
}


def test_bad_orders(tmp_path, hasher):
    lines = [
        {**ORDER},                                     # 1 good
        {**ORDER, "status": "shipped"},                # 2
        {**ORDER, "paid_fen": 42.5},                   # 3
        {**ORDER, "refund_fen": 500},                  # 4
        {**ORDER, "total_fen": -1},                    # 5
        {**ORDER, "fulfillment": "drone"},             # 6
        {**ORDER, "created_at": None},                 # 7
        {**ORDER, "paid_fen": 100.0, "refund_fen": None, "fulfillment": None},  # 8 good
        {**ORDER, "items": [{"qty": "two"}]},          # 9
    ]
    text = "\n".join(orjson.dumps(o).decode() for o in lines)
    parsed = miniprogram.parse_file(write(tmp_path / "miniprogram/2024-05-01/orders_x.jsonl", text), D0501, hasher, TZ)
    reasons = {q["line_no"]: q["reason"] for q in parsed.quarantine.to_pylist()}
    assert reasons == {
        2: "unknown status 'shipped' (expected paid, cancelled or refunded)",
        3: "paid_fen '42.5' is not a whole number",
        4: "refund_fen 500 is more than paid_fen 100",
        5: "total_fen '-1' is negative",
        6: "unknown fulfillment 'drone' (expected pickup, delivery or dine_in)",
        7: "missing required field 'created_at'",
        9: "items #1: qty 'two' is not a whole number",
    }
    rows = by_line(parsed.rows)
    assert sorted(rows) == [1, 8]
    assert (rows[8]["paid_fen"], rows[8]["refund_fen"], rows[8]["fulfillment"]) == (100, 0, None)


MEMBER = {
    "event": "update", "event_time": "2024-05-01T00:10:00Z", "member_id": "M9", "openid": "oX9",
    "unionid": None, "phone": "13812345678", "member_card_no": None, "birthday": "1990-05-03",
    "gender": "F", "register_store": "SH001", "register_source": "natural", "referrer_member_id": None,
    "consent_sms": True, "consent_wecom": False,
}


def test_bad_member_events(tmp_path, hasher):
    lines = [
        {**MEMBER},                                              # 1 good
        {**MEMBER, "event": "merge"},                            # 2
        {**MEMBER, "birthday": "1990-02-30"},                    # 3
        {**MEMBER, "consent_sms": "yes"},                        # 4
        {**MEMBER, "member_id": None},                           # 5
        {**MEMBER, "gender": "X"},                               # 6
        {"event": "delete", "event_time": "2024-05-01T00:10:00Z", "member_id": "M9"},  # 7 good
    ]
    text = "\n".join(orjson.dumps(o).decode() for o in lines)
    parsed = miniprogram.parse_file(write(tmp_path / "miniprogram/2024-05-01/members_x.jsonl", text), D0501, hasher, TZ)
    reasons = {q["line_no"]: q["reason"] for q in parsed.quarantine.to_pylist()}
    assert reasons == {
        2: "unknown event 'merge' (expected register, update, unsubscribe or delete)",
        3: "birthday is not a valid date (expected YYYY-MM-DD)",  # the value itself is personal
        4: "consent_sms 'yes' is not true or false",
        5: "missing required field 'member_id'",
        6: "unknown gender 'X' (expected F, M or U)",
    }
    for q in parsed.quarantine.to_pylist():
        assert "13812345678" not in q["raw"] and "1990-0" not in q["raw"]
    rows = by_line(parsed.rows)
    assert sorted(rows) == [1, 7]
    assert rows[7]["event"] == "delete" and rows[7]["phone_status"] == "empty"
    # Only profile events (register/update) give member_profiles rows.
    assert [p["line_no"] for p in parsed.member_profiles.to_pylist()] == [1]


def test_unknown_file_name_is_unreadable(tmp_path, hasher):
    path = write(tmp_path / "miniprogram/2024-05-01/coupons_20240501.jsonl", "{}\n")
    with pytest.raises(UnreadableFileError, match="coupons_20240501.jsonl: not a mini-program file"):
        miniprogram.parse_file(path, D0501, hasher, TZ)
