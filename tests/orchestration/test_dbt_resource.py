"""The dbt resource starts dbt without dagster-dbt's two preliminaries (orchestration/resources.py):
no ``dbt --version`` process, no in-process adapter. These tests fail if the pinned dagster-dbt
release stops calling the two methods memberflow overrides, or if the version it would have
read differs from the one memberflow gives it."""

import re
import subprocess

import dagster_dbt.core.resource as dbt_resource_module

from orchestration.resources import dbt_resource
from orchestration.settings import load_settings


def test_the_version_is_the_executables():
    resource = dbt_resource()
    shown = subprocess.check_output([resource.dbt_executable, "--version"], text=True)
    installed = re.search(r"installed:\s*(\d+\.\d+\.\d+)", shown).group(1)
    assert str(resource._cli_version) == installed


def test_a_dbt_command_starts_without_the_version_process_or_an_adapter(tmp_path, monkeypatch):
    settings = load_settings().with_paths(warehouse=tmp_path / "warehouse" / "memberflow.duckdb")
    for name, value in settings.env().items():
        monkeypatch.setenv(name, value)
    spawned: list = []
    real_check_output = dbt_resource_module.check_output

    def recording_check_output(*args, **kwargs):
        spawned.append(args)
        return real_check_output(*args, **kwargs)

    monkeypatch.setattr(dbt_resource_module, "check_output", recording_check_output)

    invocation = dbt_resource().cli(
        ["ls", "--resource-type", "seed", "--output", "name"], target_path=tmp_path / "target"
    )
    messages = [event.raw_event["info"]["msg"] for event in invocation.stream_raw_events()]

    assert invocation.is_successful()
    assert "stores" in messages  # dbt ran and listed the project's seed
    assert spawned == []  # dagster-dbt asked nobody for the version
    assert invocation.adapter is None  # and built no adapter
