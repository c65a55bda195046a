"""The daily schedule: the whole pipeline for the newest delivery day, every morning."""

from __future__ import annotations

import dagster as dg

from orchestration.jobs import daily_pipeline_job

daily_schedule = dg.build_schedule_from_partitioned_job(
    daily_pipeline_job,
    hour_of_day=6,
    minute_of_hour=0,
    name="daily_pipeline_schedule",
    description=(
        "06:00 Asia/Shanghai (the partitions' timezone): ingest the newest delivery day and "
        "rebuild everything as of it."
    ),
    default_status=dg.DefaultScheduleStatus.STOPPED,
)
