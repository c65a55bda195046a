"""One generated landing zone, built once through the real pipeline, shared by the e2e tests."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import duckdb
import pytest

from generator import generate
from orchestration.cli import run_pipeline
from orchestration.settings import Settings, load_settings

PERSONS = 200
DAYS = 100
START = date(2024, 3, 1)
THROUGH = START + timedelta(days=DAYS - 1)


@dataclass
class Build:
    root: Path
    settings: Settings
    through: date
    materializations: dict  # asset key ("marts/member_facts") → metadata of the first run
    run_id: str  # the first run's (daily_pipeline_job)
    check_evaluations: list  # the first run's asset check evaluations (the dbt tests)

    def query(self, sql: str, params: list | None = None) -> list[tuple]:
        con = duckdb.connect(str(self.settings.warehouse_path), read_only=True)
        try:
            return con.execute(sql, params or []).fetchall()
        finally:
            con.close()


def settings_for(root: Path, rules: Path | None = None) -> Settings:
    """Settings for a generated landing zone under ``root`` (memberflow.yaml's rules, or
    ``rules``), every path under ``root``."""
    return load_settings(rules).with_paths(
        landing=root / "demo" / "landing",
        stores=root / "demo" / "stores.csv",
        raw=root / "raw",
        pii=root / "pii",
        warehouse=root / "warehouse" / "memberflow.duckdb",
        publish=root / "bi",
        outbox=root / "outbox",
    )


@pytest.fixture(scope="session")
def demo_build(tmp_path_factory: pytest.TempPathFactory) -> Build:
    root = tmp_path_factory.mktemp("e2e")
    generate(root / "demo", persons=PERSONS, days=DAYS, start=START, seed=11)
    settings = settings_for(root)
    result = run_pipeline(settings, None, THROUGH, quiet=True)
    return Build(root=root, settings=settings, through=THROUGH,
                 materializations=result["materializations"], run_id=result["run_id"],
                 check_evaluations=result["check_evaluations"])
