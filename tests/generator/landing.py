"""A small, independent reader of a generated landing zone: decodes every file, checks every line
against the SPEC §1 contract, and replays deliveries (SPEC §11) to get the final version of orders.

It exists only to check the generator; it shares no code with it.
"""

from __future__ import annotations

import csv
import json
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal, InvalidOperation
from pathlib import Path

BOM = b"\xef\xbb\xbf"
POS_COLUMNS = ["order_no", "store_code", "order_type", "ref_order_no", "order_time", "member_card_no",
               "member_phone", "pay_method", "pay_openid", "gross_amount", "discount_amount", "paid_amount"]
MEITUAN_COLUMNS = ["订单号", "门店ID", "下单时间", "用户ID", "收货人", "收货人电话", "会员手机号", "收货地址", "订单原价",
                   "顾客实付", "商家实收", "平台补贴", "商家补贴", "配送费", "佣金", "订单状态", "退款金额"]
BLOCKLIST = {"13800000000", "13800138000", "13888888888", "18888888888", "13900000000"}
FILE_NAME = {
    "pos": re.compile(r"^[A-Z]{2}\d{3}_(\d{8})\.csv$"),
    "meituan": re.compile(r"^meituan_orders_(\d{8})\.csv$"),
    "eleme": re.compile(r"^eleme_orders_(\d{8})\.jsonl$"),
    "miniprogram": re.compile(r"^(?:orders|members)_(\d{8})\.jsonl$"),
}


@dataclass
class Line:
    source: str
    delivery_date: str
    file_name: str
    line_no: int
    raw: str
    rec: dict | None  # the parsed record when the line is well formed
    defect: str | None  # why it is not


@dataclass
class File:
    source: str
    delivery_date: str
    name: str
    data: bytes
    encoding: str
    lines: list[Line]


def decode(data: bytes) -> tuple[str, str]:
    if data.startswith(BOM):
        return data[len(BOM):].decode("utf-8"), "utf-8-sig"
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        return data.decode("gb18030"), "gb18030"


def _time(value: str, formats: tuple[str, ...]) -> datetime | None:
    for fmt in formats:
        try:
            return datetime.strptime(value, fmt)
        except ValueError:
            pass
    return None


def _money(value: str) -> bool:
    try:
        return Decimal(value).as_tuple().exponent == -2
    except InvalidOperation:
        return False


def _number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def check_pos(fields: list[str]) -> tuple[dict | None, str | None]:
    if len(fields) != len(POS_COLUMNS):
        return None, "wrong column count"
    r = dict(zip(POS_COLUMNS, fields))
    if not r["order_no"]:
        return r, "missing order id"
    if r["order_type"] not in ("SALE", "REFUND"):
        return r, "unknown status"
    if _time(r["order_time"], ("%Y-%m-%d %H:%M:%S", "%Y/%m/%d %H:%M")) is None:
        return r, "impossible order time"
    if not all(_money(r[c]) for c in ("gross_amount", "discount_amount", "paid_amount")):
        return r, "unparseable amount 'ten'"
    return r, None


def check_meituan(fields: list[str]) -> tuple[dict | None, str | None]:
    if len(fields) != len(MEITUAN_COLUMNS):
        return None, "wrong column count"
    r = dict(zip(MEITUAN_COLUMNS, fields))
    if not r["订单号"]:
        return r, "missing order id"
    if r["订单状态"] not in ("已完成", "已取消", "已退款", "部分退款"):
        return r, "unknown status"
    if _time(r["下单时间"], ("%Y-%m-%d %H:%M:%S",)) is None:
        return r, "impossible order time"
    if not all(_money(r[c]) for c in MEITUAN_COLUMNS[8:15] + ["退款金额"]):
        return r, "unparseable amount 'ten'"
    return r, None


def _iso(value, suffix: str) -> datetime | None:
    if not isinstance(value, str) or not value.endswith(suffix):
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None


def check_eleme(r: dict) -> str | None:
    if not isinstance(r.get("orderId"), str) or not r["orderId"]:
        return "missing order id"
    if r["status"] not in ("SETTLED", "INVALID", "REFUND_SUCCESS"):
        return "unknown status"
    if _iso(r["createdAt"], "+08:00") is None:
        return "impossible order time"
    if not all(_number(r[k]) for k in ("originalPrice", "totalPrice", "income", "refundAmount")):
        return "unparseable amount 'ten'"
    return None


def check_mp_order(r: dict) -> str | None:
    if not isinstance(r.get("order_id"), str) or not r["order_id"]:
        return "missing order id"
    if r["status"] not in ("paid", "cancelled", "refunded"):
        return "unknown status"
    if _iso(r["created_at"], "Z") is None:
        return "impossible order time"
    fen = ("total_fen", "discount_fen", "paid_fen", "refund_fen", "points_redeemed")
    if not all(isinstance(r[k], int) for k in fen):
        return "unparseable amount 'ten'"
    return None


def check_member(r: dict) -> str | None:
    if r["event"] not in ("register", "update", "unsubscribe", "delete"):
        return "unknown event type"
    return None


def _csv_lines(source: str, date: str, name: str, text: str, check) -> list[Line]:
    rows = text.split("\n")
    assert rows[-1] == "", f"{name}: no newline at the end"
    out = []
    for i, raw in enumerate(rows[1:-1], start=2):
        fields = next(csv.reader([raw]))
        rec, defect = check(fields)
        out.append(Line(source, date, name, i, raw, rec if defect is None else None, defect))
    return out


def _json_lines(source: str, date: str, name: str, text: str, check) -> list[Line]:
    rows = text.split("\n")
    assert rows[-1] == "", f"{name}: no newline at the end"
    out = []
    for i, raw in enumerate(rows[:-1], start=1):
        try:
            rec = json.loads(raw)
        except json.JSONDecodeError:
            out.append(Line(source, date, name, i, raw, None, "invalid JSON line"))
            continue
        defect = check(rec)
        out.append(Line(source, date, name, i, raw, rec if defect is None else None, defect))
    return out


def read_landing(landing: Path) -> list[File]:
    files = []
    for path in sorted(landing.glob("*/*/*")):
        source, date, name = path.parts[-3], path.parts[-2], path.name
        data = path.read_bytes()
        text, encoding = decode(data)
        if source == "pos":
            header = text.split("\n", 1)[0]
            assert header.split(",") == POS_COLUMNS, path
            lines = _csv_lines(source, date, name, text, check_pos)
        elif source == "meituan":
            assert text.split("\n", 1)[0].split(",") == MEITUAN_COLUMNS, path
            lines = _csv_lines(source, date, name, text, check_meituan)
        elif source == "eleme":
            lines = _json_lines(source, date, name, text, check_eleme)
        elif name.startswith("orders_"):
            lines = _json_lines(source, date, name, text, check_mp_order)
        else:
            lines = _json_lines(source, date, name, text, check_member)
        files.append(File(source, date, name, data, encoding, lines))
    return files


def deliveries(files: list[File], source: str, prefix: str = "") -> list[File]:
    """The files of a source in re-delivery order (SPEC §11), without identical re-deliveries."""
    seen: dict[str, bytes] = {}
    out = []
    for f in sorted((f for f in files if f.source == source and f.name.startswith(prefix)),
                    key=lambda f: (f.delivery_date, f.name)):
        if seen.get(f.name) != f.data:
            out.append(f)
        seen[f.name] = f.data
    return out


def delivered_lines(files: list[File], source: str, prefix: str = "") -> list[Line]:
    """Every well-formed line that counts as delivered, in re-delivery order."""
    return [ln for f in deliveries(files, source, prefix) for ln in f.lines if ln.rec is not None]


def final_lines(files: list[File], source: str, prefix: str = "") -> list[Line]:
    """Well-formed lines of the latest delivered version of every file, in re-delivery order:
    an identical re-delivered file is skipped, a changed one replaces the earlier version's rows."""
    latest: dict[str, File] = {}
    for f in deliveries(files, source, prefix):
        latest[f.name] = f
    lines = [ln for f in latest.values() for ln in f.lines if ln.rec is not None]
    return sorted(lines, key=lambda ln: (ln.delivery_date, ln.file_name, ln.line_no))


def latest_by_key(lines: list[Line], key) -> dict:
    out: dict = {}
    for ln in lines:
        out[key(ln.rec)] = ln
    return out


def normalize_phone(value: str) -> str | None:
    """SPEC §11 phone normalization: 11 digits or None."""
    v = re.sub(r"[\s\-()+]", "", value or "")
    if len(v) == 13 and v.startswith("86"):
        v = v[2:]
    elif len(v) == 15 and v.startswith("0086"):
        v = v[4:]
    return v if re.fullmatch(r"1[3-9]\d{9}", v) else None


def business_date(ln: Line) -> str:
    """Local (Asia/Shanghai) date of the record's time."""
    r = ln.rec
    if ln.source == "pos":
        return _time(r["order_time"], ("%Y-%m-%d %H:%M:%S", "%Y/%m/%d %H:%M")).date().isoformat()
    if ln.source == "meituan":
        return r["下单时间"][:10]
    if ln.source == "eleme":
        return r["createdAt"][:10]
    when = r.get("created_at") or r.get("event_time")
    return (_iso(when, "Z").replace(tzinfo=None) + timedelta(hours=8)).date().isoformat()


def days_between(a: str, b: str) -> int:
    return (datetime.fromisoformat(b) - datetime.fromisoformat(a)).days
