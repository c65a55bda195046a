"""The code location loads and shows what a data engineer expects to find."""

import dagster as dg

from orchestration.definitions import defs

INGEST_KEYS = {
    "raw/pos_lines",
    "raw/meituan_orders",
    "raw/eleme_orders",
    "raw/miniprogram_orders",
    "raw/miniprogram_members",
}


def test_definitions_validate():
    dg.Definitions.validate_loadable(defs)


def test_ingestion_assets_are_daily_partitioned_single_run():
    graph = defs.resolve_asset_graph()
    keys = {k.to_user_string() for k in graph.get_all_asset_keys()}
    assert INGEST_KEYS <= keys
    for key in INGEST_KEYS:
        node = graph.get(dg.AssetKey.from_user_string(key))
        assert isinstance(node.partitions_def, dg.DailyPartitionsDefinition)
        assert node.backfill_policy == dg.BackfillPolicy.single_run()
        assert node.group_name == "ingest"


def test_ingestion_checks_are_listed():
    graph = defs.resolve_asset_graph()
    checks = {(c.asset_key.to_user_string(), c.name) for c in graph.asset_check_keys}
    for key in INGEST_KEYS:
        assert (key, "rows_reconcile") in checks
        assert (key, "expectations") in checks


def test_dbt_models_are_assets_in_the_same_graph():
    graph = defs.resolve_asset_graph()
    dbt_keys = [k for k in graph.get_all_asset_keys() if "dbt" in (graph.get(k).kinds or set())]
    assert dbt_keys, "the dbt project contributes assets"
    # dbt assets write the DuckDB file: they run in the single-writer pool, as one run per range.
    node = graph.get(dbt_keys[0])
    assert node.backfill_policy == dg.BackfillPolicy.single_run()


def test_every_dbt_data_test_is_an_asset_check():
    """Each dbt data test shows in Dagster as a check of one asset, not as an observation: a
    singular test that reads several models names its asset in its meta."""
    import json

    from assets.dbt import prepare_manifest

    manifest = json.loads(prepare_manifest().read_text())
    tests = {node["name"] for node in manifest["nodes"].values()
             if node["resource_type"] == "test" and not node["unique_id"].startswith("unit_test.")}
    checks = {c.name for c in defs.resolve_asset_graph().asset_check_keys}
    assert len(tests) > 150
    assert tests - checks == set()


def test_sensor_schedule_and_jobs():
    assert defs.resolve_sensor_def("landing_sensor").job_name == "ingest_job"
    schedule = defs.resolve_schedule_def("daily_pipeline_schedule")
    assert schedule.job_name == "daily_pipeline_job"
    assert schedule.execution_timezone == "Asia/Shanghai"
    assert defs.resolve_job_def("ingest_job").partitions_def is not None
