"""The BI copy (assets/publish.py) on the e2e warehouse: it equals the warehouse's BI schemas,
and marts.orders, brought forward from the previous copy, replaces exactly the rows that changed."""

from __future__ import annotations

import shutil
from datetime import timedelta
from pathlib import Path

import duckdb
import pytest

from assets.publish import BI_FILE_NAME, BI_SCHEMAS, publish_bi_copy
from orchestration.dbt_cli import run_dbt


def _differences(bi_file: Path, warehouse: Path) -> dict[str, int]:
    """Per BI table of the warehouse: rows on one side only (both ways, duplicates counted)."""
    con = duckdb.connect(str(bi_file), read_only=True)
    try:
        con.execute(f"attach '{warehouse}' as wh (read_only)")
        tables = con.execute(
            "select table_schema, table_name from information_schema.tables where table_catalog = 'wh' "
            f"and table_schema in ({', '.join(repr(s) for s in BI_SCHEMAS)})").fetchall()
        return {
            f"{s}.{t}": con.execute(
                f"select (select count(*) from (select * from {s}.{t} except all select * from wh.{s}.{t})) + "
                f"(select count(*) from (select * from wh.{s}.{t} except all select * from {s}.{t}))").fetchone()[0]
            for s, t in tables
        }
    finally:
        con.close()


@pytest.fixture()
def warehouse(demo_build, tmp_path: Path) -> Path:
    """A copy of the e2e warehouse to change by hand."""
    copy = tmp_path / "warehouse" / "memberflow.duckdb"
    copy.parent.mkdir()
    shutil.copyfile(demo_build.settings.warehouse_path, copy)
    return copy


def _execute(warehouse: Path, *statements: str) -> None:
    con = duckdb.connect(str(warehouse))
    try:
        for sql in statements:
            con.execute(sql)
    finally:
        con.close()


def test_the_pipelines_bi_copy_equals_the_warehouse(demo_build):
    diffs = _differences(demo_build.settings.publish_dir / BI_FILE_NAME, demo_build.settings.warehouse_path)
    assert {"marts.orders", "marts.member_facts", "quality.quarantine", "audiences.audience_members"} <= set(diffs)
    assert not any(diffs.values()), diffs


def test_orders_are_brought_forward_by_the_rows_that_changed(warehouse: Path, tmp_path: Path):
    bi = tmp_path / "bi"
    first = publish_bi_copy(warehouse, bi)
    assert first.carried == {}  # no earlier copy: everything copied whole
    orders = first.rows["marts.orders"]
    assert orders > 100

    again = publish_bi_copy(warehouse, bi)
    unchanged = {"marts.orders": 0, "marts.members": 0, "audiences.audience_members": 0}
    assert again.carried == unchanged and again.rows == first.rows

    # 3 orders of another person, 2 amounts off by a fen, 2 orders gone, 1 new order
    _execute(
        warehouse,
        "create temp table picked as select order_key, row_number() over (order by order_key) as n "
        "from intermediate.int_orders__unified where one_id is not null",
        "update intermediate.int_orders__unified set one_id = 'P999999999999' "
        "where order_key in (select order_key from picked where n <= 3)",
        "update intermediate.int_orders__unified set net_amount_yuan = net_amount_yuan + 0.01 "
        "where order_key in (select order_key from picked where n in (4, 5))",
        "delete from intermediate.int_orders__unified where order_key in (select order_key from picked where n in (6, 7))",
        "insert into intermediate.int_orders__unified select * replace ('meituan:test-new' as order_key) "
        "from intermediate.int_orders__unified where order_key = (select order_key from picked where n = 8)",
    )
    changed = publish_bi_copy(warehouse, bi)
    assert changed.carried == {**unchanged, "marts.orders": 8}
    assert changed.rows["marts.orders"] == orders - 1
    diffs = _differences(bi / BI_FILE_NAME, warehouse)
    assert not any(diffs.values()), diffs
    assert not list(bi.glob(".*.tmp"))


def test_members_and_the_audience_history_are_brought_forward_by_the_rows_that_changed(
    warehouse: Path, tmp_path: Path
):
    """The other carried tables: compared row by row (no delta), keyed by one_id and message_key."""
    bi = tmp_path / "bi"
    first = publish_bi_copy(warehouse, bi)
    members, audience_rows = first.rows["marts.members"], first.rows["audiences.audience_members"]
    assert members > 10 and audience_rows > 2
    # a member's consent withdrawn, a member gone, an audience row gone, a day's audience row more
    _execute(
        warehouse,
        "update marts.members set consent_sms = not consent_sms where one_id = (select min(one_id) from marts.members)",
        "delete from marts.members where one_id = (select max(one_id) from marts.members)",
        "delete from audiences.audience_members where message_key = (select min(message_key) from audiences.audience_members)",
        "insert into audiences.audience_members select * replace ('test-new-message' as message_key, "
        "as_of_date + interval 1 day as as_of_date) from audiences.audience_members "
        "where message_key = (select max(message_key) from audiences.audience_members)",
    )
    changed = publish_bi_copy(warehouse, bi)
    assert changed.carried == {"marts.orders": 0, "marts.members": 2, "audiences.audience_members": 2}
    assert changed.rows["marts.members"] == members - 1
    assert changed.rows["audiences.audience_members"] == audience_rows
    assert not any(_differences(bi / BI_FILE_NAME, warehouse).values())


def test_orders_are_copied_whole_when_their_columns_change_or_a_key_is_null(warehouse: Path, tmp_path: Path):
    bi = tmp_path / "bi"
    publish_bi_copy(warehouse, bi)
    _execute(
        warehouse,
        "alter table intermediate.int_orders__unified add column channel_note varchar default 'n'",
        "create or replace view marts.orders as select * exclude (record_id, line_count, lines_fingerprint) "
        "from intermediate.int_orders__unified",
    )
    widened = publish_bi_copy(warehouse, bi)
    assert "marts.orders" not in widened.carried
    assert not any(_differences(bi / BI_FILE_NAME, warehouse).values())

    _execute(
        warehouse,
        "update intermediate.int_orders__unified set order_key = null "
        "where order_key = (select min(order_key) from intermediate.int_orders__unified)",
    )
    null_key = publish_bi_copy(warehouse, bi)
    assert "marts.orders" not in null_key.carried
    assert not any(_differences(bi / BI_FILE_NAME, warehouse).values())


def test_orders_follow_the_orders_delta_after_a_build(demo_build, warehouse: Path, tmp_path: Path):
    """A copy records which build of the orders it copied. After the next day's build, whose
    orders' delta starts from that build, the copy replaces only the orders in the delta (no
    row is hashed) and equals the warehouse; after a rerun of the day, nothing."""
    settings = demo_build.settings.with_paths(warehouse=warehouse)
    target = tmp_path / "target"
    orders = ["run", "--select", "+orders"]
    run_dbt(settings, orders, as_of_date=demo_build.through - timedelta(days=1), target_path=target)
    bi = tmp_path / "bi"
    first = publish_bi_copy(warehouse, bi)
    assert first.by_delta == set() and first.carried == {}

    run_dbt(settings, orders, as_of_date=demo_build.through, target_path=target)
    day = publish_bi_copy(warehouse, bi)
    assert day.by_delta == {"marts.orders"}
    assert 0 < day.carried["marts.orders"] < day.rows["marts.orders"] // 10
    assert not any(_differences(bi / BI_FILE_NAME, warehouse).values())

    run_dbt(settings, orders, as_of_date=demo_build.through, target_path=target)
    again = publish_bi_copy(warehouse, bi)
    assert again.by_delta == {"marts.orders"} and again.carried["marts.orders"] == 0
    assert not any(_differences(bi / BI_FILE_NAME, warehouse).values())

    # the same build copied twice: the delta starts from an earlier build than the copy's
    twice = publish_bi_copy(warehouse, bi)
    assert twice.by_delta == set() and twice.carried["marts.orders"] == 0

    # an order deleted by hand (outside dbt: in no delta), then a rerun of the day: the delta
    # matches the copy, but the rows do not add up, so every row is compared
    _execute(warehouse, "delete from intermediate.int_orders__unified "
                        "where order_key = (select min(order_key) from intermediate.int_orders__unified)")
    run_dbt(settings, orders, as_of_date=demo_build.through, target_path=target)
    by_hand = publish_bi_copy(warehouse, bi)
    assert by_hand.by_delta == set() and by_hand.carried["marts.orders"] == 1
    assert not any(_differences(bi / BI_FILE_NAME, warehouse).values())
