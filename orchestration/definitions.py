"""The one place where memberflow's Dagster definitions are assembled (``dagster dev`` loads it)."""

from __future__ import annotations

import dagster as dg

from assets.dbt import memberflow_dbt_assets
from assets.audiences.outbox import outbox_assets
from assets.ingest.assets import ingest_assets
from assets.privacy import forget_deleted
from assets.publish import bi_copy
from orchestration.jobs import daily_pipeline_job, ingest_job, outbox_job
from orchestration.resources import build_resources
from orchestration.schedules import daily_schedule
from orchestration.sensors import audience_sensor, landing_sensor

defs = dg.Definitions(
    assets=[*ingest_assets, memberflow_dbt_assets, forget_deleted, bi_copy, *outbox_assets],
    jobs=[ingest_job, daily_pipeline_job, outbox_job],
    schedules=[daily_schedule],
    sensors=[landing_sensor, audience_sensor],
    resources=build_resources(),
)
