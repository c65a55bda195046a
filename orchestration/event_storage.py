"""Dagster's SQLite event log with each database's connection kept open between events.

Dagster's ``SqliteEventLogStorage`` creates a SQLAlchemy engine and opens a new SQLite
connection for every event it stores, and closes both after it (``NullPool``). On closing, the
last connection to a database checkpoints its write-ahead log (WAL) into the file and deletes it.
That costs ≈ 9 ms per event stored in a run. A daily run stores about 800 events; a first run
over 400 days stores 25,000 (one materialization per dbt asset and day).

``PooledSqliteEventLogStorage`` stores the same rows in the same files. It keeps one engine per
database file (the cross-run index and each run's shard), with SQLAlchemy's default pool for
SQLite files, so a connection is reused instead of reopened:

- **Following a running run.** The webserver follows a run's log by watching for writes to the
  run shard's ``.db`` file (``SqliteEventLogStorageWatchdog``). A connection left open would keep
  the new events in the ``-wal`` file. So after every transaction that wrote to a run shard, the
  connection checkpoints the WAL into the file. The checkpoint is ``PASSIVE``: it does not block
  on a reader, but it cannot copy what was written after a reader's snapshot while that reader
  is open (the webserver reading the shard at that moment), nor run while another connection
  checkpoints. The file would then not change until the run's next event, which may be minutes
  away. So an incomplete checkpoint is tried again every 10 ms, for at most
  ``CHECKPOINT_WAIT_SECONDS``. A shard whose checkpoint still did not complete gets one try per
  write until one completes, so that a reader that stays open (a notebook holding a
  transaction) costs each write no more than one try.
- **Processes.** Engines belong to the process that made them. A forked child drops its parent's
  without closing them and makes its own. SQLite's file locks and the busy timeout order the
  writers of several processes, as before.
- **Open files.** At most ``MAX_ENGINES`` engines are kept; the least recently used is disposed.
  A webserver that browses many runs thus keeps a bounded number of files open.
- **Deleting shards.** ``wipe()`` disposes every engine before it deletes the shard files.
- **Range runs.** With ``DAGSTER_EVENT_BATCH_SIZE`` set (``memberflow run`` sets it), Dagster
  hands a step's materializations of a range of partitions over as one batch per asset; they
  are written in one transaction on the run's shard and one on the index, instead of two per
  event.

Configured in ``orchestration/dagster.yaml`` (``event_log_storage``); ``base_dir`` defaults to
Dagster's own: ``$DAGSTER_HOME/history/runs``. This relies on private parts of the pinned
dagster's ``SqliteEventLogStorage`` and ``SqlEventLogStorage`` (``_connect``, ``_db_lock``,
``_initialized_dbs``, ``_initdb``; ``prepare_insert_event``, ``_store_asset_event``,
``_store_asset_event_tags``). ``tests/orchestration/test_event_storage.py`` runs real runs on it and reads them
back with Dagster's stock storage. ``bench/event_storage.py`` prints the cost per event of both.
"""

from __future__ import annotations

import itertools
import os
import threading
import time
from collections import OrderedDict
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import dagster as dg
from dagster._core.events import ASSET_EVENTS
from dagster._core.events.log import EventLogEntry
from dagster._core.storage.event_log.sqlite.sqlite_event_log import (
    INDEX_SHARD_NAME,
    SqliteEventLogStorage,
)
from dagster._core.storage.sqlalchemy_compat import db_result
from dagster._core.storage.sqlite import SQLITE_BUSY_TIMEOUT_SECONDS
from dagster._serdes import ConfigurableClassData
from sqlalchemy import create_engine
from sqlalchemy.engine import Connection, Engine

# Engines (open database files) kept per process: the index, the running run's shard, and the
# shards a webserver read last.
MAX_ENGINES = 32
# How long a write waits for a reader of its run shard to let the checkpoint through (module doc).
CHECKPOINT_WAIT_SECONDS = 1.0


def default_base_dir() -> str:
    """Dagster's default directory of the event log databases, under ``$DAGSTER_HOME``."""
    home = os.environ.get("DAGSTER_HOME")
    if not home:
        raise dg.DagsterInvariantViolationError(
            "PooledSqliteEventLogStorage needs base_dir in its config or DAGSTER_HOME in the "
            "environment (its databases go to $DAGSTER_HOME/history/runs, as Dagster's own)"
        )
    return os.path.join(home, "history", "runs", "")


def _checkpoint(conn: Connection, wait_seconds: float) -> bool:
    """Copy the write-ahead log into the database file (PASSIVE), again every 10 ms while it is
    incomplete (a reader holds back frames, another connection is checkpointing), for at most
    ``wait_seconds``. Whether it completed."""
    deadline = time.monotonic() + wait_seconds
    while True:
        busy, wal_frames, copied = conn.exec_driver_sql("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
        if not busy and copied >= wal_frames:  # (0, -1, -1) outside WAL mode
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.01)


class PooledSqliteEventLogStorage(SqliteEventLogStorage):
    """``SqliteEventLogStorage`` that reuses one connection per database file (see module doc)."""

    def __init__(self, base_dir: str | None = None, inst_data: ConfigurableClassData | None = None):
        # set before the parent's __init__, which may already connect (a new index is reindexed)
        self._engines: OrderedDict[str, Engine] = OrderedDict()
        self._engines_pid = os.getpid()
        self._engines_lock = threading.Lock()
        self._tables_present: set[str] = set()
        # run shards whose last checkpoint did not complete: one try per write until one does
        self._checkpoint_lagging: set[str] = set()
        super().__init__(base_dir or default_base_dir(), inst_data)

    @classmethod
    def config_type(cls) -> dict[str, Any]:
        return {"base_dir": dg.Field(dg.StringSource, is_required=False)}

    @classmethod
    def from_config_value(  # type: ignore[override]
        cls, inst_data: ConfigurableClassData | None, config_value: dict[str, Any]
    ) -> PooledSqliteEventLogStorage:
        return cls(inst_data=inst_data, **config_value)

    def _engine(self, shard: str) -> Engine:
        """The engine of ``shard`` for this process, the most recently used one."""
        with self._engines_lock:
            if self._engines_pid != os.getpid():
                # a forked child: leave the parent's connections to the parent
                for inherited in self._engines.values():
                    inherited.dispose(close=False)
                self._engines = OrderedDict()
                self._engines_pid = os.getpid()
            engine = self._engines.pop(shard, None)
            if engine is None:
                engine = create_engine(
                    self.conn_string_for_shard(shard),
                    connect_args={"timeout": SQLITE_BUSY_TIMEOUT_SECONDS},
                )
            self._engines[shard] = engine
            while len(self._engines) > MAX_ENGINES:
                _, oldest = self._engines.popitem(last=False)
                oldest.dispose()
            return engine

    def _dispose_engines(self) -> None:
        with self._engines_lock:
            engines, self._engines = list(self._engines.values()), OrderedDict()
            for engine in engines:
                engine.dispose()

    @contextmanager
    def _connect(self, shard: str) -> Iterator[Connection]:
        with self._db_lock:
            engine = self._engine(shard)
            if shard not in self._initialized_dbs:
                self._initdb(engine)
                self._initialized_dbs.add(shard)
            with engine.connect() as conn:
                sqlite = conn.connection.dbapi_connection
                changes_before = sqlite.total_changes  # type: ignore[union-attr]
                with conn.begin():
                    yield conn
                if shard != INDEX_SHARD_NAME and sqlite.total_changes != changes_before:  # type: ignore[union-attr]
                    # the webserver follows a run by watching its .db file (module doc)
                    wait = 0.0 if shard in self._checkpoint_lagging else CHECKPOINT_WAIT_SECONDS
                    if _checkpoint(conn, wait):
                        self._checkpoint_lagging.discard(shard)
                    else:
                        self._checkpoint_lagging.add(shard)

    def has_table(self, table_name: str) -> bool:
        # asked once per stored asset check event and per materialization's tags; a table that is
        # there stays there, so only a missing one is looked up again
        if table_name in self._tables_present:
            return True
        present = super().has_table(table_name)
        if present:
            self._tables_present.add(table_name)
        return present

    def store_event_batch(self, events: Sequence[EventLogEntry]) -> None:
        # Dagster hands a batch only when DAGSTER_EVENT_BATCH_SIZE is set (memberflow run sets it):
        # one asset's planned events, materializations or observations over a range of
        # partitions (tests/orchestration/test_event_storage.py sees two of them). Each run's
        # events go to its shard in one transaction and to the index in another, doing per event
        # what SqliteEventLogStorage.store_event does for an asset event; any other batch is stored
        # one event at a time, as the stock storage does.
        if not all(event.is_dagster_event and event.dagster_event_type in ASSET_EVENTS for event in events):
            super().store_event_batch(events)
            return
        for run_id, run_events in itertools.groupby(events, key=lambda event: event.run_id):
            batch = [(event, self.prepare_insert_event(event)) for event in run_events]
            with self.run_connection(run_id) as conn:
                for _, insert in batch:
                    conn.execute(insert)
            with self.index_transaction() as conn:
                event_ids = []
                for event, insert in batch:
                    with db_result(conn, insert) as result:
                        event_ids.append(result.inserted_primary_key[0])
                    self._store_asset_event(conn, event, event_ids[-1])
                self._store_asset_event_tags(conn, [event for event, _ in batch], event_ids)

    def wipe(self) -> None:
        self._dispose_engines()
        super().wipe()

    def dispose(self) -> None:
        super().dispose()
        self._dispose_engines()
