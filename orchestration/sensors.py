"""Sensors: side effects only. The landing sensor turns new or changed delivery folders into
ingestion runs of exactly those (source, day) partitions."""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

import dagster as dg

from assets.ingest.schemas import SOURCE_TABLES
from orchestration.jobs import ingest_job, outbox_job
from orchestration.partitions import daily_partitions
from orchestration.settings import load_settings

_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")

# landing folder → the ingestion assets that read it
LANDING_FOLDERS: dict[str, list[str]] = {
    "pos": ["pos"],
    "meituan": ["meituan"],
    "eleme": ["eleme"],
    "miniprogram": ["miniprogram_orders", "miniprogram_members"],
}


def folder_fingerprint(folder: Path) -> str:
    """Changes when a file is added, removed, renamed, resized or rewritten."""
    digest = hashlib.sha256()
    for path in sorted(p for p in folder.iterdir() if p.is_file()):
        stat = path.stat()
        digest.update(f"{path.name}|{stat.st_size}|{stat.st_mtime_ns}\n".encode())
    return digest.hexdigest()[:16]


def scan_landing(landing: Path, partition_keys: set[str] | None = None) -> dict[str, str]:
    """``{"<folder>/<day>": fingerprint}`` for every delivery folder with at least one file."""
    found: dict[str, str] = {}
    for folder in LANDING_FOLDERS:
        base = landing / folder
        if not base.is_dir():
            continue
        for day_dir in sorted(base.iterdir()):
            if not day_dir.is_dir() or not _DAY.match(day_dir.name):
                continue
            if partition_keys is not None and day_dir.name not in partition_keys:
                continue
            if any(p.is_file() for p in day_dir.iterdir()):
                found[f"{folder}/{day_dir.name}"] = folder_fingerprint(day_dir)
    return found


def landing_run_requests(current: dict[str, str], seen: dict[str, str]) -> list[dg.RunRequest]:
    """One run request per new or changed delivery folder, for that folder's assets and day."""
    requests = []
    for folder_day, fingerprint in sorted(current.items()):
        if seen.get(folder_day) == fingerprint:
            continue
        folder, day = folder_day.split("/")
        requests.append(
            dg.RunRequest(
                run_key=f"ingest:{folder_day}:{fingerprint}",
                partition_key=day,
                asset_selection=[
                    dg.AssetKey(["raw", SOURCE_TABLES[s]]) for s in LANDING_FOLDERS[folder]
                ],
                tags={"memberflow/landing_folder": folder_day},
            )
        )
    return requests


@dg.sensor(
    job=ingest_job,
    minimum_interval_seconds=60,
    description="Watches <landing>/<source>/<YYYY-MM-DD>/ and ingests each new or changed delivery folder.",
    default_status=dg.DefaultSensorStatus.STOPPED,
)
def landing_sensor(context: dg.SensorEvaluationContext) -> dg.SensorResult:
    settings = load_settings()
    seen: dict[str, str] = json.loads(context.cursor) if context.cursor else {}
    partition_keys = set(daily_partitions.get_partition_keys())
    current = scan_landing(settings.landing_dir, partition_keys)
    requests = landing_run_requests(current, seen)
    if not requests:
        return dg.SensorResult(skip_reason=f"no new delivery folder under {settings.landing_dir}")
    return dg.SensorResult(run_requests=requests, cursor=json.dumps(current, sort_keys=True))


def audience_run_requests(partition_keys: list[str]) -> list[dg.RunRequest]:
    """One request per (audience, D): its run key is the business identity ``<audience>:<D>``."""
    from assets.audiences.emit import AUDIENCES
    from assets.audiences.outbox import outbox_key

    return [
        dg.RunRequest(
            run_key=f"{audience}:{day}",
            partition_key=day,
            asset_selection=[outbox_key(audience)],
            tags={"memberflow/audience": audience},
        )
        for day in sorted(set(partition_keys))
        for audience in AUDIENCES
    ]


@dg.sensor(
    job=outbox_job,
    minimum_interval_seconds=60,
    description=(
        "Emits each (audience, D) to the outbox once audience_members for D is materialized "
        "(its dbt tests run before it in the same build). Run key: <audience>:<D>."
    ),
    default_status=dg.DefaultSensorStatus.STOPPED,
)
def audience_sensor(context: dg.SensorEvaluationContext) -> dg.SensorResult:
    from assets.audiences.outbox import AUDIENCE_MEMBERS_KEY

    result = context.instance.fetch_materializations(
        dg.AssetRecordsFilter(asset_key=AUDIENCE_MEMBERS_KEY),
        limit=1000,
        cursor=context.cursor,
        ascending=True,
    )
    days = [r.partition_key for r in result.records if r.partition_key]
    if not days:
        return dg.SensorResult(skip_reason="no new audience_members materialization", cursor=result.cursor)
    return dg.SensorResult(run_requests=audience_run_requests(days), cursor=result.cursor)
