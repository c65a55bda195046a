"""Side by side: the daily run's dbt work and the RFM step, this checkout against an earlier commit,
alternated in the same minutes on copies of one bench warehouse (the host's speed drifts too much
between separate bench runs to compare them).

    .venv/bin/python bench/compare.py --bench-dir bench/out/p1000000_d400 --base b8e4713 [--rounds 2]

Needs a finished ``bench/run`` in ``--bench-dir`` (its warehouse is as of the last day D). For
each side it copies that warehouse, builds once to settle (the two codes may materialize models
differently), then per round: ``dbt build`` as of D (models, seeds, data tests: everything the
daily run's dbt step rebuilds) and ``dbt run`` of the RFM step (``member_facts``, and the persons'
order totals it reads where the side has them), and, between the sides, the pandas RFM baseline
(bench/floors.py). Prints dbt's elapsed time, the summed node time and the RFM step's model time
from each run's ``run_results.json``.

``--nodes NAME ...`` also prints those models' and tests' own seconds in each build, ``--threads
N`` times the builds with N dbt threads (one thread gives each node's cost without the other
thread's query beside it).

``--daily`` compares the daily run's own step instead: a day's delivery arriving on a warehouse
as of the day before. Each side builds a warehouse of its own as of D − 1 from the raw layer,
with D's delivery folders moved aside as if not ingested yet (they are put back right after);
each round copies it and builds as of D (no RFM step). A build as of D on a warehouse already
as of D, what the default mode repeats, reads no new delivery.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
from datetime import date, timedelta
from pathlib import Path

import duckdb

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.floors import pandas_rfm
from bench.run_bench import PRODUCTION_BUILD, RFM_MODELS


def dbt(code: Path, warehouse: Path, bench_dir: Path, as_of: date, args: list[str]) -> dict:
    """``dbt <args>`` with the code of ``code`` (its orchestration package and dbt project) on
    ``warehouse``; dbt's own figures from the run's run_results.json."""
    env = dict(os.environ)
    env.update({
        "MEMBERFLOW_RAW": str(bench_dir / "raw"),
        "MEMBERFLOW_PII": str(bench_dir / "pii"),
        "MEMBERFLOW_STORES": str(bench_dir / "data" / "stores.csv"),
        "MEMBERFLOW_WAREHOUSE": str(warehouse),
        "PYTHONPATH": str(code),
    })
    target = warehouse.parent / "target"
    script = (
        "import sys\nfrom datetime import date\nfrom pathlib import Path\n"
        "from orchestration.dbt_cli import run_dbt\nfrom orchestration.settings import load_settings\n"
        f"run_dbt(load_settings(), {args!r}, as_of_date=date.fromisoformat({as_of.isoformat()!r}), "
        f"target_path=Path({str(target)!r}))\n"
    )
    subprocess.run([sys.executable, "-c", script], env=env, check=True, cwd=code)
    results = json.loads((target / "run_results.json").read_text())
    nodes = {r["unique_id"]: r["execution_time"] for r in results["results"]}
    return {"elapsed": results["elapsed_time"], "node_seconds": sum(nodes.values()),
            "nodes": len(nodes),
            "rfm": sum(nodes.get(f"model.memberflow.{name}", 0.0) for name in RFM_MODELS),
            # model or test name (a generic test's without its hash suffix) → seconds
            "by_name": {uid.split(".")[2]: seconds for uid, seconds in nodes.items()}}


@contextlib.contextmanager
def delivery_aside(raw: Path, day: date, aside: Path):
    """Move every raw table's folder of delivery ``day`` to ``aside`` for the block (as if that
    day were not ingested yet), then put them back."""
    moved = []
    try:
        for folder in sorted(raw.glob(f"*/{day.isoformat()}")):
            target = aside / folder.parent.name / folder.name
            target.parent.mkdir(parents=True, exist_ok=True)
            folder.rename(target)
            moved.append((target, folder))
        yield
    finally:
        for target, folder in moved:
            target.rename(folder)


def warehouse_as_of(warehouse: Path) -> str:
    """The D a warehouse was last built for: its staging tables' comment says it."""
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        (comment,) = con.execute(
            "select comment from duckdb_tables() where table_name = 'base_pos__lines'").fetchone()
    finally:
        con.close()
    return comment.split("as of ")[1].split()[0]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--bench-dir", required=True, help="a bench/run output folder (p<N>_d<days>)")
    parser.add_argument("--base", required=True, help="the earlier commit to compare with")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--as-of", help="D (default: the day the bench warehouse was last built for)")
    parser.add_argument("--daily", action="store_true",
                        help="build D on a warehouse as of D - 1 (the daily run's step), not D again")
    parser.add_argument("--threads", type=int, help="dbt threads of the timed builds (default: the profile's)")
    parser.add_argument("--json", metavar="PATH",
                        help="also write every build's figures, each node's seconds included, to PATH")
    parser.add_argument("--top", type=int, default=0, metavar="N",
                        help="print the N nodes whose mean seconds differ most between the sides")
    parser.add_argument("--nodes", nargs="+", default=[], metavar="NAME",
                        help="also print these models' or tests' own seconds (names as in dbt's log)")
    args = parser.parse_args()
    build_args = PRODUCTION_BUILD + (["--threads", str(args.threads)] if args.threads else [])

    bench_dir = Path(args.bench_dir).resolve()
    warehouse = bench_dir / "warehouse" / "memberflow.duckdb"
    if not warehouse.is_file():
        parser.error(f"no bench warehouse at {warehouse}: run bench/run first")
    as_of = date.fromisoformat(args.as_of or warehouse_as_of(warehouse))

    scratch = Path(tempfile.mkdtemp(prefix="memberflow_compare_"))
    base_code = scratch / "base_code"
    subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "--detach", str(base_code), args.base],
                   check=True, capture_output=True)
    sides = {"base": base_code, "this": ROOT}
    try:
        copies = {}
        for name, code in sides.items():
            copy = scratch / name / "memberflow.duckdb"  # the same file name: the same catalog
            copy.parent.mkdir()
            if args.daily:
                with delivery_aside(bench_dir / "raw", as_of, scratch / "aside"):
                    dbt(code, copy, bench_dir, as_of - timedelta(days=1), PRODUCTION_BUILD)
                shutil.copy(copy, copy.with_suffix(".day_before"))
            else:
                shutil.copy(warehouse, copy)
                dbt(code, copy, bench_dir, as_of, PRODUCTION_BUILD)  # settle
            copies[name] = copy
        rows = []
        for i in range(args.rounds):
            for name, code in sides.items():
                if args.daily:
                    shutil.copy(copies[name].with_suffix(".day_before"), copies[name])
                    copies[name].with_suffix(".duckdb.wal").unlink(missing_ok=True)
                build = dbt(code, copies[name], bench_dir, as_of, build_args)
                facts = {"rfm": float("nan")} if args.daily else dbt(
                    code, copies[name], bench_dir, as_of, ["run", "--select", *RFM_MODELS])
                rows.append((i + 1, name, build, facts["rfm"]))
            if not args.daily:
                rows.append((i + 1, "pandas RFM", None, pandas_rfm(copies["this"], as_of)["seconds"]))
        print(f"as of {as_of}; base = {args.base}, this = the checkout")
        print(f"{'round':>5}  {'side':<10} {'dbt build s':>11} {'node s':>8} {'nodes':>6} {'RFM s':>7}")
        for round_, name, build, rfm in rows:
            if build is None:
                print(f"{round_:>5}  {name:<10} {'':>11} {'':>8} {'':>6} {rfm:>7.1f}")
            else:
                print(f"{round_:>5}  {name:<10} {build['elapsed']:>11.1f} {build['node_seconds']:>8.1f} "
                      f"{build['nodes']:>6} {rfm:>7.1f}")
        for node in args.nodes:
            times = [f"{name} {build['by_name'].get(node, float('nan')):.2f}"
                     for _, name, build, _ in rows if build is not None]
            print(f"{node}: " + ", ".join(times) + " s")
        if args.top:
            print(f"the {args.top} nodes whose mean seconds differ most (this - base):")
            for node, base, this in _largest_differences(rows, args.top):
                print(f"  {this - base:+6.2f}  base {base:6.2f}  this {this:6.2f}  {node}")
        if args.json:
            Path(args.json).write_text(json.dumps(
                {"as_of": as_of.isoformat(), "base": args.base,
                 "builds": [{"round": r, "side": name, **build} for r, name, build, _ in rows if build is not None]},
                indent=1))
    finally:
        subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(base_code)],
                       capture_output=True)
        shutil.rmtree(scratch, ignore_errors=True)
    return 0


def _largest_differences(rows: list, n: int) -> list[tuple[str, float, float]]:
    """(node, mean seconds on base, mean seconds on this) of the ``n`` nodes whose means differ
    most, either way; a node one side lacks counts 0 there."""
    per_side: dict[str, list[dict]] = {"base": [], "this": []}
    for _, name, build, _ in rows:
        if build is not None:
            per_side[name].append(build["by_name"])

    def mean(side: str, node: str) -> float:
        builds = per_side[side]
        return sum(b.get(node, 0.0) for b in builds) / len(builds) if builds else float("nan")

    nodes = {node for builds in per_side.values() for b in builds for node in b}
    means = [(node, mean("base", node), mean("this", node)) for node in nodes]
    return sorted(means, key=lambda m: -abs(m[2] - m[1]))[:n]


if __name__ == "__main__":
    sys.exit(main())
