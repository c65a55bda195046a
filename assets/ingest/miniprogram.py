"""The brand's WeChat mini-program (小程序): JSON Lines → ``miniprogram_orders`` and
``miniprogram_members`` (SPEC §1.4).

One landing folder holds both kinds, told apart by name: ``orders_*.jsonl`` are orders,
``members_*.jsonl`` member profile events. Any other file there is not ours to guess at:
:func:`parse_file` (and the partition) report it as unreadable, naming it.

Orders:

- ``created_at`` is UTC (``Z``) and becomes local business time: 2024-05-01T17:30:00Z is
  2024-05-02 01:30:00, business date 2024-05-02;
- amounts stay whole fen (``*_fen``, int64); ``total_fen`` and ``paid_fen`` are required,
  a missing ``discount_fen``, ``refund_fen`` or ``points_redeemed`` is 0; none may be negative,
  and ``refund_fen`` may not exceed ``paid_fen``;
- ``status`` paid | cancelled | refunded and ``fulfillment`` pickup | delivery | dine_in
  (may be missing); anything else is quarantined;
- ``item_count`` = the sum of ``items[].qty``;
- ``openid``, ``unionid``, ``member_id`` and valid ``phone`` are hashed; ``member_id`` (the brand's
  own id) is also kept as it is.

Member events:

- ``event`` register | update | unsubscribe | delete, ``event_time`` UTC → local;
  ``member_id`` is required;
- ``birthday`` goes only to the restricted ``pii.member_profiles`` (register and update events);
  the raw table keeps its month; an impossible birthday is quarantined (without quoting it);
- ``gender`` F | M | U and ``register_source`` store_recruit | referral | fission | natural |
  returning may be missing, anything else is quarantined; ``consent_*`` must be true, false or
  missing; ``referrer_member_id`` is kept as it is (it is not this record's person).
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc

from assets.ingest.common import (
    BOOL,
    ID,
    INT,
    TEXT,
    Hashed,
    JsonField,
    ParsedFile,
    Recipe,
    Typer,
    UnreadableFileError,
    parse_one,
)
from assets.ingest.hashing import Hasher

ORDERS_SOURCE, ORDERS_TABLE = "miniprogram_orders", "miniprogram_orders"
MEMBERS_SOURCE, MEMBERS_TABLE = "miniprogram_members", "miniprogram_members"
ORDERS_PREFIX, MEMBERS_PREFIX, SUFFIX = "orders_", "members_", ".jsonl"


def kind_of(file_name: str) -> str | None:
    """``miniprogram_orders``, ``miniprogram_members`` or None for a name that is neither."""
    name = file_name.lower()
    if not name.endswith(SUFFIX):
        return None
    if name.startswith(ORDERS_PREFIX):
        return ORDERS_SOURCE
    if name.startswith(MEMBERS_PREFIX):
        return MEMBERS_SOURCE
    return None


def _missing(key: str) -> str:
    return f"missing required field '{key}'"


# ---------------------------------------------------------------------------------------- orders

ORDER_FIELDS = [
    JsonField("order_id", "order_id", ID),
    JsonField("created_at", "created_at", TEXT),
    JsonField("openid", "openid", ID, personal=True),
    JsonField("unionid", "unionid", ID, personal=True),
    JsonField("member_id", "member_id", ID),
    JsonField("phone", "phone", TEXT, personal=True),
    JsonField("store_code", "store_code", TEXT),
    JsonField("fulfillment", "fulfillment", TEXT),
    JsonField("total_fen", "total_fen", INT),
    JsonField("discount_fen", "discount_fen", INT),
    JsonField("paid_fen", "paid_fen", INT),
    JsonField("points_redeemed", "points_redeemed", INT),
    JsonField("coupon_id", "coupon_id", TEXT),
    JsonField("status", "status", TEXT),
    JsonField("refund_fen", "refund_fen", INT),
]
ORDER_PERSONAL_KEYS = ["openid", "unionid", "phone"]
ORDER_STATUSES = {"paid": "paid", "cancelled": "cancelled", "refunded": "refunded"}
FULFILLMENTS = {"pickup": "pickup", "delivery": "delivery", "dine_in": "dine_in"}


def type_orders(t: Typer, tz: str) -> dict:
    """The typed columns of the order rows (Typer collects what fails, and why)."""
    order_id = t.required("order_id", "order_id", missing=_missing("order_id"))
    order_ts = t.zoned_time("created_at", "created_at", tz, missing=_missing("created_at"))
    total = t.whole("total_fen", "total_fen", required=True, missing=_missing("total_fen"))
    discount = t.whole("discount_fen", "discount_fen", required=False, empty_is_zero=True)
    paid = t.whole("paid_fen", "paid_fen", required=True, missing=_missing("paid_fen"))
    refund = t.whole("refund_fen", "refund_fen", required=False, empty_is_zero=True)
    points = t.whole("points_redeemed", "points_redeemed", required=False, empty_is_zero=True)
    status = t.enum("status", "status", ORDER_STATUSES, required=True, missing=_missing("status"))
    fulfillment = t.enum("fulfillment", "fulfillment", FULFILLMENTS, required=False)
    t.refund_within_paid(refund, paid, "refund_fen", "paid_fen")
    return {
        "order_id": order_id,
        "order_ts_local": order_ts,
        "business_date": order_ts.cast("date32"),
        "openid": t.cols["openid"],
        "unionid": t.cols["unionid"],
        "member_id": t.cols["member_id"],
        "phone": t.cols["phone"],
        "store_code": t.cols["store_code"],
        "fulfillment": fulfillment,
        "item_count": t.cols["item_count"],
        "total_fen": total,
        "discount_fen": discount,
        "paid_fen": paid,
        "refund_fen": refund,
        "points_redeemed": points,
        "coupon_id": t.cols["coupon_id"],
        "status": status,
    }


ORDER_HASHED = [Hashed(c, c, f"{c}_hash") for c in ("openid", "unionid", "member_id")]
ORDERS_RECIPE = Recipe(ORDERS_SOURCE, ORDERS_TABLE, type_orders, ORDER_PERSONAL_KEYS, "phone", ORDER_HASHED,
                       json_fields=ORDER_FIELDS, items=("items", "qty"))


def parse_orders_file(path: Path, delivery_date: date, hasher: Hasher, tz: str) -> ParsedFile:
    """Parse one ``orders_*.jsonl``. Raises UnreadableFileError when no line is readable."""
    return parse_one(ORDERS_RECIPE, path, delivery_date, hasher, tz)


# --------------------------------------------------------------------------------------- members

MEMBER_FIELDS = [
    JsonField("event", "event", TEXT),
    JsonField("event_time", "event_time", TEXT),
    JsonField("member_id", "member_id", ID),
    JsonField("openid", "openid", ID, personal=True),
    JsonField("unionid", "unionid", ID, personal=True),
    JsonField("phone", "phone", TEXT, personal=True),
    JsonField("member_card_no", "member_card_no", ID, personal=True),
    JsonField("birthday", "birthday", TEXT, personal=True),
    JsonField("gender", "gender", TEXT),
    JsonField("register_store", "register_store", TEXT),
    JsonField("register_source", "register_source", TEXT),
    JsonField("referrer_member_id", "referrer_member_id", ID),
    JsonField("consent_sms", "consent_sms", BOOL),
    JsonField("consent_wecom", "consent_wecom", BOOL),
]
MEMBER_PERSONAL_KEYS = ["openid", "unionid", "phone", "member_card_no", "birthday"]
EVENTS = {"register": "register", "update": "update", "unsubscribe": "unsubscribe", "delete": "delete"}
GENDERS = {"F": "F", "M": "M", "U": "U"}
REGISTER_SOURCES = {
    s: s for s in ("store_recruit", "referral", "fission", "natural", "returning")
}
PROFILE_EVENTS = ("register", "update")  # the events that carry the full profile


def type_members(t: Typer, tz: str) -> dict:
    """The typed columns of the member events (Typer collects what fails, and why)."""
    event = t.enum("event", "event", EVENTS, required=True, missing=_missing("event"))
    event_ts = t.zoned_time("event_time", "event_time", tz, missing=_missing("event_time"))
    member_id = t.required("member_id", "member_id", missing=_missing("member_id"))
    # The birthday is personal: a bad one is reported without quoting it.
    birthday = t.date("birthday", "birthday is not a valid date (expected YYYY-MM-DD)")
    gender = t.enum("gender", "gender", GENDERS, fold="upper", required=False)
    register_source = t.enum("register_source", "register_source", REGISTER_SOURCES, required=False)
    return {
        "event": event,
        "event_ts_local": event_ts,
        "business_date": event_ts.cast("date32"),
        "member_id": member_id,
        "openid": t.cols["openid"],
        "unionid": t.cols["unionid"],
        "phone": t.cols["phone"],
        "member_card_no": t.cols["member_card_no"],
        "birthday": birthday,
        "birth_month": pc.month(birthday),
        "gender": gender,
        "register_store": t.cols["register_store"],
        "register_source": register_source,
        "referrer_member_id": t.cols["referrer_member_id"],
        "consent_sms": t.cols["consent_sms"],
        "consent_wecom": t.cols["consent_wecom"],
    }


MEMBER_HASHED = [
    *(Hashed(c, c, f"{c}_hash") for c in ("member_id", "openid", "unionid")),
    Hashed("member_card_no", "member_card_no", "member_card_hash"),
]
# The birthday of profile events goes to the restricted pii.member_profiles.
MEMBERS_RECIPE = Recipe(MEMBERS_SOURCE, MEMBERS_TABLE, type_members, MEMBER_PERSONAL_KEYS, "phone", MEMBER_HASHED,
                        json_fields=MEMBER_FIELDS, profiles=lambda good: pc.is_in(good["event"], pa.array(PROFILE_EVENTS)))


def parse_members_file(path: Path, delivery_date: date, hasher: Hasher, tz: str) -> ParsedFile:
    """Parse one ``members_*.jsonl``. Raises UnreadableFileError when no line is readable."""
    return parse_one(MEMBERS_RECIPE, path, delivery_date, hasher, tz)


def parse_file(path: Path, delivery_date: date, hasher: Hasher, tz: str) -> ParsedFile:
    """Parse a mini-program file by its name: ``orders_*.jsonl`` or ``members_*.jsonl``."""
    path = Path(path)
    kind = kind_of(path.name)
    if kind == ORDERS_SOURCE:
        return parse_orders_file(path, delivery_date, hasher, tz)
    if kind == MEMBERS_SOURCE:
        return parse_members_file(path, delivery_date, hasher, tz)
    raise UnreadableFileError(
        f"{'/'.join(path.parts[-3:])}: not a mini-program file (expected orders_*.jsonl or "
        "members_*.jsonl); rename it or move it out of the landing folder"
    )
