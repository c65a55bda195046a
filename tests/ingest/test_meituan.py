"""Meituan merchant export (Chinese headers)."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

import pytest

from assets.ingest import meituan
from assets.ingest.common import UnreadableFileError
from assets.ingest.schemas import RAW_TABLES
from tests.ingest.helpers import D0501, TZ, by_line, h, write

HEADER = "订单号,门店ID,下单时间,用户ID,收货人,收货人电话,会员手机号,收货地址,订单原价,顾客实付,商家实收,平台补贴,商家补贴,配送费,佣金,订单状态,退款金额"


def test_sample_export_typed_exactly(landing, hasher):
    parsed = meituan.parse_file(landing / "meituan/2024-05-01/meituan_orders_20240501.csv", D0501, hasher, TZ)
    assert parsed.rows.schema == RAW_TABLES["meituan_orders"]
    assert (parsed.rows_read, parsed.rows_loaded, parsed.rows_quarantined) == (3, 3, 0)
    rows = by_line(parsed.rows)

    first = rows[2]
    assert first["order_id"] == "3801234567890123456"  # 19 digits, never a float
    assert first["shop_id"] == "MT100234"
    assert first["order_ts_local"] == datetime(2024, 5, 1, 11, 32, 5)
    assert first["business_date"] == date(2024, 5, 1)
    assert first["meituan_user_hash"] == h("meituan_user_id", "900012345")
    assert first["phone_hash"] == h("phone", "13812345678")  # 会员手机号
    assert first["phone_masked"] == "138****5678"
    assert [first[c] for c in ("original_amount_yuan", "paid_amount_yuan", "merchant_income_yuan",
                               "platform_subsidy_yuan", "merchant_subsidy_yuan", "delivery_fee_yuan",
                               "commission_yuan", "refund_amount_yuan")] == [
        Decimal(v) for v in ("48.00", "39.00", "31.20", "3.00", "6.00", "4.00", "7.80", "0.00")
    ]
    assert first["status"] == "completed"

    assert rows[3]["status"] == "partially_refunded" and rows[3]["refund_amount_yuan"] == Decimal("10.00")
    assert rows[3]["phone_status"] == "empty" and rows[3]["phone_hash"] is None
    assert rows[4]["status"] == "cancelled"
    assert rows[3]["meituan_user_hash"] == rows[4]["meituan_user_hash"]  # the same 用户ID


def test_receiver_phone_is_never_stored(landing, hasher):
    parsed = meituan.parse_file(landing / "meituan/2024-05-01/meituan_orders_20240501.csv", D0501, hasher, TZ)
    everything = str(parsed.rows.to_pylist()) + str(parsed.pii.to_pylist())
    for value in ("17012345678", "138****5678_", "张*", "上海市"):
        assert value not in everything
    assert {r["identifier_type"] for r in parsed.pii.to_pylist()} == {"meituan_user_id", "phone"}


def test_bad_rows(tmp_path, hasher):
    good = "3801234567890123456,MT100234,2024-05-01 11:32:05,900012345,张*,138****5678,,上海市,48.00,39.00,31.20,3.00,6.00,4.00,7.80,已完成,0.00"
    lines = [
        HEADER,
        good,
        good.replace("3801234567890123456", "3.80123E+18"),
        good.replace("已完成", "已关闭"),
        good.replace("已完成,0.00", "部分退款,40.00"),
        good.replace(",39.00,", ",-39.00,"),
        good.replace(",31.20,3.00,", ",,,"),  # empty fees are allowed (null)
        good.replace(",0.00", ",")[: -1] + ",",  # empty 退款金额 → 0.00
        good.replace("900012345,张*,138****5678,", "900012345,张*,17012345678_1234,"),
    ]
    parsed = meituan.parse_file(write(tmp_path / "meituan/2024-05-02/x.csv", "\n".join(lines)), D0501, hasher, TZ)
    reasons = {q["line_no"]: q["reason"] for q in parsed.quarantine.to_pylist()}
    assert reasons == {
        3: "订单号 '3.80123E+18' is not an order number (digits only; was the file saved by Excel?)",
        4: "unknown 订单状态 '已关闭' (expected 已完成, 已取消, 已退款 or 部分退款)",
        5: "退款金额 40.00 is more than 顾客实付 39.00",
        6: "顾客实付 '-39.00' is negative",
    }
    rows = by_line(parsed.rows)
    assert sorted(rows) == [2, 7, 8, 9]
    assert rows[7]["merchant_income_yuan"] is None and rows[7]["platform_subsidy_yuan"] is None
    assert rows[8]["refund_amount_yuan"] == Decimal("0.00")
    # The quarantined raw text never carries the receiver's phone either.
    assert all("17012345678" not in q["raw"] for q in parsed.quarantine.to_pylist())


def test_missing_header_column_is_unreadable(tmp_path, hasher):
    path = write(tmp_path / "meituan/2024-05-02/old.csv", "订单号,门店ID\n1,2\n")
    with pytest.raises(UnreadableFileError, match="meituan/2024-05-02/old.csv: the header lacks column"):
        meituan.parse_file(path, D0501, hasher, TZ)
