"""Running dbt with memberflow's settings: the env (paths) and the vars (business rules).

Dagster runs dbt through ``DbtCliResource``; this module builds the same arguments for the
``memberflow dbt`` command, the manifest preparation and the tests.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import date
from pathlib import Path

from orchestration.settings import DBT_PROJECT_DIR, Settings


def dbt_env(
    settings: Settings,
    target_path: Path | None = None,
    as_of_date: date | None = None,
    audience_from: date | None = None,
) -> dict[str, str]:
    env = dict(os.environ)
    env.update(settings.env())
    env.update(settings.run_env(as_of_date, audience_from))
    env.setdefault("DBT_SEND_ANONYMOUS_USAGE_STATS", "false")
    env["DBT_PROFILES_DIR"] = str(DBT_PROJECT_DIR)
    if target_path is not None:
        env["DBT_TARGET_PATH"] = str(target_path)
        env["DBT_LOG_PATH"] = str(Path(target_path) / "logs")
    return env


def dbt_vars_arg(settings: Settings) -> list[str]:
    """The business rules as ``--vars``: the same string for every build of one configuration
    (sorted keys), so dbt's partial parse is reused; the as-of date goes by environment."""
    return ["--vars", json.dumps(settings.dbt_vars(), sort_keys=True)]


def prepare_warehouse(settings: Settings) -> None:
    """Create the folders the target writes to: the DuckDB file's folder, or the local Spark
    session's warehouse, metastore and scratch folders (never the working directory)."""
    settings.warehouse_path.parent.mkdir(parents=True, exist_ok=True)
    if settings.target == "spark":
        for folder in ("warehouse", "metastore", "tmp"):
            (settings.spark_dir / folder).mkdir(parents=True, exist_ok=True)


def run_dbt(
    settings: Settings,
    args: list[str],
    as_of_date: date | None = None,
    target_path: Path | None = None,
    check: bool = True,
    audience_from: date | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run ``dbt <args>`` in the project with memberflow's env and vars; output is captured."""
    from assets.ingest.layout import ensure_raw_layout

    ensure_raw_layout(settings.raw_dir, settings.pii_dir)
    prepare_warehouse(settings)
    command = [
        str(Path(sys.executable).with_name("dbt")),
        *args,
        "--project-dir",
        str(DBT_PROJECT_DIR),
        *dbt_vars_arg(settings),
    ]
    result = subprocess.run(
        command,
        env=dbt_env(settings, target_path, as_of_date, audience_from),
        capture_output=True,
        text=True,
    )
    if check and result.returncode != 0:
        raise RuntimeError(
            f"dbt {' '.join(args)} failed (exit {result.returncode}):\n{result.stdout[-6000:]}\n{result.stderr[-3000:]}"
        )
    return result
