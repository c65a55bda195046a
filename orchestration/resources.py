"""Resources: everything that touches the outside world (files, the warehouse, dbt)."""

from __future__ import annotations

import sys
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


def dbt_resource() -> DbtCliResource:
    # The dbt installed beside this Python, so a venv works without being activated.
    return DbtCliResource(
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
