"""dagster-dbt gives every Dagster run's dbt build a folder of its own in dbt_project/target/ and
never deletes one: memberflow keeps the last ``warehouse.dbt_run_folders`` of them."""

import os
import time

import pytest

from assets.dbt import prune_run_folders
from orchestration.settings import ConfigError, load_settings


def _folder(parent, name, written):
    folder = parent / name
    (folder / "compiled").mkdir(parents=True)
    (folder / "dbt.log").write_text("log")
    for path in (folder / "dbt.log", folder):
        os.utime(path, (written, written))
    return folder


def test_only_the_newest_finished_run_folders_are_kept(tmp_path):
    now = time.time()
    started = now - 100  # this run started 100 s ago
    current = _folder(tmp_path, "memberflow_dbt_assets-aaaaaaa-0000000", now)
    finished = [
        _folder(tmp_path, f"memberflow_dbt_assets-{i:07x}-abcdef{i}", now - 1000 * (i + 1))
        for i in range(5)
    ]  # finished[0] is the newest
    # a build beside this one: created before this run started, its dbt.log written since
    running = _folder(tmp_path, "memberflow_dbt_assets-bbbbbbb-1111111", now - 5000)
    os.utime(running / "dbt.log", (now - 10, now - 10))
    # not dagster-dbt's folders of this asset
    others = [_folder(tmp_path, name, now - 9000)
              for name in ("compiled", "run", "other_op-ccccccc-2222222", "memberflow_dbt_assets-x")]

    removed = prune_run_folders(current, keep=3, started=started)

    assert sorted(removed) == sorted(finished[2:])
    left = sorted(p.name for p in tmp_path.iterdir())
    assert left == sorted(p.name for p in [current, *finished[:2], running, *others])


def test_keep_one_keeps_only_this_run_and_running_ones(tmp_path):
    now = time.time()
    current = _folder(tmp_path, "memberflow_dbt_assets-aaaaaaa-0000000", now)
    old = _folder(tmp_path, "memberflow_dbt_assets-ddddddd-3333333", now - 50)
    assert prune_run_folders(current, keep=1, started=now - 10) == [old]
    assert not old.exists() and current.exists()


def test_the_setting_defaults_to_20_and_rejects_nonsense(tmp_path):
    assert load_settings().dbt_run_folders == 20
    for value in ("0", "-3", "many", "true"):
        override = tmp_path / f"override_{value}.yaml"
        override.write_text(f"warehouse:\n  dbt_run_folders: {value}\n")
        with pytest.raises(ConfigError, match="warehouse.dbt_run_folders"):
            load_settings(override)
    override = tmp_path / "override_5.yaml"
    override.write_text("warehouse:\n  dbt_run_folders: 5\n")
    assert load_settings(override).dbt_run_folders == 5
