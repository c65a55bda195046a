"""Selecting the engine is configuration, not code: memberflow.yaml / MEMBERFLOW_TARGET, or the
Dagster resource; Python readers open a Spark warehouse's tables as Parquet."""

from __future__ import annotations

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import duckdb

from orchestration.engine import attach_warehouse, open_warehouse, spark_table_dir
from orchestration.resources import MemberflowConfig
from orchestration.settings import ConfigError, load_settings


def test_target_from_environment(monkeypatch):
    monkeypatch.setenv("MEMBERFLOW_TARGET", "spark")
    settings = load_settings()
    assert (settings.target, settings.engine) == ("spark", "spark")
    env = settings.env()
    assert env["MEMBERFLOW_TARGET"] == "spark"
    assert env["MEMBERFLOW_SPARK_DIR"] == str(settings.spark_dir)
    assert env["MEMBERFLOW_SPARK_DRIVER_MEMORY"] == "2g"


def test_duckdb_memory_limit_from_configuration_or_environment(monkeypatch, tmp_path):
    monkeypatch.delenv("MEMBERFLOW_DUCKDB_MEMORY_LIMIT", raising=False)
    assert load_settings().env()["MEMBERFLOW_DUCKDB_MEMORY_LIMIT"] == "4GB"  # memberflow.yaml
    override = tmp_path / "override.yaml"
    override.write_text("warehouse:\n  duckdb:\n    memory_limit: 2GB\n")
    assert load_settings(override).env()["MEMBERFLOW_DUCKDB_MEMORY_LIMIT"] == "2GB"
    monkeypatch.setenv("MEMBERFLOW_DUCKDB_MEMORY_LIMIT", "3GB")
    assert load_settings(override).env()["MEMBERFLOW_DUCKDB_MEMORY_LIMIT"] == "3GB"


def test_unknown_target_is_refused(monkeypatch):
    monkeypatch.setenv("MEMBERFLOW_TARGET", "bigquery")
    with pytest.raises(ConfigError, match="warehouse.target"):
        load_settings()


def test_dagster_resource_selects_the_engine(monkeypatch):
    monkeypatch.delenv("MEMBERFLOW_TARGET", raising=False)
    assert MemberflowConfig().settings().engine == "duckdb"
    settings = MemberflowConfig(engine="spark").settings()
    assert settings.engine == "spark"
    # what assets/dbt.py hands to dbt: profiles.yml picks its target from it
    assert settings.env()["MEMBERFLOW_TARGET"] == "spark"
    assert MemberflowConfig(engine="spark_thrift").settings().engine == "spark"


def test_open_warehouse_reads_spark_parquet_tables(tmp_path):
    settings = load_settings().with_target("spark").with_paths(spark=tmp_path / "spark")
    folder = spark_table_dir(settings, "marts", "member_tiers")
    folder.mkdir(parents=True)
    table = pa.table(
        {
            "one_id": ["P000000000001", "P000000000002"],
            "spend": pa.array([1, 2], pa.int64()),
        }
    )
    pq.write_table(table.slice(0, 1), folder / "part-00000-a.snappy.parquet")
    pq.write_table(table.slice(1, 1), folder / "part-00001-b.snappy.parquet")
    (folder / "_SUCCESS").write_text("")
    con = open_warehouse(settings)
    try:
        rows = con.sql("select one_id, spend from marts.member_tiers order by 1").fetchall()
    finally:
        con.close()
    assert rows == [("P000000000001", 1), ("P000000000002", 2)]

    con = duckdb.connect()
    try:
        attach_warehouse(con, settings, "wh")
        tables = con.sql(
            "select table_schema, table_name from information_schema.tables where table_catalog = 'wh'"
        ).fetchall()
        assert ("marts", "member_tiers") in tables
        assert con.execute('select count(*) from wh."marts"."member_tiers"').fetchone() == (2,)
    finally:
        con.close()
