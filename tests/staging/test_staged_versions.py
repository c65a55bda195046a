"""The staging base tables kept incrementally (macros/staging/staged_versions.sql).

A POS history over four delivery days, with what makes a delta hard: a newer version of an order
in another file, an order whose business date is after its delivery day, an identical
re-delivery (skipped), and a changed re-delivery that drops an order whose older version sits in
another file (the older version counts again). dbt builds the staging models day by day into one
warehouse (each build brings the tables forward from the last) and, for comparison, each day
from scratch into a fresh warehouse; then goes back a day (the tables are rebuilt whole).
The identifier values (intermediate.int_identity__identifier_values, kept the same way) are
compared too, after a late file and after a new day delivered once the history was built.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import duckdb
import pytest

from orchestration.dbt_cli import run_dbt
from orchestration.settings import load_settings
from tests.support.raw_builder import content_sha256, write_file_load, write_raw

SELECTION = ["--select", "path:models/staging/pos", "path:models/staging/raw", "int_identity__identifier_values"]
PHONE = {k: c * 64 for k, c in (("K1", "a"), ("K3", "b"), ("K5", "c"), ("K6", "d"), ("K7", "e"))}
DAYS = ["2024-05-01", "2024-05-02", "2024-05-03", "2024-05-04"]


def _sale(order_no: str, paid: str, ts: str, **extra) -> dict:
    phone = {"phone_hash": PHONE[order_no], "phone_masked": "138****000" + order_no[1]} if order_no in PHONE else {}
    return {"store_code": "SH001", "order_no": order_no, "order_type": "SALE", "order_ts_local": ts,
            "gross_amount_yuan": paid, "discount_amount_yuan": "0", "paid_amount_yuan": paid, **phone, **extra}


def _deliver(raw: Path, day: str, file_name: str, rows: list[dict]) -> None:
    write_raw(raw, "pos_lines", rows, delivery_date=day, file_name=file_name)
    write_file_load(raw, "pos", day, file_name, content_sha256(rows), rows_read=len(rows))


def write_history(raw: Path) -> None:
    file_a = [_sale("K1", "10.00", "2024-05-01 09:00:00"), _sale("K3", "30.00", "2024-05-01 09:30:00")]
    _deliver(raw, "2024-05-01", "SH001_20240501_a.csv", file_a)
    # file b (same day, later name) holds the newer version of K3
    _deliver(raw, "2024-05-01", "SH001_20240501_b.csv",
             [_sale("K3", "33.00", "2024-05-01 09:30:00"), _sale("K2", "20.00", "2024-05-01 10:00:00")])
    # day 2: a newer K1; K4 carries a business date after its delivery day
    _deliver(raw, "2024-05-02", "SH001_20240502.csv",
             [_sale("K1", "11.00", "2024-05-01 09:00:00"),
              _sale("K4", "40.00", "2024-05-03 08:00:00", business_date="2024-05-03")])
    # day 3: file a again, the same bytes (skipped); file b again without K3, with K5
    _deliver(raw, "2024-05-03", "SH001_20240501_a.csv", file_a)
    _deliver(raw, "2024-05-03", "SH001_20240501_b.csv",
             [_sale("K2", "22.00", "2024-05-01 10:00:00"), _sale("K5", "50.00", "2024-05-03 11:00:00")])
    # day 4: nothing for pos


def _staging(warehouse: Path) -> dict[str, list[tuple]]:
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        out = {}
        for model in ("base_pos__lines", "stg_pos__lines"):
            out[model] = con.execute(
                f"select order_no, paid_amount_yuan, delivery_date, file_name, line_no, line_uid "
                f"from staging.{model} order by order_no").fetchall()
        (out["comment"],) = con.execute(
            "select comment from duckdb_tables() where table_name = 'base_pos__lines'").fetchone()
        out["identifier_values"] = con.execute(
            "select node_id, identifier_type, identifier_hash, phone_masked "
            "from intermediate.int_identity__identifier_values order by all").fetchall()
        (out["values_comment"],) = con.execute(
            "select comment from duckdb_tables() "
            "where table_name = 'int_identity__identifier_values'").fetchone()
        delta = con.execute("select comment from duckdb_tables() where table_name = 'base_pos__lines__delta'").fetchall()
        out["delta_comment"] = delta[0][0] if delta else None
        out["delta"] = sorted(con.execute("select line_uid, added from staging.base_pos__lines__delta").fetchall()
                              ) if delta else None
        out["work_tables"] = con.execute(
            "select table_name from duckdb_tables() where table_name like '%\\_\\_since' escape '\\'").fetchall()
        return out
    finally:
        con.close()


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    root = tmp_path_factory.mktemp("staged")
    base = load_settings().with_paths(raw=root / "raw", pii=root / "pii")
    write_history(base.raw_dir)
    target = root / "target"

    def build(warehouse: Path, day: str) -> dict:
        settings = base.with_paths(warehouse=warehouse)
        result = run_dbt(settings, ["run", *SELECTION], as_of_date=date.fromisoformat(day), target_path=target)
        assert "ERROR=0" in result.stdout, result.stdout[-3000:]
        return _staging(warehouse)

    kept = root / "kept.duckdb"
    forward = {day: build(kept, day) for day in DAYS}
    again = build(kept, DAYS[-1])  # a rerun of the last day
    back = build(kept, DAYS[1])  # an earlier day: rebuilt whole
    fresh = {day: build(root / f"fresh_{day}.duckdb", day) for day in DAYS[1:3]}
    # forward again, then a file turns up late in an old delivery folder (05-02): the next
    # build must see it, although it was delivered before the day the tables hold
    build(kept, DAYS[-1])
    _deliver(base.raw_dir, "2024-05-02", "SH001_20240502_late.csv",
             [_sale("K6", "60.00", "2024-05-02 12:00:00"), _sale("K2", "25.00", "2024-05-01 10:00:00")])
    late = {"kept": build(kept, DAYS[-1]), "fresh": build(root / "fresh_late.duckdb", DAYS[-1])}
    # a new day after all that: the identifier values are brought forward (only the rows
    # delivered after 05-04 are read), not rebuilt
    _deliver(base.raw_dir, "2024-05-05", "SH001_20240505.csv", [_sale("K7", "70.00", "2024-05-05 09:00:00")])
    late["added"] = build(kept, "2024-05-05")
    compiled = target / "compiled" / "memberflow" / "models" / "intermediate" / "identity"
    late["added_sql"] = (compiled / "int_identity__identifier_values.sql").read_text()
    late["added_fresh"] = build(root / "fresh_added.duckdb", "2024-05-05")
    return forward, again, back, fresh, late


def _paid(rows: list[tuple]) -> dict[str, str]:
    return {order_no: str(paid) for order_no, paid, *_ in rows}


def test_each_day_brought_forward_equals_a_build_from_scratch(built):
    forward, _, _, fresh, _ = built
    for day, state in fresh.items():
        assert forward[day]["base_pos__lines"] == state["base_pos__lines"], day
        assert forward[day]["stg_pos__lines"] == state["stg_pos__lines"], day


def _uids(state: dict) -> set[int]:
    return {row[5] for row in state["base_pos__lines"]}


def test_each_day_brought_forward_hands_on_what_it_changed(built):
    """The base table brought forward lists in its delta exactly the line_uids it removed (a
    record's version replaced, a re-delivered file's rows no version holds) and wrote (a new
    version, and on 05-03 K3's older version counting again), as a change from the build of the
    day before; a table built whole hands on none. The work table is gone after each build."""
    forward, again, back, _, late = built
    assert forward[DAYS[0]]["delta"] is None
    for before, day in zip(DAYS, DAYS[1:]):
        old, new = _uids(forward[before]), _uids(forward[day])
        delta = forward[day]["delta"]
        assert {uid for uid, added in delta if not added} == old - new, day
        assert {uid for uid, added in delta if added} == new - old, day
        assert len(delta) == len(old ^ new), day
        run = forward[before]["comment"].split(" run ")[1]
        assert forward[day]["delta_comment"] == f"memberflow staged_delta as of {day} from {before} run {run}"
    # 05-03: K3 (file b's version out, file a's in again), K2 (out, its new version in), K5 in
    assert len(forward["2024-05-03"]["delta"]) == 5
    assert again["delta"] == []  # a rerun of the same day writes nothing
    assert back["delta"] is None and late["kept"]["delta"] is None  # rebuilt whole
    assert {uid for uid, added in late["added"]["delta"] if added} == _uids(late["added"]) - _uids(late["kept"])
    for state in [*forward.values(), again, back, late["kept"], late["added"]]:
        assert state["work_tables"] == []


def test_versions_as_delivered(built):
    forward, _, _, _, _ = built
    assert _paid(forward["2024-05-01"]["stg_pos__lines"]) == {"K1": "10.00", "K2": "20.00", "K3": "33.00"}
    # K1's newer version; K4 is kept in the base table but is in no staging row before 05-03
    assert _paid(forward["2024-05-02"]["stg_pos__lines"]) == {"K1": "11.00", "K2": "20.00", "K3": "33.00"}
    assert "K4" in _paid(forward["2024-05-02"]["base_pos__lines"])
    # file b replaced: K3 falls back to file a's version, K2 and K5 from the new b; K4 now counts
    assert _paid(forward["2024-05-03"]["stg_pos__lines"]) == {
        "K1": "11.00", "K2": "22.00", "K3": "30.00", "K4": "40.00", "K5": "50.00"}
    assert forward["2024-05-04"]["stg_pos__lines"] == forward["2024-05-03"]["stg_pos__lines"]


def test_line_uid_follows_the_version_order(built):
    forward, _, _, _, _ = built
    by_order = {r[0]: r for r in forward["2024-05-03"]["base_pos__lines"]}
    # the identical re-delivery of file a on 05-03 is skipped: K3 keeps its 05-01 delivery
    assert by_order["K3"][2] == date(2024, 5, 1) and by_order["K3"][3] == "SH001_20240501_a.csv"
    assert by_order["K5"][2] == date(2024, 5, 3)
    day = (date(2024, 5, 3) - date(1970, 1, 1)).days
    # table 1 (pos_lines), day 05-03, file b is the only file of that day that counts... ranked
    # among both of that day's deliveries by name (a = 1, b = 2), line 3 of its CSV
    assert by_order["K5"][5] == 1 * 10**17 + day * 10**12 + 2 * 10**8 + 3


def test_rerun_changes_nothing_and_an_earlier_day_is_rebuilt(built):
    forward, again, back, fresh, _ = built
    for part in ("base_pos__lines", "stg_pos__lines", "identifier_values"):
        assert again[part] == forward[DAYS[-1]][part], part
    for part in ("comment", "values_comment"):  # the same D and deliveries, another build
        assert again[part].split(" run ")[0] == forward[DAYS[-1]][part].split(" run ")[0], part
    assert back["base_pos__lines"] == fresh[DAYS[1]]["base_pos__lines"]
    assert back["comment"].startswith(f"memberflow staged as of {DAYS[1]} deliveries ")


def test_a_file_ingested_late_into_an_old_delivery_day_is_seen(built):
    *_, late = built
    assert late["kept"]["base_pos__lines"] == late["fresh"]["base_pos__lines"]
    paid = _paid(late["kept"]["stg_pos__lines"])
    # K6 is new; the re-delivered file b of 05-03 still holds the latest K2
    assert paid["K6"] == "60.00" and paid["K2"] == "22.00"


def test_identifier_values_follow_the_raw_layer(built):
    forward, again, _, fresh, late = built
    node = {k: int(h[:15], 16) for k, h in PHONE.items()}
    # every build sees every value in the raw layer (four days written before the first build)
    assert [r[0] for r in forward[DAYS[0]]["identifier_values"]] == sorted(node[k] for k in ("K1", "K3", "K5"))
    assert forward[DAYS[0]]["identifier_values"][0] == (node["K1"], "phone", PHONE["K1"], "138****0001")
    for day, state in fresh.items():
        assert forward[day]["identifier_values"] == state["identifier_values"], day
    assert again["values_comment"].startswith(f"memberflow staged as of {DAYS[-1]} deliveries ")
    # the late file in an old folder: rebuilt whole; the new day: brought forward
    assert late["kept"]["identifier_values"] == late["fresh"]["identifier_values"]
    assert node["K6"] in [r[0] for r in late["kept"]["identifier_values"]]
    assert "delivery_date > cast('2024-05-04' as date)" in late["added_sql"]
    assert late["added"]["identifier_values"] == late["added_fresh"]["identifier_values"]
    assert [r[0] for r in late["added"]["identifier_values"]] == sorted(node.values())
    assert late["added"]["values_comment"].startswith("memberflow staged as of 2024-05-05 deliveries ")
