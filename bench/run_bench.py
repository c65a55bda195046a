"""memberflow benchmark: generate, full build, one-day incremental run, floors; prints a table.

    .venv/bin/python bench/run_bench.py --persons 100000 --days 400 [--out bench/out]

Stages run as separate processes so each gets its own wall time and peak RSS (``wait4``):
generate, ingest (every delivery day, one Dagster run), identity (dbt: staging → OneID → orders
and members), facts (RFM, tiers, points, KPIs), audiences (every day of the range in one pass),
publish (BI copy); then the incremental run of the last day (ingest + dbt + publish through the
CLI). On the same data and in the same run it measures the floors — a plain DuckDB scan that
aggregates the raw orders per buyer, scipy connected components on the identifier edges — and a
pandas RFM baseline, and shows every stage as a ratio to its floor.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from datetime import date, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.floors import components_floor, pairwise_quality, pandas_rfm, scan_floor  # noqa: E402

DBT_STAGES = {
    "identity": "path:models/staging path:models/intermediate/orders path:models/intermediate/identity "
    "path:models/identity path:models/marts/core path:models/quality seeds/stores",
    "facts": "path:models/intermediate/facts path:models/marts/members path:models/marts/loyalty path:models/marts/kpis",
    "audiences": "path:models/audiences path:models/intermediate/audiences",
}


def run_stage(name: str, code: str, env: dict[str, str]) -> dict:
    """Run Python ``code`` in a child process; return wall seconds and the child's peak RSS."""
    started = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-c", code], env=env, cwd=ROOT)
    _, status, usage = os.wait4(proc.pid, 0)
    seconds = time.perf_counter() - started
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"bench: stage {name} failed (exit {os.waitstatus_to_exitcode(status)})")
    return {"stage": name, "seconds": seconds, "peak_rss_mb": usage.ru_maxrss / 1024}


def stage_code(kind: str, **kw: str) -> str:
    prelude = (
        "import warnings; warnings.filterwarnings('ignore')\n"
        "from datetime import date\n"
        "from orchestration.settings import load_settings\n"
        "s = load_settings()\n"
    )
    if kind == "generate":
        return prelude + (
            "from generator import generate\nfrom pathlib import Path\n"
            f"generate(Path({kw['out']!r}), persons={kw['persons']}, days={kw['days']}, "
            f"start=date.fromisoformat({kw['start']!r}), seed=7)\n"
        )
    if kind == "ingest":
        return prelude + (
            "from orchestration.cli import run_job\n"
            f"run_job(s, 'ingest_job', date.fromisoformat({kw['first']!r}), date.fromisoformat({kw['last']!r}))\n"
        )
    if kind == "dbt":
        return prelude + (
            "from orchestration.dbt_cli import run_dbt\n"
            f"run_dbt(s, ['run', '--select', *{kw['select']!r}.split()], "
            f"as_of_date=date.fromisoformat({kw['last']!r}), audience_from=date.fromisoformat({kw['first']!r}))\n"
        )
    if kind == "publish":
        return prelude + "from assets.publish import publish_bi_copy\npublish_bi_copy(s.warehouse_path, s.publish_dir)\n"
    if kind == "incremental":
        return prelude + (
            "from orchestration.cli import run_pipeline\n"
            f"run_pipeline(s, date.fromisoformat({kw['day']!r}), date.fromisoformat({kw['day']!r}), quiet=True)\n"
        )
    raise ValueError(kind)


def count_rows(warehouse: Path) -> dict[str, int]:
    import duckdb

    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        out = {}
        for table in ("marts.orders", "identity.one_id_map", "marts.member_facts", "audiences.audience_members"):
            try:
                out[table] = con.execute(f"select count(*) from {table}").fetchone()[0]
            except Exception:  # noqa: BLE001 - a table a stage did not build
                out[table] = -1
        out["persons"] = con.execute("select count(distinct one_id) from marts.orders").fetchone()[0]
        return out
    finally:
        con.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--persons", type=int, default=100_000)
    parser.add_argument("--days", type=int, default=400)
    parser.add_argument("--start", default="2024-01-01")
    parser.add_argument("--out", default=str(ROOT / "bench" / "out"))
    parser.add_argument("--keep", action="store_true", help="reuse generated data in --out")
    args = parser.parse_args()

    out = Path(args.out).resolve() / f"p{args.persons}_d{args.days}"
    start = date.fromisoformat(args.start)
    last = start + timedelta(days=args.days - 1)
    before_last = last - timedelta(days=1)
    data = out / "data"
    env = dict(os.environ)
    env.update(
        {
            "MEMBERFLOW_LANDING": str(data / "landing"),
            "MEMBERFLOW_STORES": str(data / "stores.csv"),
            "MEMBERFLOW_RAW": str(out / "raw"),
            "MEMBERFLOW_PII": str(out / "pii"),
            "MEMBERFLOW_WAREHOUSE": str(out / "warehouse" / "memberflow.duckdb"),
            "MEMBERFLOW_PUBLISH": str(out / "bi"),
            "MEMBERFLOW_OUTBOX": str(out / "outbox"),
            "PYTHONPATH": str(ROOT),
        }
    )
    results = []
    if not (args.keep and (data / "landing").is_dir()):
        shutil.rmtree(out, ignore_errors=True)
        out.mkdir(parents=True)
        results.append(run_stage("generate", stage_code("generate", out=str(data), persons=str(args.persons), days=str(args.days), start=args.start), env))
    for folder in ("raw", "pii", "warehouse", "bi", "outbox"):
        shutil.rmtree(out / folder, ignore_errors=True)

    # Full build through the day before the last; the last day is the incremental run.
    first = start.isoformat()
    results.append(run_stage("ingest", stage_code("ingest", first=first, last=before_last.isoformat()), env))
    for stage, select in DBT_STAGES.items():
        results.append(run_stage(stage, stage_code("dbt", select=select, first=first, last=before_last.isoformat()), env))
    results.append(run_stage("publish", stage_code("publish"), env))
    full_seconds = sum(r["seconds"] for r in results if r["stage"] != "generate")
    rows = count_rows(Path(env["MEMBERFLOW_WAREHOUSE"]))
    quality = pairwise_quality(data / "truth" / "orders.parquet", Path(env["MEMBERFLOW_WAREHOUSE"]))
    results.append(run_stage("incremental (1 day)", stage_code("incremental", day=last.isoformat()), env))

    floors = {
        "scan": scan_floor(out / "raw"),
        "components": components_floor(out / "raw"),
        "pandas_rfm": pandas_rfm(Path(env["MEMBERFLOW_WAREHOUSE"]), last),
    }
    floor_total = floors["scan"]["seconds"] + floors["components"]["seconds"]

    print(f"\nmemberflow benchmark: {args.persons:,} persons × {args.days} days "
          f"({rows.get('marts.orders', 0):,} orders, {rows.get('persons', 0):,} persons found), "
          f"{os.cpu_count()} cores")
    print(f"{'stage':<22}{'wall s':>10}{'peak RSS MB':>14}")
    for r in results:
        print(f"{r['stage']:<22}{r['seconds']:>10.1f}{r['peak_rss_mb']:>14.0f}")
    print(f"{'full build':<22}{full_seconds:>10.1f}   = {full_seconds / floor_total:.1f}× the floor")
    print(f"\nfloors on the same data: scan+aggregate {floors['scan']['seconds']:.1f}s "
          f"({floors['scan']['rows']:,} rows), scipy components {floors['components']['seconds']:.1f}s "
          f"({floors['components']['components_seconds']:.1f}s in scipy; {floors['components']['edges']:,} edges, "
          f"{floors['components']['components']:,} components)")
    identity = next(r for r in results if r["stage"] == "identity")
    facts = next(r for r in results if r["stage"] == "facts")
    print(f"identity / components floor: {identity['seconds'] / floors['components']['seconds']:.1f}×; "
          f"facts / scan floor: {facts['seconds'] / floors['scan']['seconds']:.1f}×")
    print(f"pandas RFM baseline: {floors['pandas_rfm']['seconds']:.1f}s for {floors['pandas_rfm']['members']:,} "
          f"members (memberflow facts stage: {facts['seconds']:.1f}s, all facts incl. tiers and points)")
    print(f"OneID vs ground truth (pairwise, identified orders): precision {quality['precision']:.3f}, "
          f"recall {quality['recall']:.3f}")
    (out / "results.json").write_text(json.dumps({"results": results, "floors": floors, "rows": rows, "quality": quality}, indent=2, default=str))


if __name__ == "__main__":
    main()
