"""Ele.me (饿了么) open-API order feed: JSON Lines → ``eleme_orders`` (SPEC §1.3).

Rules beyond the field list:

- ``orderId`` stays text (a JSON integer is taken as its digits; a JSON float is quarantined,
  its digits cannot be trusted);
- ``createdAt`` must carry a UTC offset; it is converted to the business time zone
  (``2024-05-01T12:03:11+08:00`` → 2024-05-01 12:03:11 local);
- amounts (``originalPrice``, ``totalPrice``, ``income``, ``refundAmount``) are JSON numbers in
  yuan read through their text (43.5 → 43.50, never via binary floating point), at most two
  decimals, never negative; ``totalPrice`` is required, a missing ``refundAmount`` is 0.00, a
  refund larger than ``totalPrice`` is quarantined;
- ``status`` SETTLED → settled, INVALID → cancelled, REFUND_SUCCESS → refunded;
- ``item_count`` = the sum of ``items[].quantity`` (null without ``items``);
- ``userId`` is hashed (eleme_user_id), ``memberPhone`` normalized and hashed when valid;
  ``phoneList``, ``consignee`` and ``address`` are never identifiers and are not stored.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

from assets.ingest.common import (
    ID,
    NUM,
    TEXT,
    Hashed,
    JsonField,
    ParsedFile,
    Recipe,
    Typer,
    parse_one,
)
from assets.ingest.hashing import Hasher

SOURCE = "eleme"
TABLE = "eleme_orders"

FIELDS = [
    JsonField("orderId", "order_id", ID),
    JsonField("shopId", "shop_id", TEXT),
    JsonField("createdAt", "created_at", TEXT),
    JsonField("userId", "user_id", ID, personal=True),
    JsonField("memberPhone", "member_phone", TEXT, personal=True),
    JsonField("originalPrice", "original", NUM),
    JsonField("totalPrice", "paid", NUM),
    JsonField("income", "income", NUM),
    JsonField("status", "status", TEXT),
    JsonField("refundAmount", "refund", NUM),
]
PERSONAL_KEYS = ["userId", "memberPhone", "phoneList", "consignee", "address"]

STATUSES = {"SETTLED": "settled", "INVALID": "cancelled", "REFUND_SUCCESS": "refunded"}


def _missing(key: str) -> str:
    return f"missing required field '{key}'"


def type_rows(t: Typer, tz: str) -> dict:
    """The typed columns of the feed rows (Typer collects what fails, and why)."""
    order_id = t.required("order_id", "orderId", missing=_missing("orderId"))
    order_ts = t.zoned_time("created_at", "createdAt", tz, missing=_missing("createdAt"))
    original = t.amount("original", "originalPrice", required=False, non_negative=True)
    paid = t.amount("paid", "totalPrice", required=True, non_negative=True, missing=_missing("totalPrice"))
    income = t.amount("income", "income", required=False, non_negative=True)
    refund = t.amount("refund", "refundAmount", required=False, non_negative=True, empty_is_zero=True)
    status = t.enum("status", "status", STATUSES, fold="upper", required=True, missing=_missing("status"))
    t.refund_within_paid(refund, paid, "refundAmount", "totalPrice")
    return {
        "order_id": order_id,
        "shop_id": t.cols["shop_id"],
        "order_ts_local": order_ts,
        "business_date": order_ts.cast("date32"),
        "user_id": t.cols["user_id"],
        "member_phone": t.cols["member_phone"],
        "original_amount_yuan": original,
        "paid_amount_yuan": paid,
        "income_yuan": income,
        "status": status,
        "refund_amount_yuan": refund,
        "item_count": t.cols["item_count"],
    }


HASHED = [Hashed("user_id", "eleme_user_id", "eleme_user_hash")]
RECIPE = Recipe(SOURCE, TABLE, type_rows, PERSONAL_KEYS, "member_phone", HASHED, json_fields=FIELDS,
                items=("items", "quantity"))


def parse_file(path: Path, delivery_date: date, hasher: Hasher, tz: str) -> ParsedFile:
    """Parse one Ele.me JSON Lines file. Raises UnreadableFileError when no line is readable."""
    return parse_one(RECIPE, path, delivery_date, hasher, tz)
