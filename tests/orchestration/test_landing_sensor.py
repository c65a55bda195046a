"""The landing sensor requests exactly the new or changed (source, day) partitions."""

import json

import dagster as dg

from orchestration.definitions import defs
from orchestration.sensors import landing_sensor


def _touch(path, text="x"):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


def _evaluate(cursor=None):
    with dg.instance_for_test() as instance:
        context = dg.build_sensor_context(instance=instance, cursor=cursor, definitions=defs)
        return landing_sensor(context)


def test_new_folders_become_run_requests_and_cursor(tmp_path, monkeypatch):
    landing = tmp_path / "landing"
    monkeypatch.setenv("MEMBERFLOW_LANDING", str(landing))
    _touch(landing / "pos" / "2024-05-01" / "SH001_20240501.csv")
    _touch(landing / "miniprogram" / "2024-05-01" / "orders_20240501.jsonl")
    _touch(landing / "pos" / "not-a-date" / "junk.csv")
    (landing / "eleme" / "2024-05-02").mkdir(parents=True)  # empty folder: nothing to ingest

    result = _evaluate()
    requests = {r.tags["memberflow/landing_folder"]: r for r in result.run_requests}
    assert set(requests) == {"pos/2024-05-01", "miniprogram/2024-05-01"}
    pos = requests["pos/2024-05-01"]
    assert pos.partition_key == "2024-05-01"
    assert pos.asset_selection == [dg.AssetKey(["raw", "pos_lines"])]
    mp = requests["miniprogram/2024-05-01"]
    assert set(mp.asset_selection) == {
        dg.AssetKey(["raw", "miniprogram_orders"]),
        dg.AssetKey(["raw", "miniprogram_members"]),
    }
    assert pos.run_key.startswith("ingest:pos/2024-05-01:")

    # Same landing zone, cursor carried: nothing new.
    again = _evaluate(result.cursor)
    assert not again.run_requests

    # A new day and a changed folder are requested; the unchanged one is not.
    _touch(landing / "pos" / "2024-05-02" / "SH001_20240502.csv")
    _touch(landing / "miniprogram" / "2024-05-01" / "members_20240501.jsonl")
    third = _evaluate(result.cursor)
    assert {r.tags["memberflow/landing_folder"] for r in third.run_requests} == {
        "pos/2024-05-02",
        "miniprogram/2024-05-01",
    }
    assert set(json.loads(third.cursor)) == {"pos/2024-05-01", "pos/2024-05-02", "miniprogram/2024-05-01"}
