"""The audience sensor asks for each (audience, D) once, keyed by business identity."""

import dagster as dg

from assets.audiences.outbox import AUDIENCE_MEMBERS_KEY, outbox_key
from orchestration.definitions import defs
from orchestration.sensors import audience_sensor


def _materialize(instance, day):
    instance.report_runless_asset_event(dg.AssetMaterialization(AUDIENCE_MEMBERS_KEY, partition=day))


def test_requests_each_audience_and_day_once_with_a_cursor():
    with dg.instance_for_test() as instance:
        first = audience_sensor(dg.build_sensor_context(instance=instance, definitions=defs))
        assert not first.run_requests

        _materialize(instance, "2024-05-01")
        _materialize(instance, "2024-05-02")
        second = audience_sensor(dg.build_sensor_context(instance=instance, cursor=first.cursor, definitions=defs))
        keys = sorted(r.run_key for r in second.run_requests)
        assert keys == sorted(
            f"{a}:{d}" for a in ("reactivation", "points_expiry", "tier_downgrade") for d in ("2024-05-01", "2024-05-02")
        )
        request = next(r for r in second.run_requests if r.run_key == "reactivation:2024-05-02")
        assert request.partition_key == "2024-05-02"
        assert request.asset_selection == [outbox_key("reactivation")]

        # cursor carried: nothing new until another day is built
        third = audience_sensor(dg.build_sensor_context(instance=instance, cursor=second.cursor, definitions=defs))
        assert not third.run_requests
        _materialize(instance, "2024-05-03")
        fourth = audience_sensor(dg.build_sensor_context(instance=instance, cursor=third.cursor, definitions=defs))
        assert {r.partition_key for r in fourth.run_requests} == {"2024-05-03"}
