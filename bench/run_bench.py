"""memberflow benchmark: generate, full build, one-day incremental run, floors; prints a table.

    .venv/bin/python bench/run_bench.py --persons 100000 --days 400 [--out bench/out] [--keep]

Every stage runs as its own process, so each gets its own wall time and peak RSS (``wait4``):

- generate: ``memberflow generate`` at the chosen size (``--keep`` reuses earlier data);
- the full build through the day before the last: ingest (every delivery day, one Dagster run of
  ``ingest_job``), then one dbt build per layer as production runs it (models, seeds and data
  tests; no unit tests): identity (staging → OneID → orders, members, quality), facts (RFM,
  lifecycle, tiers, points, KPIs), audiences (every day of the range in one pass), and publish
  (the BI copy);
- the incremental run of the last day: ``run_pipeline(D, D)``, exactly what ``memberflow run
  --from D --through D`` does (ingest that day's partition only, one dbt build as of D, publish,
  emit the day's audiences);
- on the same data, each in its own process: the floors (a plain DuckDB query that scans the raw
  orders and aggregates them per buyer; scipy connected components over the identifier edges),
  the hand-written pandas RFM baseline and memberflow's own RFM step (``dbt run`` of the persons'
  order totals, brought forward, and ``member_facts`` on them) side by side; the same two models'
  times in the incremental run's dbt step are printed too.

Every stage is shown as a ratio to its floor: identity to the components floor, every other
stage to the scan floor, the full build to the sum of both. Results also go to
``<out>/p<persons>_d<days>/results.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import time
from datetime import date, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.floors import pairwise_quality

# dbt selections of the full-build stages (each a dbt build of models, seeds and data tests).
DBT_STAGES = {
    "identity": "path:models/staging path:models/intermediate/orders path:models/intermediate/identity "
    "path:models/identity path:models/marts/core path:models/quality path:seeds",
    "facts": "path:models/intermediate/facts path:models/marts/members path:models/marts/loyalty path:models/marts/kpis",
    "audiences": "path:models/audiences",
}
# memberflow's RFM step: each person's valid orders summed up (kept by person: a build compares
# every person's orders with the table and recomputes those that changed), then member_facts.
RFM_MODELS = ["int_member_order_totals", "member_facts"]
# As the Dagster build runs dbt (no unit tests); a test runs in the stage that builds all its parents.
PRODUCTION_BUILD = ["build", "--exclude-resource-type", "unit_test", "--indirect-selection", "cautious"]


def run_stage(name: str, code: str, env: dict[str, str], result_file: Path | None = None) -> dict:
    """Run Python ``code`` in a child process; return wall seconds, the child's peak RSS and
    whatever the child wrote as JSON to ``result_file``."""
    if result_file is not None:
        result_file.unlink(missing_ok=True)
    # A script file, not ``python -c``: pyspark (imported by Great Expectations when installed)
    # exits a process whose __main__ has no file, taking it for a doctest run.
    script = Path(env["MEMBERFLOW_RAW"]).parent / f".stage_{os.getpid()}.py"
    script.parent.mkdir(parents=True, exist_ok=True)
    script.write_text(code)
    load = os.getloadavg()[0]
    started, started_wall = time.perf_counter(), time.time()
    proc = subprocess.Popen([sys.executable, str(script)], env=env, cwd=ROOT)
    _, status, usage = os.wait4(proc.pid, 0)
    seconds = time.perf_counter() - started
    # Dagster's event times and dbt's timings are wall-clock (time.time) figures; a VM pause or
    # a clock step while the stage ran shows as a gap between the two clocks, and then the
    # stage's step and model times do not add up to its wall seconds
    clock_gap = (time.time() - started_wall) - seconds
    code_ = os.waitstatus_to_exitcode(status)
    script.unlink(missing_ok=True)
    if code_ != 0:
        raise SystemExit(f"bench: stage {name} failed (exit {code_})")
    out = {
        "stage": name,
        "seconds": seconds,
        "cpu_seconds": usage.ru_utime + usage.ru_stime,
        "peak_rss_mb": usage.ru_maxrss / 1024,
        "load_before": load,
        "clock_gap_s": clock_gap,
    }
    if result_file is not None and result_file.exists():
        out["result"] = json.loads(result_file.read_text())
    print(f"bench: {name:<24} {seconds:8.1f}s wall {out['cpu_seconds']:8.1f}s cpu "
          f"{out['peak_rss_mb']:8.0f} MB peak  (load {load:.1f})", flush=True)
    if abs(clock_gap) > max(1.0, 0.01 * seconds):
        print(f"bench: WARNING: during {name} the wall clock moved {clock_gap:+.1f}s against the "
              "monotonic one (a VM pause or a clock step): its step and dbt model times, which are "
              "wall-clock figures, are suspect; rerun it", flush=True)
    return out


PRELUDE = (
    "import json, warnings; warnings.filterwarnings('ignore')\n"
    "from datetime import date\nfrom pathlib import Path\n"
    "from orchestration.settings import load_settings\n"
    "s = load_settings()\n"
)


def stage_code(kind: str, **kw: str) -> str:
    if kind == "ingest":
        return PRELUDE + (
            "from orchestration.cli import run_job\n"
            f"run_job(s, 'ingest_job', date.fromisoformat({kw['first']!r}), date.fromisoformat({kw['last']!r}))\n"
        )
    if kind == "dbt":
        return PRELUDE + (
            "from orchestration.dbt_cli import run_dbt\n"
            f"run_dbt(s, {kw['args']!r}, as_of_date=date.fromisoformat({kw['last']!r}), "
            f"audience_from=date.fromisoformat({kw['first']!r}))\n"
        )
    if kind == "publish":
        # what the pipeline runs after the build: the PIPL forget step, then the BI copy
        return PRELUDE + (
            "from assets.privacy import forget_deleted_persons\n"
            "forget_deleted_persons(s, s.pii_dir, s.outbox_dir)\n"
            "from assets.publish import publish_bi_copy\npublish_bi_copy(s.warehouse_path, s.publish_dir)\n"
        )
    if kind == "incremental":
        # a Dagster instance of its own (DAGSTER_HOME in env) so that the steps can be timed
        return PRELUDE + (
            "from orchestration.cli import run_pipeline\n"
            f"r = run_pipeline(s, date.fromisoformat({kw['day']!r}), date.fromisoformat({kw['day']!r}), quiet=True)\n"
            "from bench.floors import step_seconds\n"
            "steps = step_seconds([r['run_id'], r['outbox_run_id']])\n"
            "steps['_pipeline_seconds'] = r['seconds']  # run_pipeline itself (definitions, both runs)\n"
            f"Path({kw['result']!r}).write_text(json.dumps(steps))\n"
        )
    if kind == "floor":
        return PRELUDE + (
            f"from bench.floors import {kw['function']}\n"
            f"r = {kw['function']}({kw['arg']})\n"
            f"Path({kw['result']!r}).write_text(json.dumps(r, default=str))\n"
        )
    raise ValueError(kind)


def query(database: Path, sql: str, params: list | None = None):
    import duckdb

    con = duckdb.connect(str(database), read_only=True)
    try:
        return con.execute(sql, params or []).fetchall()
    finally:
        con.close()


def count(database: Path, table: str) -> int:
    try:
        return int(query(database, f"select count(*) from {table}")[0][0])
    except Exception:  # noqa: BLE001 - a table a stage did not build
        return -1


def raw_rows(raw: Path, day: str | None = None) -> dict[str, int]:
    """Rows read / loaded / quarantined by ingestion (all days, or one delivery day)."""
    import duckdb

    where = f"where delivery_date = DATE '{day}'" if day else ""
    r = duckdb.sql(
        f"select coalesce(sum(rows_read), 0), coalesce(sum(rows_loaded), 0), coalesce(sum(rows_quarantined), 0), "
        f"count(*) from read_parquet('{raw}/file_loads/*/*.parquet', union_by_name = true) {where}"
    ).fetchall()[0]
    return {"rows_read": int(r[0]), "rows_loaded": int(r[1]), "rows_quarantined": int(r[2]), "files": int(r[3])}


def published_rows(bi: Path) -> int:
    files = list(bi.glob("*.duckdb"))
    if not files:
        return -1
    tables = query(files[0], "select table_schema, table_name from information_schema.tables where table_type = 'BASE TABLE'")
    return sum(count(files[0], f'"{s}"."{t}"') for s, t in tables)


def dbt_node_seconds(run_results: Path, unique_id: str) -> float:
    """A node's execution time in a dbt run_results.json (-1 when absent)."""
    try:
        for node in json.loads(run_results.read_text())["results"]:
            if node["unique_id"] == unique_id:
                return float(node["execution_time"])
    except (OSError, ValueError, KeyError):
        pass
    return -1.0


def incremental_node_seconds(names: list[str]) -> dict[str, float]:
    """The execution time of models ``names`` in the newest dbt run that Dagster made (the
    incremental run's dbt step writes its run_results.json under target/<asset>-<run>/)."""
    runs = sorted((ROOT / "dbt_project" / "target").glob("memberflow_dbt_assets-*/run_results.json"),
                  key=lambda path: path.stat().st_mtime)
    if not runs:
        return {}
    return {name: dbt_node_seconds(runs[-1], f"model.memberflow.{name}") for name in names}


def machine() -> dict:
    cpu = "?"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem_gb = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return {"cpu": cpu, "cores": os.cpu_count(), "memory_gb": round(mem_gb, 1), "python": platform.python_version(),
            "system": f"{platform.system()} {platform.release()}"}


def add_size_arguments(parser: argparse.ArgumentParser) -> None:
    """The data's size and place, shared with bench/first_run.py."""
    parser.add_argument("--persons", type=int, default=100_000)
    parser.add_argument("--days", type=int, default=400)
    parser.add_argument("--start", default="2024-01-01")
    parser.add_argument("--out", default=str(ROOT / "bench" / "out"))


def bench_dir(args: argparse.Namespace) -> Path:
    return Path(args.out).resolve() / f"p{args.persons}_d{args.days}"


def pipeline_env(data: Path, work: Path) -> dict[str, str]:
    """The environment of a stage: the generated ``data`` as landing zone and store master, and
    the pipeline's raw, pii, warehouse, BI copy and outbox under ``work``."""
    return {
        **os.environ,
        "MEMBERFLOW_LANDING": str(data / "landing"),
        "MEMBERFLOW_STORES": str(data / "stores.csv"),
        "MEMBERFLOW_RAW": str(work / "raw"),
        "MEMBERFLOW_PII": str(work / "pii"),
        "MEMBERFLOW_WAREHOUSE": str(work / "warehouse" / "memberflow.duckdb"),
        "MEMBERFLOW_PUBLISH": str(work / "bi"),
        "MEMBERFLOW_OUTBOX": str(work / "outbox"),
        "PYTHONPATH": str(ROOT),
    }


def generate_stage(data: Path, args: argparse.Namespace, env: dict[str, str]) -> dict:
    """``memberflow generate`` of the bench's data into ``data`` (seed 7)."""
    return run_stage("generate", (
        "import sys\nfrom orchestration.cli import main\n"
        f"sys.exit(main(['generate', '--out', {str(data)!r}, '--persons', '{args.persons}', "
        f"'--days', '{args.days}', '--start', {args.start!r}, '--seed', '7']))\n"), env)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_size_arguments(parser)
    parser.add_argument("--keep", action="store_true", help="reuse generated data in --out")
    parser.add_argument("--stock-event-storage", action="store_true",
                        help="the daily run's instance with Dagster's own event log storage (for a side by side)")
    args = parser.parse_args()

    out = bench_dir(args)
    start = date.fromisoformat(args.start)
    last = start + timedelta(days=args.days - 1)
    before_last = last - timedelta(days=1)
    data = out / "data"
    raw = out / "raw"
    warehouse = out / "warehouse" / "memberflow.duckdb"
    env = pipeline_env(data, out)
    env.pop("DAGSTER_HOME", None)  # an ephemeral Dagster instance per run
    results: list[dict] = []
    started_at = time.strftime("%Y-%m-%d %H:%M:%S %Z")
    if not (args.keep and (data / "landing").is_dir()):
        shutil.rmtree(out, ignore_errors=True)
        out.mkdir(parents=True)
        results.append(generate_stage(data, args, env))
        results[-1]["rows"] = None
    for folder in ("raw", "pii", "warehouse", "bi", "outbox"):
        shutil.rmtree(out / folder, ignore_errors=True)

    # The full build through the day before the last; the last day is the incremental run.
    first, through = start.isoformat(), before_last.isoformat()
    results.append(run_stage("ingest", stage_code("ingest", first=first, last=through), env))
    loads = raw_rows(raw)
    results[-1]["rows"] = loads["rows_read"]
    for stage, select in DBT_STAGES.items():
        dbt_args = [*PRODUCTION_BUILD, "--select", *select.split()]
        results.append(run_stage(stage, stage_code("dbt", args=dbt_args, first=first, last=through), env))
    results.append(run_stage("publish", stage_code("publish"), env))
    by_stage = {r["stage"]: r for r in results}
    by_stage["identity"]["rows"] = count(warehouse, "marts.orders")
    by_stage["facts"]["rows"] = count(warehouse, "marts.member_facts")
    by_stage["audiences"]["rows"] = count(warehouse, "audiences.audience_members")
    by_stage["publish"]["rows"] = published_rows(out / "bi")
    full = [r for r in results if r["stage"] in ("ingest", *DBT_STAGES, "publish")]
    full_seconds = sum(r["seconds"] for r in full)
    full_peak = max(r["peak_rss_mb"] for r in full)
    rows = {
        "orders": count(warehouse, "marts.orders"),
        "persons": int(query(warehouse, "select count(distinct one_id) from marts.orders")[0][0]),
        "one_id_map": count(warehouse, "identity.one_id_map"),
        "member_facts": count(warehouse, "marts.member_facts"),
        "audience_members": count(warehouse, "audiences.audience_members"),
        **{f"ingest_{k}": v for k, v in loads.items()},
    }
    quality = pairwise_quality(data / "truth" / "orders.parquet", warehouse)

    # Floors and baselines on the same data, as of the same day, before the incremental run.
    floor_file = out / "floor.json"
    scan = run_stage("floor: scan + aggregate", stage_code("floor", function="scan_floor", arg=f"Path({str(raw)!r})", result=str(floor_file)), env, floor_file)
    components = run_stage("floor: scipy components", stage_code("floor", function="components_floor", arg=f"Path({str(raw)!r})", result=str(floor_file)), env, floor_file)
    pandas = run_stage("baseline: pandas RFM", stage_code("floor", function="pandas_rfm", arg=f"Path({str(warehouse)!r}), date.fromisoformat({through!r})", result=str(floor_file)), env, floor_file)
    # on the warehouse as it is now, put back afterwards: a build of the persons' totals alone
    # would leave the tables kept on their delta (the counted orders and after) reading another
    # build of them, and the incremental run below would rebuild those whole
    # (macros/facts/kept_by_person.sql). Not on a copy at another path: dbt would find its
    # profile changed and parse the whole project again (≈ 5-8 s of the stage), which a
    # pipeline's build never does.
    saved = warehouse.with_name("before_rfm_stage.duckdb")
    shutil.copy(warehouse, saved)
    try:
        rfm = run_stage("memberflow RFM (dbt)", stage_code("dbt", args=["run", "--select", *RFM_MODELS], first=first, last=through), env)
    finally:
        warehouse.with_name(warehouse.name + ".wal").unlink(missing_ok=True)
        os.replace(saved, warehouse)
    rfm["model_seconds"] = {name: dbt_node_seconds(ROOT / "dbt_project" / "target" / "run_results.json", f"model.memberflow.{name}")
                            for name in RFM_MODELS}
    scan["rows"] = scan["result"]["rows"]
    components["rows"] = components["result"]["edges"]
    pandas["rows"] = pandas["result"]["members"]
    rfm["rows"] = count(warehouse, "marts.member_facts")

    # The incremental run of the last day, on a Dagster instance of its own configured as
    # production's (orchestration/dagster.yaml: its event log storage, pools; Dagster's defaults with
    # --stock-event-storage); its steps are timed.
    steps_file = out / "steps.json"
    dagster_home = out / "dagster_home"
    shutil.rmtree(dagster_home, ignore_errors=True)
    dagster_home.mkdir(parents=True)
    if args.stock_event_storage:
        (dagster_home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    else:
        shutil.copy(ROOT / "orchestration" / "dagster.yaml", dagster_home / "dagster.yaml")
    results.append(run_stage("incremental (1 day)", stage_code("incremental", day=last.isoformat(), result=str(steps_file)),
                             {**env, "DAGSTER_HOME": str(dagster_home)}, steps_file))
    results[-1]["rows"] = raw_rows(raw, last.isoformat())["rows_read"]
    incremental = results[-1]
    steps = dict(incremental.get("result", {}))
    pipeline_seconds = steps.pop("_pipeline_seconds", None)
    incremental["result"] = steps
    finished_at = time.strftime("%Y-%m-%d %H:%M:%S %Z")

    floor_for = {"identity": components}
    floor_total = scan["seconds"] + components["seconds"]
    floor_peak = max(scan["peak_rss_mb"], components["peak_rss_mb"])

    def line(r: dict, floor: dict | None) -> str:
        rows_ = r.get("rows")
        rate = f"{rows_ / r['seconds']:>11,.0f}" if rows_ and rows_ > 0 else f"{'':>11}"
        ratio = f"{r['seconds'] / floor['seconds']:>8.1f}×" if floor else f"{'':>9}"
        shown = f"{rows_:>12,}" if rows_ is not None and rows_ >= 0 else f"{'':>12}"
        return (f"{r['stage']:<26}{r['seconds']:>9.1f}{r['cpu_seconds']:>9.1f}{shown}{rate}"
                f"{r['peak_rss_mb']:>10,.0f}{ratio}{r['load_before']:>7.1f}")

    m = machine()
    print(f"\nmemberflow benchmark: {args.persons:,} persons × {args.days} days "
          f"({rows['orders']:,} orders, {rows['persons']:,} persons found, {loads['rows_read']:,} landing rows in "
          f"{loads['files']:,} files)")
    print(f"machine: {m['cpu']}, {m['cores']} cores, {m['memory_gb']} GB; {m['system']}; Python {m['python']}; "
          f"{started_at} → {finished_at}")
    header = f"{'stage':<26}{'wall s':>9}{'cpu s':>9}{'rows':>12}{'rows/s':>11}{'peak MB':>10}{'× floor':>9}{'load':>7}"
    print(header)
    print("-" * len(header))
    for r in results:
        print(line(r, floor_for.get(r["stage"], scan) if r["stage"] != "generate" else None))
    print("-" * len(header))
    print(f"{'full build':<26}{full_seconds:>9.1f}{sum(r['cpu_seconds'] for r in full):>9.1f}{'':>12}{'':>11}"
          f"{full_peak:>10,.0f}{full_seconds / floor_total:>8.1f}×   (floor = scan + components = {floor_total:.1f}s)")
    for r in (scan, components, pandas, rfm):
        print(line(r, None))
    print(f"\nfloors: scan+aggregate {scan['seconds']:.1f}s over {scan['result']['rows']:,} raw order rows; "
          f"components {components['seconds']:.1f}s ({components['result']['components_seconds']:.1f}s in scipy; "
          f"{components['result']['edges']:,} edges, {components['result']['components']:,} components); "
          f"peak RSS of the floors {floor_peak:,.0f} MB")
    models = " + ".join(f"{name} {seconds:.1f}s" for name, seconds in rfm["model_seconds"].items())
    print(f"RFM side by side: pandas {pandas['seconds']:.1f}s process ({pandas['result']['seconds']:.1f}s reading "
          f"marts.orders and computing) vs memberflow's RFM step {rfm['seconds']:.1f}s process "
          f"({models} = {sum(rfm['model_seconds'].values()):.1f}s the models themselves: RFM, lifecycle, channel mix, "
          "preferred hour, stores)")
    daily = incremental_node_seconds(RFM_MODELS)
    if daily:
        print("  in the incremental run's dbt step: " + " + ".join(f"{k} {v:.1f}s" for k, v in daily.items())
              + f" = {sum(daily.values()):.1f}s")
    print("incremental (1 day), by Dagster step: " + ", ".join(
        f"{k} {v:.1f}s" for k, v in steps.items()))
    if pipeline_seconds is not None:
        print(f"  run_pipeline itself {pipeline_seconds:.1f}s of the stage's {incremental['seconds']:.1f}s "
              "(it loads the definitions, then runs the two jobs; the rest is Python's start and reading the "
              "step times back from the event log)")
    print(f"OneID vs ground truth (pairwise, identified orders): precision {quality['precision']:.3f}, "
          f"recall {quality['recall']:.3f}")
    for r in results + [scan, components, pandas, rfm]:
        if abs(r["clock_gap_s"]) > max(1.0, 0.01 * r["seconds"]):
            print(f"WARNING: {r['stage']}: the wall clock moved {r['clock_gap_s']:+.1f}s against the monotonic "
                  "one while it ran; its wall seconds are monotonic, its step and model times are not")
    (out / "results.json").write_text(json.dumps(
        {"machine": m, "persons": args.persons, "days": args.days, "started": started_at, "finished": finished_at,
         "results": results, "floors": {"scan": scan, "components": components},
         "baselines": {"pandas_rfm": pandas, "memberflow_rfm": rfm}, "rows": rows, "quality": quality,
         "incremental_steps": steps,
         "incremental_pipeline_seconds": pipeline_seconds,
         "full_build": {"seconds": full_seconds, "peak_rss_mb": full_peak, "floor_seconds": floor_total}},
        indent=2, default=str))


if __name__ == "__main__":
    main()
