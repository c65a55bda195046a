"""Random order histories for the facts models, and a tiny warehouse to run them on.

The facts models read only ``marts.orders`` and ``marts.members``; these helpers write those two
tables straight into a temporary DuckDB file so the facts can be built and compared with
:mod:`tests.facts.reference` without the ingestion and OneID stages.
"""

from __future__ import annotations

import random
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import duckdb

from tests.facts.reference import Member, Order

SOURCES = ("pos", "meituan", "eleme", "miniprogram")

ORDERS_DDL = """
create table marts.orders (
    order_key varchar, source varchar, store_code varchar, order_id varchar,
    order_ts_local timestamp, business_date date, order_hour integer,
    gross_amount_yuan decimal(18, 2), discount_amount_yuan decimal(18, 2),
    paid_amount_yuan decimal(18, 2), refund_amount_yuan decimal(18, 2),
    net_amount_yuan decimal(18, 2), order_status varchar, is_valid boolean,
    points_redeemed integer, one_id varchar
)"""

MEMBERS_DDL = """
create table marts.members (
    one_id varchar, member_id varchar, registration_date date, consent_sms boolean,
    consent_wecom boolean, phone_hash varchar, phone_masked varchar, has_valid_phone boolean,
    unionid_hash varchar, gender varchar, register_store varchar, register_source varchar
)"""


def random_history(seed: int, as_of: date, persons: int = 40, days: int = 800):
    """Members and orders over ``days`` days ending 20 days after ``as_of`` (late rows excluded)."""
    rng = random.Random(seed)
    start = as_of - timedelta(days=days - 20)
    members: list[Member] = []
    orders: list[Order] = []
    for p in range(persons):
        one_id = f"p{p:03d}"
        if rng.random() < 0.75:
            reg = start + timedelta(days=rng.randrange(days)) if rng.random() < 0.9 else None
            members.append(Member(one_id, f"M{p:05d}", reg))
        heavy = rng.random() < 0.3
        for i in range(rng.randrange(0, 40 if heavy else 12)):
            day = start + timedelta(days=rng.randrange(days))
            ts = datetime.combine(day, datetime.min.time()) + timedelta(
                hours=rng.choice([8, 9, 12, 12, 13, 18, 21]), minutes=rng.randrange(60))
            source = rng.choice(SOURCES)
            gross = Decimal(rng.choice([rng.randint(5, 80), rng.randint(100, 1500)])) + Decimal(
                rng.randrange(100)) / 100
            discount = (gross * Decimal(rng.choice([0, 0, 5, 10])) / 100).quantize(Decimal("0.01"))
            paid = gross - discount
            status = rng.choices(
                ["completed", "cancelled", "refunded", "partially_refunded"], [80, 6, 6, 8])[0]
            refund = {"completed": Decimal(0), "cancelled": Decimal(0), "refunded": paid,
                      "partially_refunded": (paid / 3).quantize(Decimal("0.01"))}[status]
            net = Decimal(0) if status == "cancelled" else paid - refund
            redeemed = 0
            if source == "miniprogram" and status != "cancelled" and rng.random() < 0.5:
                redeemed = rng.choice([10, 30, 50, 120, 400])
            if status in ("cancelled", "refunded"):
                redeemed = 0  # marts.orders carries points_redeemed for paid orders only
            orders.append(Order(
                order_key=f"{source}:{one_id}:{i}", source=source,
                store_code=rng.choice(["S001", "S002", "S003", None]), order_ts_local=ts,
                gross_amount_yuan=gross, discount_amount_yuan=discount, net_amount_yuan=net,
                order_status=status, is_valid=status not in ("cancelled", "refunded") and net > 0,
                points_redeemed=redeemed, one_id=one_id if rng.random() < 0.97 else None))
    # a newcomer (first order within the last 30 days) and a prospect, so every lifecycle occurs
    members.append(Member("pnew", "M99998", as_of - timedelta(days=40)))
    members.append(Member("pzero", "M99999", as_of - timedelta(days=3)))
    orders.append(Order("miniprogram:pnew:0", "miniprogram", "S001",
                        datetime.combine(as_of - timedelta(days=3), datetime.min.time())
                        + timedelta(hours=15), Decimal("35.00"), Decimal("0.00"),
                        Decimal("35.00"), "completed", True, 0, "pnew"))
    for i in range(15):  # anonymous cash sales
        day = start + timedelta(days=rng.randrange(days))
        orders.append(Order(f"pos:anon:{i}", "pos", "S001",
                            datetime.combine(day, datetime.min.time()) + timedelta(hours=10),
                            Decimal("30.00"), Decimal("0.00"), Decimal("30.00"), "completed",
                            True, 0, None))
    return members, orders


def write_warehouse(path: Path, members: list[Member], orders: list[Order]) -> None:
    con = duckdb.connect(str(path))
    try:
        con.execute("create schema if not exists marts")
        con.execute("drop table if exists marts.orders")
        con.execute("drop view if exists marts.orders")
        con.execute("drop table if exists marts.members")
        con.execute("drop view if exists marts.members")
        con.execute(ORDERS_DDL)
        con.execute(MEMBERS_DDL)
        con.executemany(
            "insert into marts.orders values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [(o.order_key, o.source, o.store_code, o.order_key, o.order_ts_local, o.business_date,
              o.order_ts_local.hour, o.gross_amount_yuan, o.discount_amount_yuan,
              o.gross_amount_yuan - o.discount_amount_yuan,
              o.gross_amount_yuan - o.discount_amount_yuan - o.net_amount_yuan, o.net_amount_yuan,
              o.order_status, o.is_valid, o.points_redeemed, o.one_id) for o in orders])
        con.executemany(
            "insert into marts.members (one_id, member_id, registration_date) values (?, ?, ?)",
            [(m.one_id, m.member_id, m.registration_date) for m in members])
    finally:
        con.close()


def read_table(path: Path, sql: str) -> list[dict]:
    con = duckdb.connect(str(path), read_only=True)
    try:
        cur = con.execute(sql)
        names = [c[0] for c in cur.description]
        return [dict(zip(names, row)) for row in cur.fetchall()]
    finally:
        con.close()
