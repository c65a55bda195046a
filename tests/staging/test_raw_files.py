"""staging.base_raw__files, kept by raw file: which landing files each raw Parquet file holds.

base_raw__deliveries takes from it the deliveries known only from their rows (no file_loads
row). A build reads the raw files that are new or changed (size, modification time) and keeps
the rest; a file that is gone loses its rows. After every change to the raw layer the kept
tables must equal a build from scratch, and the kept build must have read only what changed.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import duckdb
import pytest

from orchestration.dbt_cli import run_dbt
from orchestration.settings import load_settings
from tests.support.raw_builder import content_sha256, write_file_load, write_raw

SELECTION = ["--select", "base_raw__files", "base_raw__deliveries"]
AS_OF = date(2024, 5, 3)


def _sale(order_no: str) -> dict:
    return {"store_code": "SH001", "order_no": order_no, "order_type": "SALE",
            "order_ts_local": "2024-05-01 09:00:00", "gross_amount_yuan": "10.00",
            "discount_amount_yuan": "0", "paid_amount_yuan": "10.00"}


def _tables(warehouse: Path) -> dict[str, list[tuple]]:
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        return {
            "deliveries": con.execute(
                "select raw_table, file_name, delivery_date, sha256 from staging.base_raw__deliveries "
                "where raw_table = 'pos_lines' order by all").fetchall(),
            "files": con.execute(
                "select raw_table, raw_path, raw_size, file_name, delivery_date from staging.base_raw__files "
                "where raw_table = 'pos_lines' and file_name is not null order by all").fetchall(),
        }
    finally:
        con.close()


@pytest.fixture(scope="module")
def builds(tmp_path_factory):
    root = tmp_path_factory.mktemp("raw_files")
    settings = load_settings().with_paths(raw=root / "raw", pii=root / "pii")
    raw = settings.raw_dir
    target = root / "target"
    compiled = target / "compiled" / "memberflow" / "models" / "staging" / "raw" / "base_raw__files.sql"

    def build(warehouse: Path) -> dict:
        result = run_dbt(settings.with_paths(warehouse=warehouse), ["run", *SELECTION],
                         as_of_date=AS_OF, target_path=target)
        assert "ERROR=0" in result.stdout, result.stdout[-3000:]
        return {**_tables(warehouse), "sql": compiled.read_text()}

    rows_a = [_sale("A1")]
    write_raw(raw, "pos_lines", rows_a, delivery_date="2024-05-01", file_name="SH001_a.csv")
    write_file_load(raw, "pos", "2024-05-01", "SH001_a.csv", content_sha256(rows_a), rows_read=1)
    # two deliveries known only from their rows
    write_raw(raw, "pos_lines", [_sale("B1")], delivery_date="2024-05-01", file_name="SH001_b.csv")
    write_raw(raw, "pos_lines", [_sale("C1")], delivery_date="2024-05-02", file_name="SH001_c.csv")
    kept = root / "kept.duckdb"
    out = {"first": build(kept)}
    out["again"] = build(kept)

    # a raw file turns up late in an old folder
    late = write_raw(raw, "pos_lines", [_sale("D1")], delivery_date="2024-05-01", file_name="SH001_d.csv")
    out["late"] = build(kept)
    out["late_fresh"] = build(root / "fresh_late.duckdb")
    out["late_path"] = str(late)

    # the same raw file written again with other content: it now holds rows of another file name
    # (the same size as before: only its modification time tells)
    rewritten = write_raw(raw, "pos_lines", [{**_sale("C1"), "file_name": "SH001_e.csv"}],
                          delivery_date="2024-05-02", file_name="SH001_c.csv")
    out["rewritten"] = build(kept)
    out["rewritten_fresh"] = build(root / "fresh_rewritten.duckdb")
    out["rewritten_path"] = str(rewritten)

    # a raw file removed
    late.unlink()
    out["removed"] = build(kept)
    out["removed_fresh"] = build(root / "fresh_removed.duckdb")
    return out


def _deliveries(state: dict) -> list[tuple[str, str]]:
    return [(file_name, str(day)) for _, file_name, day, _ in state["deliveries"]]


def test_deliveries_known_from_their_rows_and_from_file_loads(builds):
    first = builds["first"]
    assert _deliveries(first) == [("SH001_a.csv", "2024-05-01"), ("SH001_b.csv", "2024-05-01"),
                                  ("SH001_c.csv", "2024-05-02")]
    assert [sha is not None for *_, sha in first["deliveries"]] == [True, False, False]
    # a first build reads every raw file; a rerun with nothing changed reads none
    assert "/pos_lines/*/*.parquet" in first["sql"]
    assert "read_parquet([" not in builds["again"]["sql"]
    assert builds["again"]["deliveries"] == first["deliveries"]


def test_a_late_raw_file_is_read_alone(builds):
    late = builds["late"]
    assert late["deliveries"] == builds["late_fresh"]["deliveries"]
    assert late["files"] == builds["late_fresh"]["files"]
    assert ("SH001_d.csv", "2024-05-01") in _deliveries(late)
    (read,) = [line for line in late["sql"].splitlines() if "read_parquet([" in line]
    assert builds["late_path"] in read and "SH001_a.csv" not in read and "SH001_c.csv" not in read


def test_a_raw_file_written_again_replaces_its_rows(builds):
    rewritten = builds["rewritten"]
    assert rewritten["deliveries"] == builds["rewritten_fresh"]["deliveries"]
    assert rewritten["files"] == builds["rewritten_fresh"]["files"]
    assert ("SH001_e.csv", "2024-05-02") in _deliveries(rewritten)
    assert ("SH001_c.csv", "2024-05-02") not in _deliveries(rewritten)
    # the file kept its size: only its modification time told it apart
    sizes = {state: {path: size for _, path, size, *_ in builds[state]["files"]} for state in ("late", "rewritten")}
    assert sizes["rewritten"][builds["rewritten_path"]] == sizes["late"][builds["rewritten_path"]]
    (read,) = [line for line in rewritten["sql"].splitlines() if "read_parquet([" in line]
    assert builds["rewritten_path"] in read and "SH001_d.csv" not in read


def test_a_removed_raw_file_loses_its_rows(builds):
    removed = builds["removed"]
    assert removed["deliveries"] == builds["removed_fresh"]["deliveries"]
    assert removed["files"] == builds["removed_fresh"]["files"]
    assert ("SH001_d.csv", "2024-05-01") not in _deliveries(removed)
    assert "read_parquet([" not in removed["sql"]
