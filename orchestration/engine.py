"""Reading the warehouse from Python, whatever engine built it.

On DuckDB the warehouse is one file. On Spark (dbt target ``spark``) every table is a folder of
Parquet files under the Spark warehouse, ``<spark dir>/warehouse/<schema>.db/<table>/``. Python
readers (the BI copy, the outbox, tests) open either through :func:`open_warehouse`: a DuckDB
connection in which ``<schema>.<table>`` names work the same on both engines. Spark views
(staging, some intermediates) are not readable this way; every identity, marts, quality and
audiences relation is a table on Spark.
"""

from __future__ import annotations

from pathlib import Path

import duckdb

from orchestration.settings import Settings

# The schemas Python readers use (BI copy, outbox, the cross-engine test).
READER_SCHEMAS = ("identity", "marts", "quality", "audiences")


def spark_table_dir(settings: Settings, schema: str, table: str) -> Path:
    """The folder of a Spark managed table (dbt target ``spark``)."""
    return settings.spark_warehouse_dir / f"{schema}.db" / table


def spark_tables(settings: Settings, schema: str) -> dict[str, Path]:
    """{table: folder} of one Spark schema; a table with no Parquet file yet is left out."""
    schema_dir = settings.spark_warehouse_dir / f"{schema}.db"
    if not schema_dir.is_dir():
        return {}
    return {
        folder.name: folder
        for folder in sorted(schema_dir.iterdir())
        if folder.is_dir() and any(folder.rglob("*.parquet"))
    }


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def attach_spark_tables(
    con: duckdb.DuckDBPyConnection,
    settings: Settings,
    schemas: tuple[str, ...] = READER_SCHEMAS,
    catalog: str | None = None,
) -> None:
    """Create in ``con`` (in ``catalog``, default the current one) one view ``<schema>.<table>``
    per Spark table of ``schemas``, reading its Parquet folder (every file of the table, whatever
    Spark named them)."""
    prefix = f"{_quote(catalog)}." if catalog else ""
    for schema in schemas:
        con.execute(f"create schema if not exists {prefix}{_quote(schema)}")
        for table, folder in spark_tables(settings, schema).items():
            pattern = str(folder / "**" / "*.parquet").replace("'", "''")
            con.execute(
                f"create or replace view {prefix}{_quote(schema)}.{_quote(table)} as "
                f"select * from read_parquet('{pattern}')"
            )


def attach_warehouse(con: duckdb.DuckDBPyConnection, settings: Settings, alias: str = "wh") -> None:
    """Make the warehouse readable in ``con`` as the catalog ``alias`` (``wh."marts"."orders"``),
    whatever the engine: the DuckDB file attached read-only, or for Spark an in-memory catalog of
    views over the tables' Parquet folders. A drop-in for ``attach '<file>' as wh (read_only)``."""
    if settings.engine == "duckdb":
        path = str(settings.warehouse_path).replace("'", "''")
        con.execute(f"attach '{path}' as {_quote(alias)} (read_only)")
        return
    con.execute(f"attach ':memory:' as {_quote(alias)}")
    attach_spark_tables(con, settings, catalog=alias)


def open_warehouse(settings: Settings) -> duckdb.DuckDBPyConnection:
    """A read-only view of the warehouse as a DuckDB connection.

    DuckDB target: the warehouse file, opened read-only (close it before the next build: DuckDB
    allows one writer and a reader blocks it). Spark targets: an in-memory DuckDB whose views
    read the Spark tables' Parquet folders (nothing is copied; Spark may write meanwhile, a
    reader then sees the files of the moment it opens a view).
    """
    if settings.engine == "duckdb":
        return duckdb.connect(str(settings.warehouse_path), read_only=True)
    con = duckdb.connect(":memory:")
    attach_spark_tables(con, settings)
    return con


def open_reader(warehouse: Settings | Path) -> duckdb.DuckDBPyConnection:
    """:func:`open_warehouse` for a run's settings; a plain path is a DuckDB warehouse file."""
    if isinstance(warehouse, Settings):
        return open_warehouse(warehouse)
    return duckdb.connect(str(warehouse), read_only=True)
