"""The same dbt build on DuckDB and on Spark over the same raw files, and their comparison.

Used by tests/spark/test_cross_engine.py; also runnable by hand:
``python -m tests.spark.crossengine /tmp/somewhere`` builds both and prints the differences.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import duckdb

from orchestration.dbt_cli import run_dbt
from orchestration.engine import READER_SCHEMAS, attach_spark_tables
from orchestration.settings import Settings, load_settings

# Small: the Spark build (a local session on 2 cores) stays within a few minutes.
PERSONS = 80
DAYS = 30
START = date(2024, 3, 1)
THROUGH = START + timedelta(days=DAYS - 1)
SEED = 7

# Rules scaled to a 30-day history so that every audience, cooldown, tier change and point
# expiry happens inside it (the SPEC's defaults need a year of data); both engines get the same.
RULES = """
facts:
  window_days: 30
  new_days: 5
  active_max_recency_days: 6
  dormant_max_recency_days: 20
tiers:
  growth_window_days: 30
  downgrade_horizon_days: 7
  bands: {regular: 0, silver: 100, gold: 200}
points:
  validity_days: 14
  expiring_window_days: 7
audiences:
  reactivation_cooldown_days: 10
  tier_downgrade_cooldown_days: 12
  points_reminder_days: [7, 3]
"""

# Production builds leave dbt unit tests to the test suite (assets/dbt.py); so do these.
BUILD_ARGS = ["build", "--exclude-resource-type", "unit_test"]


@dataclass
class EngineBuild:
    settings: Settings
    seconds: float
    stdout: str = field(repr=False, default="")


def java_problem() -> str | None:
    """Why Spark cannot start here (no Java 17+), or None."""
    java = shutil.which("java")
    if java is None:
        return "no `java` on PATH: the Spark build needs Java 17 (apt-get install openjdk-17-jre-headless)"
    try:
        out = subprocess.run([java, "-version"], capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"`java -version` failed: {exc}"
    text = out.stderr + out.stdout
    for token in text.replace('"', " ").split():
        head = token.split(".")[0]
        if head.isdigit() and "." in token:
            major = int(head) if head != "1" else int(token.split(".")[1])
            return None if major >= 17 else f"Java {token} found, Spark 4 needs Java 17+"
    return f"could not read the Java version from: {text.strip()[:200]}"


def base_settings(root: Path) -> Settings:
    rules = root / "rules.yaml"
    rules.write_text(RULES, encoding="utf-8")
    return load_settings(rules).with_paths(
        landing=root / "demo" / "landing",
        stores=root / "demo" / "stores.csv",
        raw=root / "raw",
        pii=root / "pii",
        warehouse=root / "duckdb" / "memberflow.duckdb",
        publish=root / "bi",
        outbox=root / "outbox",
        spark=root / "spark",
    )


def generate_and_ingest(root: Path) -> Settings:
    """Generate the landing zone and ingest every delivery day into raw Parquet (once)."""
    from generator import generate
    from orchestration.cli import run_job

    generate(root / "demo", persons=PERSONS, days=DAYS, start=START, seed=SEED)
    settings = base_settings(root).with_target("duckdb")
    run_job(settings, "ingest_job", START, THROUGH)
    return settings


def build(settings: Settings, target: str, log_dir: Path) -> EngineBuild:
    """One dbt build as of THROUGH with audiences from START, as the Dagster dbt asset runs it."""
    engine_settings = settings.with_target(target)
    started = time.perf_counter()
    result = run_dbt(
        engine_settings,
        BUILD_ARGS,
        as_of_date=THROUGH,
        audience_from=START,
        target_path=log_dir / f"target_{target}",
    )
    return EngineBuild(engine_settings, time.perf_counter() - started, result.stdout)


def _columns(con: duckdb.DuckDBPyConnection, relation: str) -> list[tuple[str, str]]:
    return [(name, dtype) for name, dtype, *_ in con.execute(f"describe {relation}").fetchall()]


def _normal_type(dtype: str) -> str:
    """Types as both engines can hold them: integer widths and text flavours compare equal,
    decimals keep precision and scale."""
    dtype = dtype.upper()
    if dtype in ("TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT"):
        return "INTEGER"
    return dtype


def _value(value):
    if isinstance(value, float):
        raise AssertionError(f"a float reached a compared table: {value!r}")
    if isinstance(value, Decimal):
        return ("decimal", value)
    return value


def compare(duck: Settings, spark: Settings, schemas: tuple[str, ...] = READER_SCHEMAS) -> dict:
    """{'tables': [...], 'problems': [...]}: every table of `schemas` on both engines, compared by
    columns (names, order, types; decimals with precision and scale) and rows (as a multiset,
    values exactly: decimals as Decimal)."""
    con = duckdb.connect(":memory:")
    con.execute(f"attach '{duck.warehouse_path}' as duck (read_only)")
    attach_spark_tables(con, spark, schemas)
    duck_tables = {
        (s, t)
        for s, t, kind in con.execute(
            "select table_schema, table_name, table_type from information_schema.tables "
            "where table_catalog = 'duck'"
        ).fetchall()
        if s in schemas
    }
    spark_tables = {
        (s, t)
        for s, t in con.execute(
            "select table_schema, table_name from information_schema.tables "
            "where table_catalog = 'memory'"
        ).fetchall()
        if s in schemas
    }
    problems: list[str] = []
    for missing in sorted(duck_tables - spark_tables):
        problems.append(f"{'.'.join(missing)}: on DuckDB, not on Spark")
    for extra in sorted(spark_tables - duck_tables):
        problems.append(f"{'.'.join(extra)}: on Spark, not on DuckDB")
    compared = []
    for schema, table in sorted(duck_tables & spark_tables):
        name = f"{schema}.{table}"
        d_rel, s_rel = f'duck."{schema}"."{table}"', f'memory."{schema}"."{table}"'
        d_cols, s_cols = _columns(con, d_rel), _columns(con, s_rel)
        if [c for c, _ in d_cols] != [c for c, _ in s_cols]:
            problems.append(f"{name}: columns differ\n  duckdb {d_cols}\n  spark  {s_cols}")
            continue
        types = [
            (c, dt, st) for (c, dt), (_, st) in zip(d_cols, s_cols) if _normal_type(dt) != _normal_type(st)
        ]
        if types:
            problems.append(f"{name}: column types differ (column, duckdb, spark): {types}")
        cols = ", ".join(f'"{c}"' for c, _ in d_cols)
        d_rows = [tuple(_value(v) for v in r) for r in con.execute(f"select {cols} from {d_rel}").fetchall()]
        s_rows = [tuple(_value(v) for v in r) for r in con.execute(f"select {cols} from {s_rel}").fetchall()]
        key = lambda r: tuple((v is None, str(v)) for v in r)  # noqa: E731
        d_sorted, s_sorted = sorted(d_rows, key=key), sorted(s_rows, key=key)
        compared.append((name, len(d_rows)))
        if d_sorted != s_sorted:
            only_d = [r for r in d_sorted if r not in s_sorted][:3]
            only_s = [r for r in s_sorted if r not in d_sorted][:3]
            problems.append(
                f"{name}: rows differ ({len(d_rows)} on DuckDB, {len(s_rows)} on Spark)\n"
                f"  only on DuckDB: {only_d}\n  only on Spark:  {only_s}"
            )
    con.close()
    return {"tables": compared, "problems": problems}


def main(root: str) -> int:
    work = Path(root)
    work.mkdir(parents=True, exist_ok=True)
    settings = generate_and_ingest(work)
    duck = build(settings, "duckdb", work)
    print(f"duckdb build {duck.seconds:.1f}s", flush=True)
    spark = build(settings, "spark", work)
    print(f"spark build {spark.seconds:.1f}s", flush=True)
    result = compare(duck.settings, spark.settings)
    for name, rows in result["tables"]:
        print(f"  {name}: {rows} rows")
    for problem in result["problems"]:
        print("PROBLEM", problem)
    return 1 if result["problems"] else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
