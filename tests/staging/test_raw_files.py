"""staging.base_raw__files, kept by raw file: which landing files each raw Parquet file holds;
and staging.base_raw__file_loads, raw.file_loads kept the same way.

base_raw__deliveries takes from the first the deliveries known only from their rows (no
file_loads row), and from the second (as quality.file_loads does) the deliveries file_loads
records. A build reads the raw files that are new or changed (size, modification time) and keeps
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

SELECTION = ["--select", "base_raw__files", "base_raw__file_loads", "base_raw__deliveries", "file_loads"]
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
            "loads": con.execute(
                "select raw_path, raw_size, source, delivery_date, file_name, sha256, rows_read "
                "from staging.base_raw__file_loads order by all").fetchall(),
            "quality": con.execute("select * from quality.file_loads order by all").fetchall(),
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
    compiled_loads = compiled.with_name("base_raw__file_loads.sql")

    def build(warehouse: Path) -> dict:
        result = run_dbt(settings.with_paths(warehouse=warehouse), ["run", *SELECTION],
                         as_of_date=AS_OF, target_path=target)
        assert "ERROR=0" in result.stdout, result.stdout[-3000:]
        return {**_tables(warehouse), "sql": compiled.read_text(), "loads_sql": compiled_loads.read_text()}

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

    # file_loads: a new day's record; then that record written again with another sha256 and
    # another day's file written again without rows; then the record's file removed
    rows_f = [_sale("F1")]
    write_raw(raw, "pos_lines", rows_f, delivery_date="2024-05-03", file_name="SH001_f.csv")
    new_load = write_file_load(raw, "pos", "2024-05-03", "SH001_f.csv", content_sha256(rows_f), rows_read=1)
    out["load_new"] = build(kept)
    out["load_new_fresh"] = build(root / "fresh_load_new.duckdb")
    out["load_new_path"] = str(new_load)
    write_file_load(raw, "pos", "2024-05-03", "SH001_f.csv", "0" * 64, rows_read=2, rows_quarantined=1)
    (first_load,) = (raw / "file_loads" / "2024-05-01").glob("*.parquet")
    _empty_file_load(first_load)
    out["load_changed"] = build(kept)
    out["load_changed_fresh"] = build(root / "fresh_load_changed.duckdb")
    new_load.unlink()
    out["load_removed"] = build(kept)
    out["load_removed_fresh"] = build(root / "fresh_load_removed.duckdb")
    return out


def _empty_file_load(path: Path) -> None:
    """Write the file_loads Parquet file ``path`` again with its columns and no rows."""
    import pyarrow.parquet as pq

    table = pq.read_table(path)
    pq.write_table(table.slice(0, 0), path)


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


def _loads(state: dict) -> list[tuple]:
    """base_raw__file_loads' records (source, day, file name, sha256, rows read), of files with rows."""
    return [row[2:] for row in state["loads"] if row[2] is not None]


def test_file_loads_are_kept_by_raw_file(builds):
    first = builds["first"]
    assert [(s, str(d), f) for s, d, f, *_ in _loads(first)] == [("pos", "2024-05-01", "SH001_a.csv")]
    assert "/file_loads/*/*.parquet" in first["loads_sql"]
    # a rerun with nothing changed reads the empty schema file only
    (read,) = [line for line in builds["again"]["loads_sql"].splitlines() if "read_parquet([" in line]
    assert "/file_loads/_empty/" in read and "/file_loads/2024-05-01/" not in read
    # a new day's record: read alone, and the kept table and quality.file_loads equal a fresh build
    new = builds["load_new"]
    (read,) = [line for line in new["loads_sql"].splitlines() if "read_parquet([" in line]
    assert builds["load_new_path"] in read and "/file_loads/2024-05-01/" not in read
    for state in ("load_new", "load_changed", "load_removed"):
        kept, fresh = builds[state], builds[state + "_fresh"]
        assert _loads(kept) == _loads(fresh), state
        assert kept["quality"] == fresh["quality"], state
        assert kept["deliveries"] == fresh["deliveries"], state
    assert ("pos", date(2024, 5, 3), "SH001_f.csv", content_sha256([_sale("F1")]), 1) in _loads(new)
    # written again: its new record replaces the old one
    rewritten = _loads(builds["load_changed"])
    assert ("pos", date(2024, 5, 3), "SH001_f.csv", "0" * 64, 2) in rewritten
    assert not any(sha == content_sha256([_sale("F1")]) for *_, sha, _ in rewritten)
    # written again without rows, and removed: its record is gone
    assert not any(f == "SH001_a.csv" for _, _, f, *_ in rewritten)
    assert not any(row[2] == "SH001_a.csv" for row in builds["load_changed"]["quality"])
    assert not any(f == "SH001_f.csv" for _, _, f, *_ in _loads(builds["load_removed"]))
