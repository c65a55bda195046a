"""memberflow's Dagster event log (orchestration/event_storage.py): real runs stored through the
instance that orchestration/dagster.yaml configures, read back by Dagster's stock storage.

It keeps one connection open per database file, so these tests check what the stock storage gave
for free by closing it after every event: the run shard's .db file holds a run's events on its
own, and the webserver's watch on that file follows a run still going in another process (both
fail without the checkpoint after each write; the stock storage passes the second too); another
process and a forked child write alongside; wipe() and a bounded number of open files behave;
a range run's batches are stored as Dagster stores events one by one."""

import multiprocessing
import shutil
import sqlite3
from pathlib import Path

import dagster as dg
import pytest
from dagster._core.instance.ref import InstanceRef

from orchestration import event_storage
from orchestration.event_storage import PooledSqliteEventLogStorage

PRODUCTION_YAML = Path(__file__).resolve().parents[2] / "orchestration" / "dagster.yaml"
QUIET = {"loggers": {"console": {"config": {"log_level": "CRITICAL"}}}}
EVENTS = 40


@dg.op
def report_materializations():
    for i in range(EVENTS):
        yield dg.AssetMaterialization(asset_key=f"thing_{i % 4}", partition=f"p{i}")
    yield dg.Output(None)


@dg.job
def materializations():
    report_materializations()


@pytest.fixture
def home(tmp_path, monkeypatch):
    """A DAGSTER_HOME with the production dagster.yaml."""
    home = tmp_path / "dagster_home"
    home.mkdir()
    shutil.copy(PRODUCTION_YAML, home / "dagster.yaml")
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    return home


def _stock_instance(home: Path) -> dg.DagsterInstance:
    """The same DAGSTER_HOME read through Dagster's own SqliteEventLogStorage."""
    stock_home = home.parent / "stock_config"
    stock_home.mkdir(exist_ok=True)
    (stock_home / "dagster.yaml").write_text(
        "event_log_storage:\n  module: dagster._core.storage.event_log\n  class: SqliteEventLogStorage\n"
        f"  config:\n    base_dir: {home / 'history' / 'runs'}\n"
    )
    return dg.DagsterInstance.from_ref(InstanceRef.from_dir(str(home), config_dir=str(stock_home)))


def _materialization_count(instance: dg.DagsterInstance, run_id: str) -> int:
    return len(instance.get_records_for_run(run_id, of_type=dg.DagsterEventType.ASSET_MATERIALIZATION).records)


def _rows_in_db_file_alone(shard: Path, tmp_path: Path) -> int:
    """Rows of event_logs in the .db file without its -wal file: what the file itself holds."""
    copy = tmp_path / "shard_alone.db"
    shutil.copyfile(shard, copy)
    with sqlite3.connect(copy) as con:
        return con.execute("select count(*) from event_logs").fetchone()[0]


def test_runs_are_stored_in_dagster_files_and_read_back_by_the_stock_storage(home, tmp_path):
    with dg.DagsterInstance.get() as instance:
        storage = instance.event_log_storage
        assert isinstance(storage, PooledSqliteEventLogStorage)
        assert Path(storage._base_dir) == home / "history" / "runs"  # Dagster's default place
        run_ids = [materializations.execute_in_process(instance=instance, run_config=QUIET).run_id for _ in range(2)]
        stored = {run_id: len(instance.all_logs(run_id)) for run_id in run_ids}

    with _stock_instance(home) as stock:
        assert not isinstance(stock.event_log_storage, PooledSqliteEventLogStorage)
        for run_id in run_ids:
            assert _materialization_count(stock, run_id) == EVENTS
            assert len(stock.all_logs(run_id)) == stored[run_id]
        assert stock.get_materialized_partitions(dg.AssetKey("thing_1")) == {f"p{i}" for i in range(1, EVENTS, 4)}


def test_a_run_shard_file_holds_its_events_without_the_write_ahead_log(home, tmp_path):
    """The webserver follows a running run by watching writes to its .db file: every stored
    event is checkpointed into that file while the connection stays open."""
    with dg.DagsterInstance.get() as instance:
        run_id = materializations.execute_in_process(instance=instance, run_config=QUIET).run_id
        shard = home / "history" / "runs" / f"{run_id}.db"
        assert _rows_in_db_file_alone(shard, tmp_path) == len(instance.all_logs(run_id))


def test_a_write_waits_for_a_reader_to_let_its_event_into_the_db_file(home, tmp_path):
    """A reader of the run shard (the webserver following the run) holds back the checkpoint of
    what is written after its snapshot. The write tries the checkpoint again until the reader is
    done, so the .db file holds the new event; without that, the webserver's watch would not see
    it before the run's next event (a test below failed that way under load)."""
    import threading

    with dg.DagsterInstance.get() as instance:
        storage = instance.event_log_storage
        run_id = materializations.execute_in_process(instance=instance, run_config=QUIET).run_id
        shard = home / "history" / "runs" / f"{run_id}.db"
        before = _rows_in_db_file_alone(shard, tmp_path)
        reader = sqlite3.connect(shard, check_same_thread=False, isolation_level=None)
        try:
            reader.execute("begin")
            reader.execute("select count(*) from event_logs").fetchone()  # holds its snapshot
            done = threading.Timer(0.2, lambda: reader.execute("commit"))
            done.start()
            with storage._connect(run_id) as conn:
                conn.exec_driver_sql(
                    "insert into event_logs (run_id, event, timestamp) values (?, '{}', current_timestamp)",
                    (run_id,))
            done.join()
        finally:
            reader.close()
        assert _rows_in_db_file_alone(shard, tmp_path) == before + 1


def test_a_reader_that_stays_open_costs_each_write_one_try(home, tmp_path, monkeypatch):
    """A reader that keeps its snapshot (a notebook holding a transaction): the first write waits
    CHECKPOINT_WAIT_SECONDS for it, the next ones try once; once the reader is gone, the next
    write's checkpoint completes and the .db file holds every event."""
    import time

    monkeypatch.setattr(event_storage, "CHECKPOINT_WAIT_SECONDS", 0.5)
    with dg.DagsterInstance.get() as instance:
        storage = instance.event_log_storage
        run_id = materializations.execute_in_process(instance=instance, run_config=QUIET).run_id
        shard = home / "history" / "runs" / f"{run_id}.db"
        before = _rows_in_db_file_alone(shard, tmp_path)

        def write() -> float:
            start = time.monotonic()
            with storage._connect(run_id) as conn:
                conn.exec_driver_sql(
                    "insert into event_logs (run_id, event, timestamp) values (?, '{}', current_timestamp)",
                    (run_id,))
            return time.monotonic() - start

        reader = sqlite3.connect(shard, isolation_level=None)
        reader.execute("begin")
        reader.execute("select count(*) from event_logs").fetchone()
        assert write() >= 0.5  # waited for the reader, in vain
        assert write() < 0.4  # the shard lags: one try
        assert _rows_in_db_file_alone(shard, tmp_path) == before
        reader.execute("commit")
        reader.close()
        write()
        assert _rows_in_db_file_alone(shard, tmp_path) == before + 3


def _report_runless(home: str, asset: str, count: int) -> None:
    import os

    os.environ["DAGSTER_HOME"] = home
    with dg.DagsterInstance.get() as instance:
        for i in range(count):
            instance.report_runless_asset_event(dg.AssetMaterialization(asset_key=asset, partition=f"q{i}"))


def test_processes_write_alongside_and_a_forked_child_opens_its_own_connections(home):
    spawn = multiprocessing.get_context("spawn")
    with dg.DagsterInstance.get() as instance:
        instance.report_runless_asset_event(dg.AssetMaterialization(asset_key="parent", partition="q0"))
        others = [spawn.Process(target=_report_runless, args=(str(home), f"spawned_{n}", 30)) for n in range(2)]
        for process in others:
            process.start()
        for i in range(1, 30):  # the parent keeps writing while the others do
            instance.report_runless_asset_event(dg.AssetMaterialization(asset_key="parent", partition=f"q{i}"))
        for process in others:
            process.join(60)
            assert process.exitcode == 0

        def child() -> None:
            instance.report_runless_asset_event(dg.AssetMaterialization(asset_key="forked", partition="q0"))

        forked = multiprocessing.get_context("fork").Process(target=child)
        forked.start()
        forked.join(60)
        assert forked.exitcode == 0
        instance.report_runless_asset_event(dg.AssetMaterialization(asset_key="parent", partition="q30"))

    with _stock_instance(home) as stock:
        assert len(stock.get_materialized_partitions(dg.AssetKey("parent"))) == 31
        for n in range(2):
            assert len(stock.get_materialized_partitions(dg.AssetKey(f"spawned_{n}"))) == 30
        assert stock.get_materialized_partitions(dg.AssetKey("forked")) == {"q0"}


def test_open_databases_are_bounded_and_wipe_closes_them_before_deleting(home, monkeypatch):
    monkeypatch.setattr(event_storage, "MAX_ENGINES", 2)
    with dg.DagsterInstance.get() as instance:
        storage = instance.event_log_storage
        run_ids = [materializations.execute_in_process(instance=instance, run_config=QUIET).run_id for _ in range(3)]
        assert len(storage._engines) <= 2
        assert all(_materialization_count(instance, run_id) == EVENTS for run_id in run_ids)  # reopened as needed

        storage.wipe()
        assert set(storage._engines) <= {"index"}  # the index, reopened by wipe itself
        assert not list((home / "history" / "runs").glob(f"{run_ids[0]}.db*"))
        after = materializations.execute_in_process(instance=instance, run_config=QUIET).run_id
        assert _materialization_count(instance, after) == EVENTS
        assert instance.get_materialized_partitions(dg.AssetKey("thing_0")) == {f"p{i}" for i in range(0, EVENTS, 4)}


daily = dg.DailyPartitionsDefinition(start_date="2024-05-01", end_date="2024-05-08")


@dg.asset(partitions_def=daily, backfill_policy=dg.BackfillPolicy.single_run())
def ranged(context: dg.AssetExecutionContext) -> dg.MaterializeResult:
    return dg.MaterializeResult(metadata={"days": len(context.partition_keys)})


def _materialize_range(instance: dg.DagsterInstance) -> str:
    return dg.materialize(
        [ranged], instance=instance, run_config=QUIET,
        tags={"dagster/asset_partition_range_start": "2024-05-01", "dagster/asset_partition_range_end": "2024-05-07"},
    ).run_id


def test_a_range_run_stores_its_materializations_as_one_batch_like_one_by_one(home, tmp_path, monkeypatch):
    """DAGSTER_EVENT_BATCH_SIZE (set by memberflow run) hands a step's materializations of a
    range to store_event_batch: stored as Dagster stores them one by one."""
    days = {f"2024-05-0{d}" for d in range(1, 8)}
    monkeypatch.setenv("DAGSTER_EVENT_BATCH_SIZE", "1000")
    batches, singles = [], []
    store_batch, store_one = PooledSqliteEventLogStorage.store_event_batch, PooledSqliteEventLogStorage.store_event

    def spy_batch(self, events):
        batches.append((len(events), {e.dagster_event_type for e in events}))
        store_batch(self, events)

    def spy_one(self, event):
        singles.append(event.dagster_event_type)
        store_one(self, event)

    monkeypatch.setattr(PooledSqliteEventLogStorage, "store_event_batch", spy_batch)
    monkeypatch.setattr(PooledSqliteEventLogStorage, "store_event", spy_one)
    with dg.DagsterInstance.get() as instance:
        batched = _materialize_range(instance)
    # the seven days' planned events, then their materializations, each as one batch written by
    # the batch path (Dagster falls back to one by one, with a message on stderr, when one fails)
    planned, materialized = dg.DagsterEventType.ASSET_MATERIALIZATION_PLANNED, dg.DagsterEventType.ASSET_MATERIALIZATION
    assert batches == [(7, {planned}), (7, {materialized})]
    assert planned not in singles and materialized not in singles
    with _stock_instance(home) as stock:  # the same events stored one by one, by the stock storage
        (record,) = stock.get_asset_records([dg.AssetKey("ranged")])  # the asset's row, kept per event
        latest = stock.fetch_materializations(dg.AssetKey("ranged"), limit=1).records[0]
        assert record.asset_entry.last_materialization_record.storage_id == latest.storage_id
        assert latest.run_id == batched
        monkeypatch.setenv("DAGSTER_EVENT_BATCH_SIZE", "0")
        one_by_one = _materialize_range(stock)

        def stored(run_id: str) -> list[tuple]:
            records = stock.get_records_for_run(run_id, of_type={planned, materialized}).records
            return sorted(
                (r.event_log_entry.dagster_event_type.value, r.event_log_entry.dagster_event.partition,
                 r.asset_key.to_user_string(),
                 r.event_log_entry.asset_materialization.metadata["days"].value
                 if r.event_log_entry.asset_materialization else None)
                for r in records
            )

        assert stored(batched) == stored(one_by_one) == sorted(
            [(materialized.value, f"2024-05-0{d}", "ranged", 7) for d in range(1, 8)]
            + [(planned.value, f"2024-05-0{d}", "ranged", None) for d in range(1, 8)]
        )
        assert stock.get_materialized_partitions(dg.AssetKey("ranged")) == days
        index_rows = stock.fetch_materializations(dg.AssetKey("ranged"), limit=100).records
        assert sorted(r.run_id for r in index_rows) == sorted([batched] * 7 + [one_by_one] * 7)
        assert stock.get_latest_materialization_event(dg.AssetKey("ranged")).run_id == one_by_one


@dg.op
def report_then_wait():
    """Reports a materialization, then waits (up to 30 s) for the watcher to say it saw it."""
    import os
    import time

    yield dg.AssetMaterialization(asset_key="first")
    flag = Path(os.environ["MEMBERFLOW_TEST_SEEN_FLAG"])
    deadline = time.monotonic() + 30
    while not flag.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    yield dg.Output(flag.exists())


@dg.job
def waits_to_be_seen():
    report_then_wait()


def _run_waits_to_be_seen(home: str, run_id: str, flag: str) -> None:
    import os

    os.environ["DAGSTER_HOME"] = home
    os.environ["MEMBERFLOW_TEST_SEEN_FLAG"] = flag
    with dg.DagsterInstance.get() as instance:
        result = waits_to_be_seen.execute_in_process(instance=instance, run_id=run_id, run_config=QUIET)
        assert result.output_for_node("report_then_wait") is True


def test_the_webserver_follows_a_running_run_from_another_process(home, tmp_path):
    """The webserver's live log: its storage watches the run shard's file while the run, in another
    process, is still going (the run waits until the watcher has seen its first event)."""
    import threading
    import time

    from dagster._core.utils import make_new_run_id

    run_id, flag = make_new_run_id(), tmp_path / "seen"
    seen = threading.Event()

    def on_event(entry, cursor) -> None:
        if entry.dagster_event and entry.dagster_event.event_type_value == "ASSET_MATERIALIZATION":
            flag.touch()
            seen.set()

    with dg.DagsterInstance.get() as webserver:
        webserver.event_log_storage.watch(run_id, None, on_event)
        run = multiprocessing.get_context("spawn").Process(
            target=_run_waits_to_be_seen, args=(str(home), run_id, str(flag)))
        run.start()
        assert seen.wait(40), "the watcher never saw the running run's materialization"
        assert run.is_alive() or run.exitcode == 0
        run.join(60)
        assert run.exitcode == 0  # the run saw the flag: it was followed while running
        webserver.event_log_storage.end_watch(run_id, on_event)
