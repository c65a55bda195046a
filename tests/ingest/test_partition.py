"""Partition ingestion: layout, reconciliation, PII separation, atomic and rerun-safe writes."""

from __future__ import annotations

import hashlib
from datetime import date
from decimal import Decimal

import duckdb
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from assets.ingest import partition
from assets.ingest.partition import (
    UnreadableFileError,
    ingest_days,
    ingest_partition,
    landing_files,
    read_partition,
)
from assets.ingest.schemas import RAW_TABLES, SOURCE_TABLES
from tests.ingest.helpers import D0501, D0503, snapshot, string_values, write

ALL = [(source, day) for source in SOURCE_TABLES for day in (D0501, D0503)]

# Every personal value of the samples: none may appear under <raw>.
PERSONAL = [
    "13812345678", "13900001111", "13912345678", "13800000000",
    "oX1a2b3c4d5e6f7g8h9i0jA", "oY9z8y7x6w5v4u3t2s1r0qB", "uA1b2C3d4E5f6G7h8",
    "VIP00012345", "VIP00077777", "900012345", "900054321", "e_1a2b3c", "e_9f8e7d",
    "17012345678", "1990-05-03", "张*", "上海市",
]


def ingest_all(settings):
    return {(s, d): ingest_partition(settings, s, d) for s, d in ALL}


def test_samples_land_in_the_raw_layout(settings, landing):
    results = ingest_all(settings)
    raw = settings.raw_dir
    # One file per (table, source, day), whatever the number of landing files.
    assert (raw / "pos_lines/2024-05-01/pos.parquet").is_file()
    assert (raw / "pos_lines/2024-05-03/pos.parquet").is_file()
    assert (raw / "quarantine/2024-05-03/pos.parquet").is_file()
    assert (raw / "file_loads/2024-05-01/miniprogram_orders.parquet").is_file()
    assert (raw / "miniprogram_members/2024-05-01/miniprogram_members.parquet").is_file()
    assert (settings.pii_dir / "member_profiles/2024-05-01/miniprogram_members.parquet").is_file()
    assert not (raw / "quarantine/2024-05-01").exists()  # nothing quarantined that day
    assert not (raw / ".staging").exists() and not (settings.pii_dir / ".staging").exists()

    pos3 = results[("pos", D0503)]
    assert (pos3.rows_read, pos3.rows_loaded, pos3.rows_quarantined) == (4, 3, 1)
    assert pos3.quarantine_reasons == {"paid_amount 'ten' is not an amount": 1}
    assert [f.file_name for f in pos3.files] == ["SH001_20240503.csv"]
    assert results[("meituan", D0503)].files == []  # no folder: zero files, no error
    assert results[("miniprogram_orders", D0501)].rows_loaded == 2
    assert results[("miniprogram_members", D0501)].rows_loaded == 2

    loads = duckdb.sql(
        f"select source, delivery_date, file_name, sha256, encoding, rows_read, rows_loaded, rows_quarantined "
        f"from read_parquet('{raw}/file_loads/*/*.parquet', union_by_name = true) order by source, file_name"
    ).fetchall()
    assert len(loads) == 6
    for source, day, name, sha, encoding, read, loaded, quarantined in loads:
        folder = "miniprogram" if source.startswith("miniprogram") else source
        data = (landing / folder / day.isoformat() / name).read_bytes()
        assert sha == hashlib.sha256(data).hexdigest()
        assert read == loaded + quarantined
    assert ("pos", D0503, "SH001_20240503.csv") in [(s, d, n) for s, d, n, *_ in loads]
    assert {(n, e) for _, _, n, _, e, *_ in loads} >= {("SH001_20240503.csv", "gb18030"), ("SH001_20240501.csv", "utf-8")}

    # dbt reads <raw>/<table>/*/*.parquet: the empty typed file plus every delivery.
    [(count, paid)] = duckdb.sql(
        f"select count(*), sum(paid_amount_yuan) from read_parquet('{raw}/pos_lines/*/*.parquet', union_by_name = true)"
    ).fetchall()
    assert (count, paid) == (9, Decimal("228.00"))  # 230 on 05-01, -42 + 40 on 05-03
    [q] = duckdb.sql(
        f"select line_no, reason from read_parquet('{raw}/quarantine/*/*.parquet', union_by_name = true)"
    ).fetchall()
    assert q == (4, "paid_amount 'ten' is not an amount")


def test_raw_holds_no_personal_value_and_pii_holds_them(settings):
    ingest_all(settings)
    raw_strings = string_values(settings.raw_dir)
    assert raw_strings
    for value in PERSONAL:
        leaks = [s for s in raw_strings if value in s]
        assert not leaks, f"{value!r} found under <raw>: {leaks[:3]}"
    pii_values = set(string_values(settings.pii_dir))
    assert {"13812345678", "13900001111", "oX1a2b3c4d5e6f7g8h9i0jA", "VIP00012345", "900012345"} <= pii_values
    assert "17012345678" not in " ".join(pii_values)  # a privacy number is not even PII we keep


def test_quarantined_phone_is_masked_in_raw(settings, landing):
    write(
        landing / "pos/2024-05-03/SH002_20240503.csv",
        "order_no,store_code,order_type,ref_order_no,order_time,member_card_no,member_phone,pay_method,"
        "pay_openid,gross_amount,discount_amount,paid_amount\n"
        "P1,SH002,SALE,,2024-05-03 10:00:00,VIP00012345,138 1234 5678,微信,oX1a2b3c4d5e6f7g8h9i0jA,1.00,0.00,abc\n"
        "P2,SH002,SALE,,2024-05-03 10:00:00,VIP00012345,13812345678,cash\n",
    )
    result = ingest_partition(settings, "pos", D0503)
    assert result.rows_quarantined == 3
    table = pq.read_table(settings.raw_dir / "quarantine/2024-05-03/pos.parquet")
    table = table.filter(pc.equal(table["file_name"], "SH002_20240503.csv"))
    raws = table.column("raw").to_pylist()
    assert raws[0] == "P1,SH002,SALE,,2024-05-03 10:00:00,VIP****2345,138****5678,微信,oX1****i0jA,1.00,0.00,abc"
    assert raws[1] == "P2,SH002,SALE,,2024-05-03 10:00:00,VIP****2345,138****5678,cash"
    for value in PERSONAL:
        assert all(value not in s for s in string_values(settings.raw_dir))


def test_rerun_is_byte_identical(settings):
    ingest_all(settings)
    before = snapshot(settings.raw_dir, settings.pii_dir)
    ingest_all(settings)
    assert snapshot(settings.raw_dir, settings.pii_dir) == before


def test_changed_file_replaces_its_rows_and_vanished_file_is_removed(settings, landing):
    day_dir = landing / "pos/2024-05-01"
    extra = write(day_dir / "SH002_20240501.csv", (day_dir / "SH001_20240501.csv").read_text().replace("SH001", "SH002"))
    first = ingest_partition(settings, "pos", D0501)
    assert first.rows_loaded == 12

    original = (day_dir / "SH001_20240501.csv").read_text()
    (day_dir / "SH001_20240501.csv").write_text(original.replace("9.00,0.00,9.00", "9.00,0.00,8.00"))
    extra.unlink()
    second = ingest_partition(settings, "pos", D0501)
    assert [f.file_name for f in second.files] == ["SH001_20240501.csv"]

    rows = read_partition(settings, "pos", D0501)
    assert rows.num_rows == 6 and set(rows.column("store_code").to_pylist()) == {"SH001"}
    p5 = [r for r in rows.to_pylist() if r["order_no"] == "P0005"][0]
    assert p5["paid_amount_yuan"] == Decimal("8.00")
    assert not any("SH002" in v for v in string_values(settings.raw_dir) + string_values(settings.pii_dir))
    [load] = pq.read_table(settings.raw_dir / "file_loads/2024-05-01/pos.parquet").to_pylist()
    assert load["sha256"] == hashlib.sha256((day_dir / "SH001_20240501.csv").read_bytes()).hexdigest()


def test_unreadable_file_fails_the_partition_and_changes_nothing(settings, landing):
    ingest_all(settings)
    before = snapshot(settings.raw_dir, settings.pii_dir)
    # A good new file and a wholly unreadable one in the same delivery.
    write(landing / "pos/2024-05-03/SH002_20240503.csv", (landing / "pos/2024-05-01/SH001_20240501.csv").read_bytes())
    write(landing / "pos/2024-05-03/SH003_20240503.csv", bytes([0xFF, 0x80]) * 100)
    with pytest.raises(UnreadableFileError, match=r"pos/2024-05-03/SH003_20240503\.csv: not UTF-8 or GB18030") as err:
        ingest_partition(settings, "pos", D0503)
    assert "SH002" not in str(err.value)
    assert snapshot(settings.raw_dir, settings.pii_dir) == before
    assert not list(settings.raw_dir.glob(".staging/*"))


def test_which_files_belong_to_a_source(settings, landing):
    folder = landing / "miniprogram/2024-05-01"
    write(folder / ".orders_upload.jsonl", "x")  # hidden: ignored
    write(folder / "orders_late.jsonl.part", "x")  # in flight: ignored
    assert [p.name for p in landing_files(settings, "miniprogram_orders", D0501)] == ["orders_20240501.jsonl"]
    assert [p.name for p in landing_files(settings, "miniprogram_members", D0501)] == ["members_20240501.jsonl"]
    assert landing_files(settings, "pos", date(2030, 1, 1)) == []

    write(folder / "refunds_20240501.jsonl", "{}\n")
    with pytest.raises(UnreadableFileError, match=r"miniprogram/2024-05-01/refunds_20240501\.jsonl: not a miniprogram file"):
        ingest_partition(settings, "miniprogram_orders", D0501)
    write(landing / "pos/2024-05-01/notes.txt", "hello")
    with pytest.raises(UnreadableFileError, match=r"notes\.txt: not a pos file \(expected \*\.csv\)"):
        ingest_partition(settings, "pos", D0501)
    with pytest.raises(ValueError, match="unknown source"):
        ingest_partition(settings, "wechat_pay", D0501)


def test_read_partition_without_rows_has_the_schema(settings):
    table = read_partition(settings, "eleme", date(2030, 1, 1))
    assert table.num_rows == 0 and table.schema == RAW_TABLES["eleme_orders"]


@pytest.mark.parametrize("batch_bytes, workers", [(64 << 20, 1), (1, 1), (1, 2)], ids=["one batch", "batch per day", "two processes"])
def test_a_range_of_days_in_batches_equals_day_by_day(settings, tmp_path, monkeypatch, batch_bytes, workers):
    """ingest_days parses many days (and files) as one batch, or in batches spread over worker
    processes; what it writes is exactly what day-by-day ingestion writes, the rows it hands
    back are those written, and a day with an unreadable file fails alone."""
    monkeypatch.setattr(partition, "BATCH_BYTES", batch_bytes)
    days = [D0501, date(2024, 5, 2), D0503]
    day_by_day = settings.with_paths(raw=tmp_path / "raw1", pii=tmp_path / "pii1")
    for source in SOURCE_TABLES:
        for day in days:
            ingest_partition(day_by_day, source, day, hasher=None)
        outcomes = list(ingest_days(settings, source, days, workers=workers))
        for o in outcomes:
            assert o.rows == read_partition(settings, source, o.delivery_date)
        assert [o.delivery_date for o in outcomes] == days
        assert all(o.error is None for o in outcomes)
    assert _same_tables(settings, day_by_day)

    write(settings.landing_dir / "pos/2024-05-03/SH003_20240503.csv", bytes([0xFF, 0x80]) * 100)
    before = snapshot(settings.raw_dir / "pos_lines")
    outcomes = {o.delivery_date: o for o in ingest_days(settings, "pos", days, workers=workers)}
    assert outcomes[D0503].result is None and "SH003_20240503.csv" in outcomes[D0503].error
    assert outcomes[D0501].result is not None and outcomes[D0501].rows.num_rows == 6
    assert snapshot(settings.raw_dir / "pos_lines") == before


def _same_tables(a, b) -> bool:
    """The same Parquet files with the same rows (file_loads: but for loaded_at)."""
    for root_a, root_b in ((a.raw_dir, b.raw_dir), (a.pii_dir, b.pii_dir)):
        paths = sorted(p.relative_to(root_a) for p in root_a.rglob("*.parquet"))
        if paths != sorted(p.relative_to(root_b) for p in root_b.rglob("*.parquet")) or not paths:
            return False
        for path in paths:
            ta, tb = pq.read_table(root_a / path), pq.read_table(root_b / path)
            if "file_loads" in path.parts:
                ta, tb = ta.drop_columns(["loaded_at"]), tb.drop_columns(["loaded_at"])
            if ta != tb:
                return False
    return True


def test_files_of_the_earlier_one_file_per_landing_file_layout_are_replaced(settings):
    ingest_partition(settings, "pos", D0501)
    raw = settings.raw_dir
    for folder, name in (("pos_lines", "SH001_20240501.csv.parquet"), ("file_loads", "pos__SH001_20240501.csv.parquet")):
        (raw / folder / "2024-05-01" / name).write_bytes((raw / folder / "2024-05-01" / (
            "pos.parquet")).read_bytes())
    ingest_partition(settings, "pos", D0501)
    assert sorted(p.name for p in (raw / "pos_lines/2024-05-01").iterdir()) == ["pos.parquet"]
    assert sorted(p.name for p in (raw / "file_loads/2024-05-01").iterdir()) == ["pos.parquet"]


def test_a_stage_is_made_although_another_process_removes_the_empty_staging_folder(tmp_path, monkeypatch):
    """Two ingestion processes: one creates .staging for its batch, the other, just done, removes
    the then empty .staging before the first creates its folder in it (seen once in CI as a
    FileNotFoundError). The stage is made anyway."""
    import os

    from assets.ingest import partition

    stage = tmp_path / "raw" / ".staging" / "token"
    real_mkdir = os.mkdir
    removed = []

    def mkdir_then_other_process_cleans_up(path, *args, **kwargs):
        real_mkdir(path, *args, **kwargs)
        if os.fspath(path) == os.fspath(stage.parent) and not removed:
            os.rmdir(path)  # the other process's `.staging` rmdir, in between
            removed.append(path)

    monkeypatch.setattr(os, "mkdir", mkdir_then_other_process_cleans_up)
    partition._make_stage(stage)
    assert removed and stage.is_dir()
