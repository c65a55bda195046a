"""Meituan Waimai (美团外卖) merchant export: CSV with Chinese headers → ``meituan_orders`` (SPEC §1.2).

Rules beyond the column list:

- ``订单号`` stays text and must be digits only (an Excel-mangled ``3.80123E+18`` is quarantined);
- ``门店ID`` may be empty or unknown: kept (the store master is applied downstream);
- ``订单状态`` 已完成 → completed, 已取消 → cancelled, 已退款 → refunded,
  部分退款 → partially_refunded; anything else is quarantined;
- amounts: yuan, at most two decimals, never negative; ``订单原价`` and ``顾客实付`` are required,
  the other fees may be empty (null), an empty ``退款金额`` is 0.00; a refund larger than
  ``顾客实付`` is quarantined;
- ``用户ID`` is hashed (meituan_user_id), ``会员手机号`` normalized and hashed when valid;
- ``收货人``, ``收货人电话`` (masked or a privacy number) and ``收货地址`` are never identifiers and
  are not stored at all (also masked in quarantined raw text).
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pyarrow.compute as pc

from assets.ingest.common import Hashed, ParsedFile, Recipe, Typer, parse_one
from assets.ingest.hashing import Hasher

SOURCE = "meituan"
TABLE = "meituan_orders"

# header → key; only the columns we keep (收货人, 收货人电话, 收货地址 are never read).
COLUMNS = [
    ("订单号", "order_id"),
    ("门店ID", "shop_id"),
    ("下单时间", "order_time"),
    ("用户ID", "user_id"),
    ("会员手机号", "member_phone"),
    ("订单原价", "original"),
    ("顾客实付", "paid"),
    ("商家实收", "income"),
    ("平台补贴", "platform_subsidy"),
    ("商家补贴", "merchant_subsidy"),
    ("配送费", "delivery_fee"),
    ("佣金", "commission"),
    ("订单状态", "status"),
    ("退款金额", "refund"),
]
PERSONAL_COLUMNS = ["用户ID", "收货人", "收货人电话", "会员手机号", "收货地址"]

STATUSES = {
    "已完成": "completed",
    "已取消": "cancelled",
    "已退款": "refunded",
    "部分退款": "partially_refunded",
}
# key → (output column, header, required)
AMOUNTS = [
    ("original", "original_amount_yuan", "订单原价", True),
    ("paid", "paid_amount_yuan", "顾客实付", True),
    ("income", "merchant_income_yuan", "商家实收", False),
    ("platform_subsidy", "platform_subsidy_yuan", "平台补贴", False),
    ("merchant_subsidy", "merchant_subsidy_yuan", "商家补贴", False),
    ("delivery_fee", "delivery_fee_yuan", "配送费", False),
    ("commission", "commission_yuan", "佣金", False),
]


def type_rows(t: Typer) -> dict:
    """The typed columns of the export rows (Typer collects what fails, and why)."""
    order_id = t.required("order_id", "订单号")
    t.fail(
        pc.invert(pc.match_substring_regex(order_id, r"^\d{1,30}$")),
        lambda i: f"订单号 '{t.value('order_id', i)}' is not an order number (digits only; was the file saved by Excel?)",
    )
    order_ts = t.local_time("order_time", "下单时间")
    amounts = {
        column: t.amount(key, header, required=required, non_negative=True)
        for key, column, header, required in AMOUNTS
    }
    refund = t.amount("refund", "退款金额", required=False, non_negative=True, empty_is_zero=True)
    status = t.enum("status", "订单状态", STATUSES, fold=None, required=True)
    paid = amounts["paid_amount_yuan"]
    t.refund_within_paid(refund, paid, "退款金额", "顾客实付")
    return {
        "order_id": order_id,
        "shop_id": t.cols["shop_id"],
        "order_ts_local": order_ts,
        "business_date": order_ts.cast("date32"),
        "user_id": t.cols["user_id"],
        "member_phone": t.cols["member_phone"],
        **amounts,
        "status": status,
        "refund_amount_yuan": refund,
    }


HASHED = [Hashed("user_id", "meituan_user_id", "meituan_user_hash")]
RECIPE = Recipe(SOURCE, TABLE, lambda t, tz: type_rows(t), PERSONAL_COLUMNS, "member_phone", HASHED, csv_columns=COLUMNS)


def parse_file(path: Path, delivery_date: date, hasher: Hasher, tz: str) -> ParsedFile:
    """Parse one Meituan export. Raises UnreadableFileError when nothing of it can be read."""
    return parse_one(RECIPE, path, delivery_date, hasher, tz)
