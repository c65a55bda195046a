"""Ele.me JSON Lines feed."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

import orjson
import pytest

from assets.ingest import eleme
from assets.ingest.common import UnreadableFileError
from assets.ingest.schemas import RAW_TABLES
from tests.ingest.helpers import D0501, TZ, by_line, h, write

GOOD = {
    "orderId": "5012345678901234567", "shopId": "E-778899", "createdAt": "2024-05-01T12:03:11+08:00",
    "userId": "e_1a2b3c", "phoneList": ["139****1111"], "memberPhone": "13900001111",
    "consignee": "王**", "address": "上海市黄浦区**路**号", "originalPrice": 58.0, "totalPrice": 43.5,
    "income": 36.2, "status": "SETTLED", "refundAmount": 0,
    "items": [{"name": "杨枝甘露", "quantity": 2, "price": 21.75}],
}


def line(**changes) -> str:
    obj = {**GOOD, **changes}
    for key, value in changes.items():
        if value is ...:
            del obj[key]
    return orjson.dumps(obj).decode()


def test_sample_feed_typed_exactly(landing, hasher):
    parsed = eleme.parse_file(landing / "eleme/2024-05-01/eleme_orders_20240501.jsonl", D0501, hasher, TZ)
    assert parsed.rows.schema == RAW_TABLES["eleme_orders"]
    assert (parsed.encoding, parsed.rows_read, parsed.rows_loaded, parsed.rows_quarantined) == ("utf-8", 2, 2, 0)
    rows = by_line(parsed.rows)  # first JSON line = line 1
    first = rows[1]
    assert first["order_id"] == "5012345678901234567"
    assert first["order_ts_local"] == datetime(2024, 5, 1, 12, 3, 11)
    assert first["business_date"] == date(2024, 5, 1)
    assert first["paid_amount_yuan"] == Decimal("43.50")  # JSON 43.5, read through its text
    assert (first["original_amount_yuan"], first["income_yuan"], first["refund_amount_yuan"]) == (
        Decimal("58.00"), Decimal("36.20"), Decimal("0.00"),
    )
    assert first["status"] == "settled" and first["item_count"] == 2
    assert first["eleme_user_hash"] == h("eleme_user_id", "e_1a2b3c")
    assert first["phone_hash"] == h("phone", "13900001111") and first["phone_masked"] == "139****1111"
    second = rows[2]
    assert second["status"] == "refunded" and second["refund_amount_yuan"] == Decimal("26.00")
    assert second["phone_status"] == "empty"
    # phoneList (masked) is never an identifier and never stored.
    assert "186****2222" not in str(parsed.rows.to_pylist()) + str(parsed.pii.to_pylist())


def test_amounts_are_exact_decimals_never_binary_floats(tmp_path, hasher):
    values = ["19.99", "0.07", "1234567.89", "0.1", "100", "0.3"]
    text = "\n".join(line(orderId=str(i), totalPrice=orjson.loads(v), originalPrice=orjson.loads(v))
                     for i, v in enumerate(values))
    text += "\n" + line(orderId="drift", totalPrice=0.1 + 0.2)  # 0.30000000000000004
    parsed = eleme.parse_file(write(tmp_path / "eleme/2024-05-01/a.jsonl", text), D0501, hasher, TZ)
    paid = [r["paid_amount_yuan"] for r in parsed.rows.to_pylist()]
    assert paid == [Decimal(v).quantize(Decimal("0.01")) for v in values]
    [bad] = parsed.quarantine.to_pylist()
    assert bad["line_no"] == 7
    assert bad["reason"] == "totalPrice '0.30000000000000004' has more than two decimals"


def test_offsets_are_converted_to_business_time(tmp_path, hasher):
    text = "\n".join([
        line(orderId="1", createdAt="2024-05-01T16:30:00Z"),        # → 2024-05-02 00:30
        line(orderId="2", createdAt="2024-05-01T23:30:00+09:00"),   # → 2024-05-01 22:30
        line(orderId="3", createdAt="2024-05-01T12:03:11.5+0800"),
    ])
    rows = eleme.parse_file(write(tmp_path / "eleme/2024-05-01/t.jsonl", text), D0501, hasher, TZ).rows.to_pylist()
    assert [(r["order_ts_local"], r["business_date"]) for r in rows] == [
        (datetime(2024, 5, 2, 0, 30), date(2024, 5, 2)),
        (datetime(2024, 5, 1, 22, 30), date(2024, 5, 1)),
        (datetime(2024, 5, 1, 12, 3, 11, 500000), date(2024, 5, 1)),
    ]


def test_bad_lines(tmp_path, hasher):
    text = "\n".join([
        line(),                                                   # 1 good
        '{"orderId": "1", "createdAt": ',                         # 2 not JSON
        "",                                                       # 3 blank
        "[1, 2]",                                                 # 4 not an object
        line(orderId=...),                                        # 5
        line(orderId=5012345678901234568),                        # 6 JSON integer: fine
        line(orderId=5.012345678901235e18),                       # 7 float id
        line(createdAt="2024-05-01T12:03:11"),                    # 8 no offset
        line(createdAt="2024-02-30T12:03:11+08:00"),              # 9
        line(status="PAID"),                                      # 10
        line(totalPrice="ten"),                                   # 11
        line(refundAmount=50),                                    # 12
        line(totalPrice=True),                                    # 13
        line(refundAmount=None, items=None),                      # 14 good: refund 0, no items
    ]) + "\n"
    parsed = eleme.parse_file(write(tmp_path / "eleme/2024-05-01/b.jsonl", text), D0501, hasher, TZ)
    reasons = {q["line_no"]: q["reason"] for q in parsed.quarantine.to_pylist()}
    assert reasons[2] == "line is not valid JSON: unexpected end of data at column 31"
    assert reasons[4] == "line is not a JSON object but a list"
    assert {k: v for k, v in reasons.items() if k not in (2, 4)} == {
        5: "missing required field 'orderId'",
        7: "orderId '5.012345678901235e+18' is a floating-point number, so its digits cannot be trusted (ids must be text)",
        8: "createdAt '2024-05-01T12:03:11' has no UTC offset (expected ISO 8601 such as 2024-05-01T12:03:11+08:00)",
        9: "createdAt '2024-02-30T12:03:11+08:00' is not a valid time",
        10: "unknown status 'PAID' (expected SETTLED, INVALID or REFUND_SUCCESS)",
        11: "totalPrice 'ten' is not an amount",
        12: "refundAmount 50.00 is more than totalPrice 43.50",
        13: "totalPrice 'true' is not an amount",
    }
    rows = by_line(parsed.rows)
    assert sorted(rows) == [1, 6, 14]
    assert rows[6]["order_id"] == "5012345678901234568"
    assert rows[14]["refund_amount_yuan"] == Decimal("0.00") and rows[14]["item_count"] is None
    assert parsed.rows_read == 13 == parsed.rows_loaded + parsed.rows_quarantined
    # Quarantined raw text keeps no phone, neither the member's nor the masked receiver's digits.
    for q in parsed.quarantine.to_pylist():
        assert "13900001111" not in q["raw"]


def test_file_without_any_json_is_unreadable(tmp_path, hasher):
    path = write(tmp_path / "eleme/2024-05-01/dump.jsonl", "orderId,createdAt\n1,2\n")
    with pytest.raises(UnreadableFileError, match=r"eleme/2024-05-01/dump\.jsonl: no line is a JSON object"):
        eleme.parse_file(path, D0501, hasher, TZ)


def test_file_of_only_broken_objects_is_quarantined_not_unreadable(tmp_path, hasher):
    path = write(tmp_path / "eleme/2024-05-01/eleme_orders_20240501.jsonl", '{"orderId":"501234567890123\n')
    parsed = eleme.parse_file(path, D0501, hasher, TZ)
    assert parsed.rows_read == 1 and parsed.rows_quarantined == 1 and parsed.rows_loaded == 0
    assert parsed.quarantine.to_pylist()[0]["reason"].startswith("line is not valid JSON")
