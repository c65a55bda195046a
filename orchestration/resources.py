"""Resources: everything that touches the outside world (files, the warehouse, dbt)."""

from __future__ import annotations

import sys
from functools import cached_property
from importlib import metadata
from pathlib import Path

import dagster as dg
from dagster_dbt import DbtCliResource

from orchestration.settings import DBT_PROJECT_DIR, Settings, load_settings

# One writer at a time on the DuckDB file (dbt, audiences, publish): a Dagster pool whose limit
# is 1 (set in the instance's dagster.yaml: concurrency.pools.default_limit).
WAREHOUSE_WRITER_POOL = "duckdb_writer"


class MemberflowConfig(dg.ConfigurableResource):
    """memberflow.yaml (plus MEMBERFLOW_CONFIG / env overrides), resolved at run time.

    Each field left empty keeps the configured value; set one in the launchpad to point a run at
    another landing zone or warehouse.
    """

    config_file: str = ""
    landing: str = ""
    warehouse: str = ""
    outbox: str = ""
    # The dbt target, i.e. the engine: "duckdb", "spark" (local Spark session) or "spark_thrift"
    # (a cluster). Empty keeps warehouse.target of memberflow.yaml / MEMBERFLOW_TARGET.
    engine: str = ""

    def settings(self) -> Settings:
        settings = load_settings(self.config_file or None)
        return settings.with_target(self.engine or None).with_paths(
            landing=self.landing or None,
            warehouse=self.warehouse or None,
            outbox=self.outbox or None,
        )


class MemberflowDbtCliResource(DbtCliResource):
    """dagster-dbt's resource without two costs it pays at every dbt step, before dbt starts
    (8 s of a daily run measured on a slow 2-core host; ≈ 3 s expected on a host 2.5× faster):

    - it runs ``dbt --version`` (a whole dbt process start, plus a check for the latest release)
      to learn the version of the executable: ours is the dbt beside this Python, so it is the
      installed dbt-core package's version;
    - it builds an in-process dbt adapter (imports dbt and the adapter, loads the project and
      profile), which it needs only to fetch column metadata from the warehouse: memberflow does
      not ask for that (dbt logs the row counts and distributions itself: assets/dbt.py,
      macros/engine/row_counts.sql).

    Both are private to dagster-dbt (pinned, pyproject.toml); the caller already treats a missing
    adapter as no adapter, and tests/orchestration/test_dbt_resource.py checks that the pinned
    release still calls both.
    """

    @cached_property
    def _cli_version(self):  # type: ignore[override]
        from packaging import version

        return version.parse(metadata.version("dbt-core"))

    def _initialize_dbt_core_adapter(self, args):  # type: ignore[override]
        return None


def dbt_resource() -> DbtCliResource:
    # The dbt installed beside this Python, so a venv works without being activated.
    return MemberflowDbtCliResource(
        project_dir=str(DBT_PROJECT_DIR),
        profiles_dir=str(DBT_PROJECT_DIR),
        dbt_executable=str(Path(sys.executable).with_name("dbt")),
    )


def build_resources() -> dict[str, object]:
    return {"memberflow": MemberflowConfig(), "dbt": dbt_resource()}


def warehouse_exists(settings: Settings) -> bool:
    if settings.engine == "spark":
        return settings.spark_warehouse_dir.is_dir()
    return Path(settings.warehouse_path).exists()
