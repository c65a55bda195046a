"""One small generated dataset, ingested once, built by dbt on DuckDB and on Spark."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.spark import crossengine


@dataclass
class CrossEngineBuild:
    root: Path
    duckdb: crossengine.EngineBuild
    spark: crossengine.EngineBuild


@pytest.fixture(scope="session")
def cross_engine_build(tmp_path_factory: pytest.TempPathFactory) -> CrossEngineBuild:
    problem = crossengine.java_problem()
    if problem:
        # CI has Java 17: a missing Java is a broken environment, never a silent skip.
        pytest.fail(f"the Spark build cannot run: {problem}", pytrace=False)
    root = tmp_path_factory.mktemp("cross_engine")
    settings = crossengine.generate_and_ingest(root)
    duck = crossengine.build(settings, "duckdb", root)
    spark = crossengine.build(settings, "spark", root)
    return CrossEngineBuild(root=root, duckdb=duck, spark=spark)
