"""Store cash registers (门店收银): CSV → ``pos_lines`` (SPEC §1.1).

One row per register line (a SALE or a REFUND). Rules beyond the column list:

- encoding UTF-8, UTF-8 with BOM or GB18030 (older registers); header names in any order and
  case, extra columns ignored, a missing column makes the file unreadable;
- ``order_type`` SALE | REFUND (case-insensitive); a SALE with a negative ``paid_amount`` or a
  REFUND with a positive one is quarantined; a REFUND's ``ref_order_no`` may be empty or name
  an unknown sale (kept; resolved downstream);
- ``order_time`` local time ``YYYY-MM-DD HH:MM:SS`` or ``YYYY/MM/DD HH:MM`` (also with or
  without seconds in either form);
- ``pay_method`` in English or Chinese (微信, 支付宝, 现金, 银联, 会员卡, 储值) → English;
  anything else is quarantined;
- amounts: yuan, at most two decimals; an empty ``discount_amount`` is 0.00;
- ``member_card_no``, ``member_phone`` (valid phones only) and ``pay_openid`` are hashed; the
  raw values go to ``pii.identifiers`` only.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pyarrow.compute as pc

from assets.ingest.common import Hashed, ParsedFile, Recipe, Typer, parse_one
from assets.ingest.hashing import Hasher

SOURCE = "pos"
TABLE = "pos_lines"

COLUMNS = [
    "order_no",
    "store_code",
    "order_type",
    "ref_order_no",
    "order_time",
    "member_card_no",
    "member_phone",
    "pay_method",
    "pay_openid",
    "gross_amount",
    "discount_amount",
    "paid_amount",
]
PERSONAL_COLUMNS = ["member_card_no", "member_phone", "pay_openid"]

PAY_METHODS = {
    "wechat": "wechat",
    "微信": "wechat",
    "微信支付": "wechat",
    "alipay": "alipay",
    "支付宝": "alipay",
    "cash": "cash",
    "现金": "cash",
    "unionpay": "unionpay",
    "银联": "unionpay",
    "银联卡": "unionpay",
    "card": "card",
    "会员卡": "card",
    "stored_value": "stored_value",
    "储值": "stored_value",
    "储值卡": "stored_value",
}
ORDER_TYPES = {"SALE": "SALE", "REFUND": "REFUND"}

PAY_METHODS_EXPECTED = "wechat, alipay, cash, unionpay, card, stored_value or the same in Chinese"


def type_rows(t: Typer) -> dict:
    """The typed columns of the register lines (Typer collects what fails, and why)."""
    t.required("order_no", "order_no")
    t.required("store_code", "store_code")
    order_type = t.enum("order_type", "order_type", ORDER_TYPES, fold="upper", required=True)
    order_ts = t.local_time("order_time", "order_time")
    pay_method = t.enum("pay_method", "pay_method", PAY_METHODS, required=True, expected=PAY_METHODS_EXPECTED)
    gross = t.amount("gross_amount", "gross_amount", required=True)
    discount = t.amount("discount_amount", "discount_amount", required=False, empty_is_zero=True)
    paid = t.amount("paid_amount", "paid_amount", required=True)
    sale, refund = pc.equal(order_type, "SALE"), pc.equal(order_type, "REFUND")
    t.fail(pc.and_(sale, pc.less(paid, 0)), lambda i: "SALE with a negative paid_amount")
    t.fail(pc.and_(refund, pc.greater(paid, 0)), lambda i: "REFUND with a positive paid_amount")
    return {
        "store_code": t.cols["store_code"],
        "order_no": t.cols["order_no"],
        "order_type": order_type,
        "ref_order_no": t.cols["ref_order_no"],
        "order_ts_local": order_ts,
        "business_date": order_ts.cast("date32"),
        "member_card_no": t.cols["member_card_no"],
        "member_phone": t.cols["member_phone"],
        "pay_method": pay_method,
        "pay_openid": t.cols["pay_openid"],
        "gross_amount_yuan": gross,
        "discount_amount_yuan": discount,
        "paid_amount_yuan": paid,
    }


HASHED = [Hashed("member_card_no", "member_card_no", "member_card_hash"), Hashed("pay_openid", "openid", "openid_hash")]
RECIPE = Recipe(SOURCE, TABLE, lambda t, tz: type_rows(t), PERSONAL_COLUMNS, "member_phone", HASHED,
                csv_columns=[(c, c) for c in COLUMNS])


def parse_file(path: Path, delivery_date: date, hasher: Hasher, tz: str) -> ParsedFile:
    """Parse one register CSV. Raises UnreadableFileError when nothing of it can be read."""
    return parse_one(RECIPE, path, delivery_date, hasher, tz)
