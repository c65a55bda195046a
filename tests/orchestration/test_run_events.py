"""A run over a range of days plans each asset once for the range (DAGSTER_RUN_ENV), and still
records every day of every asset as materialized: a real ingest run over three generated days
into a Dagster instance of its own, configured as production's (orchestration/dagster.yaml)."""

import shutil
from datetime import date

import dagster as dg

from generator import generate
from orchestration.cli import run_job
from orchestration.settings import PROJECT_ROOT, load_settings

DAYS = [date(2024, 5, 1), date(2024, 5, 2), date(2024, 5, 3)]
INGESTED = ["pos_lines", "meituan_orders", "eleme_orders", "miniprogram_orders", "miniprogram_members"]


def test_a_range_run_plans_each_asset_once_and_materializes_every_day(tmp_path, monkeypatch):
    generate(tmp_path / "demo", persons=30, days=len(DAYS), start=DAYS[0], seed=5)
    settings = load_settings().with_paths(
        landing=tmp_path / "demo" / "landing", stores=tmp_path / "demo" / "stores.csv",
        raw=tmp_path / "raw", pii=tmp_path / "pii", warehouse=tmp_path / "w.duckdb")
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "dagster_home"))
    (tmp_path / "dagster_home").mkdir()
    shutil.copy(PROJECT_ROOT / "orchestration" / "dagster.yaml", tmp_path / "dagster_home")  # production's
    monkeypatch.delenv("DAGSTER_EMIT_PARTITION_SUBSET_IN_PLANNED_EVENTS", raising=False)
    run_job(settings, "ingest_job", DAYS[0], DAYS[-1])

    with dg.DagsterInstance.get() as instance:
        planned = instance.get_records_for_run(
            run_id=instance.get_runs(limit=1)[0].run_id,
            of_type=dg.DagsterEventType.ASSET_MATERIALIZATION_PLANNED,
        ).records
        assert len(planned) == len(INGESTED)  # not 15: one per asset for the three days
        days = {d.isoformat() for d in DAYS}
        for table in INGESTED:
            key = dg.AssetKey(["raw", table])
            assert instance.get_materialized_partitions(key) == days, table
