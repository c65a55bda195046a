"""The raw layer contract: one Parquet table per source entity, written by ingestion, read by dbt.

Layout: ``<raw>/<table>/<YYYY-MM-DD delivery date>/<file name>.parquet``, one Parquet file per
landing file, plus ``<raw>/<table>/_empty/empty.parquet`` (no rows, full schema) so that a table
with no delivery yet still reads. The same layout holds ``quarantine`` and ``file_loads``;
``pii`` tables live under the separate restricted ``<pii>`` directory.

Every order/event table starts with the lineage columns ``delivery_date, file_name, line_no``:
``line_no`` is the physical line in the landing file (CSV header = line 1, first JSONL line = 1).
The latest version of a record is the last by (delivery_date, file_name, line_no) — SPEC §11.

Types: money is ``decimal(18, 2)`` yuan (``*_yuan``) or ``int64`` fen (``*_fen``); times are
naive local Asia/Shanghai timestamps (``*_ts_local``) and ``business_date`` is their date;
identifiers are HMAC hashes (``*_hash``, see ``hashing.py``); masked phones (``*_masked``) are
display-only.
"""

from __future__ import annotations

import pyarrow as pa

MONEY = pa.decimal128(18, 2)

_LINEAGE = [
    ("delivery_date", pa.date32()),
    ("file_name", pa.string()),
    ("line_no", pa.int64()),
]

RAW_TABLES: dict[str, pa.Schema] = {
    # pos: one row per register line (a SALE or a REFUND); a REFUND names its sale in ref_order_no.
    "pos_lines": pa.schema(
        _LINEAGE
        + [
            ("store_code", pa.string()),
            ("order_no", pa.string()),
            ("order_type", pa.string()),  # SALE | REFUND
            ("ref_order_no", pa.string()),
            ("order_ts_local", pa.timestamp("us")),
            ("business_date", pa.date32()),
            ("member_card_hash", pa.string()),
            ("phone_hash", pa.string()),
            ("phone_masked", pa.string()),
            ("phone_status", pa.string()),  # valid | empty | masked | privacy | invalid
            ("pay_method", pa.string()),  # wechat | alipay | cash | unionpay | card | stored_value
            ("openid_hash", pa.string()),
            ("gross_amount_yuan", MONEY),
            ("discount_amount_yuan", MONEY),
            ("paid_amount_yuan", MONEY),
        ]
    ),
    "meituan_orders": pa.schema(
        _LINEAGE
        + [
            ("order_id", pa.string()),  # 18-19 digits, never a float
            ("shop_id", pa.string()),
            ("order_ts_local", pa.timestamp("us")),
            ("business_date", pa.date32()),
            ("meituan_user_hash", pa.string()),
            ("phone_hash", pa.string()),  # 会员手机号 (linked member), the only phone that identifies
            ("phone_masked", pa.string()),
            ("phone_status", pa.string()),
            ("original_amount_yuan", MONEY),  # 订单原价
            ("paid_amount_yuan", MONEY),  # 顾客实付 (member spend)
            ("merchant_income_yuan", MONEY),  # 商家实收
            ("platform_subsidy_yuan", MONEY),
            ("merchant_subsidy_yuan", MONEY),
            ("delivery_fee_yuan", MONEY),
            ("commission_yuan", MONEY),
            ("status", pa.string()),  # completed | cancelled | refunded | partially_refunded
            ("refund_amount_yuan", MONEY),
        ]
    ),
    "eleme_orders": pa.schema(
        _LINEAGE
        + [
            ("order_id", pa.string()),
            ("shop_id", pa.string()),
            ("order_ts_local", pa.timestamp("us")),
            ("business_date", pa.date32()),
            ("eleme_user_hash", pa.string()),
            ("phone_hash", pa.string()),  # memberPhone
            ("phone_masked", pa.string()),
            ("phone_status", pa.string()),
            ("original_amount_yuan", MONEY),
            ("paid_amount_yuan", MONEY),  # totalPrice
            ("income_yuan", MONEY),
            ("status", pa.string()),  # settled | cancelled | refunded (SETTLED/INVALID/REFUND_SUCCESS)
            ("refund_amount_yuan", MONEY),
            ("item_count", pa.int64()),
        ]
    ),
    "miniprogram_orders": pa.schema(
        _LINEAGE
        + [
            ("order_id", pa.string()),
            ("order_ts_local", pa.timestamp("us")),
            ("business_date", pa.date32()),
            ("openid_hash", pa.string()),
            ("unionid_hash", pa.string()),
            ("member_id", pa.string()),  # the brand's own id: may appear as it is
            ("member_id_hash", pa.string()),
            ("phone_hash", pa.string()),
            ("phone_masked", pa.string()),
            ("phone_status", pa.string()),
            ("store_code", pa.string()),
            ("fulfillment", pa.string()),
            ("item_count", pa.int64()),
            ("total_fen", pa.int64()),
            ("discount_fen", pa.int64()),
            ("paid_fen", pa.int64()),
            ("refund_fen", pa.int64()),
            ("points_redeemed", pa.int64()),
            ("coupon_id", pa.string()),
            ("status", pa.string()),  # paid | cancelled | refunded
        ]
    ),
    "miniprogram_members": pa.schema(
        _LINEAGE
        + [
            ("event", pa.string()),  # register | update | unsubscribe | delete
            ("event_ts_local", pa.timestamp("us")),
            ("business_date", pa.date32()),
            ("member_id", pa.string()),
            ("member_id_hash", pa.string()),
            ("openid_hash", pa.string()),
            ("unionid_hash", pa.string()),
            ("phone_hash", pa.string()),
            ("phone_masked", pa.string()),
            ("phone_status", pa.string()),
            ("member_card_hash", pa.string()),
            ("birth_month", pa.int64()),  # the birthday itself is personal: only its month here
            ("gender", pa.string()),
            ("register_store", pa.string()),
            ("register_source", pa.string()),
            ("referrer_member_id", pa.string()),
            ("consent_sms", pa.bool_()),
            ("consent_wecom", pa.bool_()),
        ]
    ),
    # quality: every row that broke the contract, with a reason a person understands.
    "quarantine": pa.schema(
        [
            ("source", pa.string()),
            ("delivery_date", pa.date32()),
            ("file_name", pa.string()),
            ("line_no", pa.int64()),
            ("raw", pa.string()),
            ("reason", pa.string()),
        ]
    ),
    # quality: one row per landing file and delivery; rows_read = rows_loaded + rows_quarantined.
    "file_loads": pa.schema(
        [
            ("source", pa.string()),
            ("delivery_date", pa.date32()),
            ("file_name", pa.string()),
            ("sha256", pa.string()),
            ("encoding", pa.string()),
            ("rows_read", pa.int64()),
            ("rows_loaded", pa.int64()),
            ("rows_quarantined", pa.int64()),
            ("loaded_at", pa.timestamp("us", tz="UTC")),
        ]
    ),
}

# Restricted: raw personal values, keyed by their hash. Lives under <pii>, never under <raw>.
PII_TABLES: dict[str, pa.Schema] = {
    "identifiers": pa.schema(
        [
            ("identifier_type", pa.string()),
            ("identifier_hash", pa.string()),
            ("value", pa.string()),  # normalized (phones: 11 digits)
            ("source", pa.string()),
            ("delivery_date", pa.date32()),
            ("file_name", pa.string()),
        ]
    ),
    "member_profiles": pa.schema(
        [
            ("member_id", pa.string()),
            ("delivery_date", pa.date32()),
            ("file_name", pa.string()),
            ("line_no", pa.int64()),
            ("birthday", pa.date32()),
        ]
    ),
}

# Which raw table each landing source feeds. miniprogram holds two kinds of file (by prefix).
SOURCE_TABLES: dict[str, str] = {
    "pos": "pos_lines",
    "meituan": "meituan_orders",
    "eleme": "eleme_orders",
    "miniprogram_orders": "miniprogram_orders",
    "miniprogram_members": "miniprogram_members",
}
