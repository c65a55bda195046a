"""Great Expectations suites on the raw tables (one cached ephemeral context per process)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from assets.ingest import expectations
from assets.ingest.expectations import validate_rows, validate_table
from assets.ingest.partition import ingest_partition, read_partition
from assets.ingest.schemas import SOURCE_TABLES
from tests.ingest.helpers import D0501, D0503


@pytest.fixture
def ingested(settings):
    for source in SOURCE_TABLES:
        for day in (D0501, D0503):
            ingest_partition(settings, source, day)
    return settings


def test_every_sample_table_passes_its_suite(ingested):
    for source, table in SOURCE_TABLES.items():
        rows = read_partition(ingested, source, D0501)
        result = validate_rows(table, rows.to_pandas())
        assert result["success"], result["failed"]
        assert result["evaluated"] >= 20
        assert result["failed"] == [] and result["unexpected_counts"] == {}
    assert validate_table("pos_lines", read_partition(ingested, "pos", D0503))["success"]
    assert expectations._state["context"] is expectations._context()["context"]  # built once


def test_broken_rows_are_reported_in_plain_words(ingested):
    df = read_partition(ingested, "pos", D0501).to_pandas()
    df.loc[0, "order_type"] = "X"
    df.loc[1, "paid_amount_yuan"] = Decimal("-1.00")  # a SALE with a negative amount
    df.loc[2, "phone_hash"] = "abc"
    df.loc[3, "order_no"] = None
    result = validate_rows("pos_lines", df)
    assert not result["success"]
    failed = "\n".join(result["failed"])
    assert "pos_lines: order_type is one of SALE, REFUND: 1 row(s) do not (e.g. 'X')" in failed
    assert "paid_amount_yuan >= 0 where order_type==\"SALE\"" in failed
    assert "phone_hash is a 64-character HMAC or null" in failed
    assert "order_no is never null" in failed
    assert result["unexpected_counts"]["order_type is one of SALE, REFUND"] == 1


def test_empty_frame_and_unknown_table():
    import pandas as pd

    assert validate_rows("pos_lines", pd.DataFrame()) == {
        "success": True, "evaluated": 0, "failed": [], "unexpected_counts": {},
    }
    with pytest.raises(ValueError, match="no expectation suite"):
        validate_rows("nope", pd.DataFrame({"a": [1]}))


def test_gx_starts_without_pyspark_scipy_stats_and_altair_and_leaves_them_importable():
    """Under ``python -c`` (no ``__main__`` file), where an import of pyspark would end the
    process: GX's context is built without pyspark, and without importing scipy.stats and altair
    (≈ 1.5 s of its start, for an expectation and charts memberflow does not use); a suite
    validates; GX's own use of scipy.stats still works; and all three can be imported afterwards
    as the real modules (dbt-spark's side of the project, the bench's floors)."""
    import subprocess
    import sys

    code = (
        "import sys, types, pandas as pd\n"
        "from assets.ingest import expectations as e\n"
        "e._context()\n"
        "print('pyspark after GX:', 'pyspark' in sys.modules)\n"
        "print('gx spark:', type(__import__('great_expectations.compatibility.pyspark', "
        "fromlist=['x']).pyspark).__name__)\n"
        "print('scipy.stats, altair after GX:', any(m in sys.modules for m in "
        "('scipy.stats', 'scipy.stats._stats_py', 'scipy.optimize', 'altair', 'altair.vegalite')))\n"
        "r = e.validate_rows('pos_lines', pd.DataFrame({'line_uid': ['x'], 'qty': [1]}))\n"
        "print('validated:', r['evaluated'] > 0)\n"
        "from great_expectations.expectations.core import expect_column_kl_divergence_to_be_less_than as kl\n"
        "print('gx scipy.stats:', round(float(kl.stats.entropy([0.5, 0.5], [0.9, 0.1])), 4))\n"
        "import scipy.stats, altair, pyspark\n"
        "print('real modules:', [type(m) is types.ModuleType and hasattr(m, '__file__') "
        "for m in (scipy.stats, sys.modules['scipy.stats'], altair)], bool(scipy.stats.norm.cdf(0)))\n"
        "print('pyspark importable:', bool(pyspark.__version__))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.splitlines() == [
        "pyspark after GX: False",
        "gx spark: NotImported",
        "scipy.stats, altair after GX: False",
        "validated: True",
        "gx scipy.stats: 0.5108",
        "real modules: [True, True, True] True",
        "pyspark importable: True",
    ], done.stdout + done.stderr[-2000:]
