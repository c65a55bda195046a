"""Publish the BI-facing schemas to a separate read-only DuckDB file (SPEC §9).

DuckDB allows one read-write process per file, and even a read-only reader conflicts with a
writer in another process. So BI never opens the pipeline's warehouse: after each run the
BI-facing schemas are copied into ``<publish>/memberflow_bi.duckdb``, built aside and swapped in
with an atomic rename. A BI tool holding the old copy open keeps reading it; the next connection
sees the new one.
"""

import os
import time
from pathlib import Path

import dagster as dg
from dagster import AssetExecutionContext
import duckdb

from assets.dbt import memberflow_dbt_assets
from orchestration.engine import attach_warehouse
from orchestration.partitions import daily_partitions
from orchestration.resources import WAREHOUSE_WRITER_POOL, MemberflowConfig
from orchestration.settings import Settings

BI_SCHEMAS = ("marts", "quality", "audiences")
BI_FILE_NAME = "memberflow_bi.duckdb"


def publish_bi_copy(warehouse: Settings | Path, publish_dir: Path) -> dict[str, int]:
    """Copy every table and view of the BI schemas into a fresh file; return rows per table."""
    publish_dir.mkdir(parents=True, exist_ok=True)
    target = publish_dir / BI_FILE_NAME
    staging = publish_dir / f".{BI_FILE_NAME}.{os.getpid()}.tmp"
    staging.unlink(missing_ok=True)
    counts: dict[str, int] = {}
    con = duckdb.connect(str(staging))
    try:
        if isinstance(warehouse, Settings):  # either engine (Spark: its tables' Parquet)
            attach_warehouse(con, warehouse, "wh")
        else:
            con.execute(f"attach '{warehouse}' as wh (read_only)")
        tables = con.execute(
            "select table_schema, table_name from information_schema.tables "
            "where table_catalog = 'wh' and table_schema in "
            f"({', '.join(repr(s) for s in BI_SCHEMAS)}) order by 1, 2"
        ).fetchall()
        for schema in sorted({s for s, _ in tables}):
            con.execute(f'create schema if not exists "{schema}"')
        for schema, table in tables:
            con.execute(f'create table "{schema}"."{table}" as select * from wh."{schema}"."{table}"')
            counts[f"{schema}.{table}"] = con.execute(
                f'select count(*) from "{schema}"."{table}"'
            ).fetchone()[0]
        con.execute(
            "create table main.published_at as select cast(? as timestamp) as published_at_utc",
            [time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime())],
        )
        con.execute("detach wh")
        con.execute("checkpoint")
    finally:
        con.close()
    os.replace(staging, target)
    return counts


@dg.asset(
    key=dg.AssetKey(["publish", "bi_copy"]),
    group_name="publish",
    partitions_def=daily_partitions,
    backfill_policy=dg.BackfillPolicy.single_run(),
    pool=WAREHOUSE_WRITER_POOL,
    deps=[memberflow_dbt_assets],
    kinds={"duckdb"},
    description=(
        "A read-only copy of the marts, quality and audiences schemas for BI tools, swapped in "
        "atomically after each run: `<publish>/memberflow_bi.duckdb`."
    ),
)
def bi_copy(context: AssetExecutionContext, memberflow: MemberflowConfig) -> dg.MaterializeResult:
    settings = memberflow.settings()
    counts = publish_bi_copy(settings, settings.publish_dir)
    context.log.info(f"published {len(counts)} tables to {settings.publish_dir / BI_FILE_NAME}")
    return dg.MaterializeResult(
        metadata={
            "path": dg.MetadataValue.path(str(settings.publish_dir / BI_FILE_NAME)),
            "tables": len(counts),
            "rows": dg.MetadataValue.json(counts),
        }
    )
