"""A small world of members, orders and profile events for the audience tests, written as raw
Parquet (tests/support/raw_builder.py) so that every dbt stage — staging, OneID, facts,
audiences — runs on it as in production.

Named persons carry the cases of SPEC §7 (``named_persons`` and the tests); a seeded random crowd of
members and non-member buyers gives the RFM population and the FIFO points something to chew on.
Every row is delivered on its business date, except the history before ``HISTORY_DELIVERED``,
which arrives in one delivery that day (before any audience day), so a build for a day D sees
exactly the data of D.
"""

from __future__ import annotations

import random
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

from assets.ingest.hashing import hash_identifier
from orchestration.settings import DEV_HMAC_KEY
from tests.support.raw_builder import write_raw

HISTORY_DELIVERED = date(2024, 2, 29)
LAST_DAY = date(2024, 6, 15)


def h(identifier_type: str, value: str) -> str:
    return hash_identifier(DEV_HMAC_KEY, identifier_type, value)


def at(day: date, hour: int, minute: int = 0) -> datetime:
    """Local time on a business day."""
    return datetime.combine(day, datetime.min.time()) + timedelta(hours=hour, minutes=minute)


@dataclass
class World:
    """Rows per raw table and delivery date; ``write`` puts them under ``raw``."""

    rows: dict[tuple[str, date], list[dict]] = field(default_factory=lambda: defaultdict(list))
    phones: dict[str, str] = field(default_factory=dict)
    _orders: int = 0

    @staticmethod
    def delivery(day: date) -> date:
        return max(day, HISTORY_DELIVERED)

    def phone(self, key: str) -> str:
        if key not in self.phones:
            self.phones[key] = f"139{len(self.phones) + 1:08d}"
        return self.phones[key]

    # ---- member profile events -------------------------------------------------------------
    def member_event(
        self,
        key: str,
        event: str,
        day: date,
        *,
        phone: bool = True,
        unionid: bool = False,
        consent_sms: bool = True,
        consent_wecom: bool = False,
        hour: int = 10,
    ) -> None:
        number = self.phone(key)
        row = {
            "event": event,
            "event_ts_local": at(day, hour),
            "member_id": f"M-{key}",
            "member_id_hash": h("member_id", f"M-{key}"),
            "openid_hash": h("openid", f"o-{key}"),
            "unionid_hash": h("unionid", f"u-{key}") if unionid else None,
            "phone_hash": h("phone", number) if phone else None,
            "phone_masked": f"{number[:3]}****{number[-4:]}" if phone else None,
            "phone_status": "valid" if phone else "empty",
            "gender": "U",
            "register_store": "S001",
            "register_source": "natural",
            "consent_sms": consent_sms if event in ("register", "update") else None,
            "consent_wecom": consent_wecom if event in ("register", "update") else None,
        }
        self.rows[("miniprogram_members", self.delivery(day))].append(row)

    # ---- orders -----------------------------------------------------------------------------
    def pos_order(self, key: str, day: date, yuan: str | Decimal, hour: int = 12) -> None:
        self._orders += 1
        amount = Decimal(str(yuan))
        self.rows[("pos_lines", self.delivery(day))].append({
            "store_code": "S001",
            "order_no": f"P{self._orders:06d}",
            "order_type": "SALE",
            "order_ts_local": at(day, hour, 5),
            "phone_hash": h("phone", self.phone(key)),
            "phone_status": "valid",
            "pay_method": "cash",
            "gross_amount_yuan": amount,
            "discount_amount_yuan": Decimal("0.00"),
            "paid_amount_yuan": amount,
        })

    def mini_order(
        self,
        key: str,
        day: date,
        paid_fen: int,
        *,
        points_redeemed: int = 0,
        status: str = "paid",
        hour: int = 15,
        by_phone: bool = True,
    ) -> None:
        """A mini-program order of member ``key`` (linked by member_id, phone and/or unionid)."""
        self._orders += 1
        self.rows[("miniprogram_orders", self.delivery(day))].append({
            "order_id": f"W{self._orders:06d}",
            "order_ts_local": at(day, hour, 30),
            "openid_hash": h("openid", f"o-{key}"),
            "unionid_hash": None if by_phone else h("unionid", f"u-{key}"),
            "member_id": f"M-{key}",
            "member_id_hash": h("member_id", f"M-{key}"),
            "phone_hash": h("phone", self.phone(key)) if by_phone else None,
            "phone_status": "valid" if by_phone else "empty",
            "store_code": "S001",
            "fulfillment": "pickup",
            "item_count": 1,
            "total_fen": paid_fen,
            "discount_fen": 0,
            "paid_fen": paid_fen,
            "refund_fen": 0,
            "points_redeemed": points_redeemed,
            "status": status,
        })

    def write(self, raw: Path) -> None:
        for (table, day), rows in sorted(self.rows.items()):
            write_raw(raw, table, rows, delivery_date=day.isoformat(),
                      file_name=f"{table}_{day:%Y%m%d}.jsonl")


def d(text: str) -> date:
    return date.fromisoformat(text)


def named_persons(w: World) -> None:
    """The persons the tests name. Every date below is explained where a test asserts it."""
    # dormant: last order 2024-01-10, dormant 03-11 … 07-08: reappears every 31 days
    w.member_event("dormant", "register", d("2023-06-01"))
    w.pos_order("dormant", d("2023-09-01"), "100.00", hour=9)
    w.pos_order("dormant", d("2024-01-10"), "80.00", hour=9)

    # woken: dormant on the first day of the range, wakes up with an order on 03-15, dormant
    # again from 05-15 (03-15 + 61)
    w.member_event("woken", "register", d("2023-06-01"))
    w.pos_order("woken", d("2023-12-01"), "60.00")
    w.pos_order("woken", d("2024-03-15"), "45.00")

    # split: dormant from 03-06 (01-05 + 61), unsubscribes on 03-10, consents again on 03-20:
    # eligible again at once, but the cooldown still runs from the 03-06 emission
    w.member_event("split", "register", d("2023-06-01"))
    w.pos_order("split", d("2024-01-05"), "70.00")
    w.member_event("split", "unsubscribe", d("2024-03-10"))
    w.member_event("split", "update", d("2024-03-20"), consent_sms=True)

    # resubscribed: unsubscribed before its dormancy (from 03-03), consents again on 06-14
    w.member_event("resubscribed", "register", d("2023-06-01"))
    w.pos_order("resubscribed", d("2024-01-02"), "66.00")
    w.member_event("resubscribed", "unsubscribe", d("2024-02-01"))
    w.member_event("resubscribed", "update", d("2024-06-14"), consent_sms=True)

    # late_register: a buyer dormant since 02-19 (12-20 + 61) who registers on 04-01
    w.pos_order("late_register", d("2023-12-20"), "52.00")
    w.member_event("late_register", "register", d("2024-04-01"))

    # no_consent: dormant, phone and unionid, but consents to nothing
    w.member_event("no_consent", "register", d("2023-06-01"), unionid=True,
                   consent_sms=False, consent_wecom=False)
    w.pos_order("no_consent", d("2024-01-10"), "90.00")

    # wecom: no phone in the profile, a unionid and WeCom consent; orders in the mini-program
    w.member_event("wecom", "register", d("2023-06-01"), phone=False, unionid=True,
                   consent_sms=True, consent_wecom=True)
    w.mini_order("wecom", d("2024-02-10"), 3800, by_phone=False)

    # deleted: dormant from 03-21 (01-20 + 61), emitted in the first run, deleted on 06-15
    w.member_event("deleted", "register", d("2023-06-01"))
    w.pos_order("deleted", d("2024-01-20"), "75.00")
    w.member_event("deleted", "delete", d("2024-06-15"))

    # points: lots of 123 (expires 2024-04-30), 50 (2024-06-12) and 88 points (2024-07-14)
    w.member_event("points", "register", d("2023-01-01"))
    w.pos_order("points", d("2023-05-01"), "1234.50")
    w.pos_order("points", d("2023-06-13"), "500.00")
    w.pos_order("points", d("2023-07-15"), "880.00")

    # spent: a lot of 60 points (expires 2024-05-01) all redeemed on 2024-03-20
    w.member_event("spent", "register", d("2023-01-01"))
    w.pos_order("spent", d("2023-05-02"), "600.00")
    w.mini_order("spent", d("2024-03-20"), 900, points_redeemed=60)

    # spent_between: a lot of 100 points (expires 2024-05-19), reminded on 04-19, all redeemed on
    # 05-01, so no reminder on 05-12
    w.member_event("spent_between", "register", d("2023-01-01"))
    w.pos_order("spent_between", d("2023-05-20"), "1000.00")
    w.mini_order("spent_between", d("2024-05-01"), 500, points_redeemed=100)

    # downgrade: a 260-yuan order every 30 days from 2023-01-05: 12 or 13 orders in the last
    # 365 days (growth 3,120 or 3,380: silver), but on most days only 11 of them in D-334 … D
    # (2,860 kept on D+30): at risk on 03-05 … 03-29, 04-04 … 04-28, 05-04 … 05-28, 06-03 …
    w.member_event("downgrade", "register", d("2023-01-01"))
    day = d("2023-01-05")
    while day <= LAST_DAY:
        w.pos_order("downgrade", day, "260.00", hour=19)
        day += timedelta(days=30)


def random_crowd(w: World, seed: int = 7, members: int = 120, buyers: int = 80) -> None:
    """Random members (with points redemptions) and non-member buyers, 2023-01 … LAST_DAY."""
    rng = random.Random(seed)
    start, days = d("2023-01-01"), (LAST_DAY - d("2023-01-01")).days + 1
    for i in range(members):
        key = f"crowd{i:02d}"
        w.member_event(key, "register", start + timedelta(days=rng.randrange(300)),
                       consent_sms=rng.random() < 0.6, unionid=rng.random() < 0.6,
                       consent_wecom=rng.random() < 0.5)
        for _ in range(rng.randrange(1, 16)):
            day = start + timedelta(days=rng.randrange(days))
            hour = rng.choice([8, 9, 12, 12, 13, 18, 18, 21])
            if rng.random() < 0.35:
                redeem = rng.choice([0, 0, 20, 50, 120, 300])
                w.mini_order(key, day, rng.randint(800, 90000), points_redeemed=redeem,
                             status=rng.choices(["paid", "cancelled"], [92, 8])[0], hour=hour)
            else:
                w.pos_order(key, day, f"{rng.randint(5, 900)}.{rng.randrange(100):02d}", hour=hour)
    for i in range(buyers):
        key = f"buyer{i:02d}"
        for _ in range(rng.randrange(1, 10)):
            day = start + timedelta(days=rng.randrange(days))
            w.pos_order(key, day, f"{rng.randint(5, 400)}.{rng.randrange(100):02d}",
                        hour=rng.choice([8, 12, 18]))


def build_world(raw: Path) -> World:
    w = World()
    named_persons(w)
    random_crowd(w)
    w.write(raw)
    return w
