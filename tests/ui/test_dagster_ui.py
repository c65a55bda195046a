"""The Dagster UI, as a data engineer sees it: the webserver on our workspace, read in a real
headless Chromium. Asserts the assets, their checks and the sensors are listed."""

from __future__ import annotations

import html
import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from orchestration.settings import PROJECT_ROOT

pytestmark = pytest.mark.slow

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _page_text(url: str) -> str:
    """The rendered page as text: Chromium runs the UI's JavaScript, then dumps the DOM."""
    dom = subprocess.run(
        [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
         "--virtual-time-budget=20000", "--dump-dom", url],
        capture_output=True, text=True, timeout=120, check=True,
    ).stdout
    dom = re.sub(r"<script.*?</script>|<style.*?</style>", " ", dom, flags=re.S)
    return html.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", dom)))


@pytest.fixture(scope="module")
def webserver(tmp_path_factory):
    if CHROMIUM is None:
        if os.environ.get("CI"):
            pytest.fail("chromium is not installed: scripts/test installs it with apt-get")
        pytest.skip("chromium is not installed (apt-get install chromium)")
    home = tmp_path_factory.mktemp("dagster_home")
    shutil.copy(PROJECT_ROOT / "orchestration" / "dagster.yaml", home / "dagster.yaml")  # as scripts/demo
    port = _free_port()
    env = dict(os.environ, DAGSTER_HOME=str(home))
    webserver_bin = str(Path(sys.executable).with_name("dagster-webserver"))
    proc = subprocess.Popen(
        [webserver_bin, "-w", str(PROJECT_ROOT / "workspace.yaml"), "-h", "127.0.0.1", "-p", str(port)],
        cwd=PROJECT_ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                urllib.request.urlopen(f"{base}/server_info", timeout=2)
                break
            except OSError:
                if time.monotonic() > deadline or proc.poll() is not None:
                    pytest.fail("dagster-webserver did not come up within 120 s")
                time.sleep(1)
        yield base
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()


def test_ingestion_assets_are_listed(webserver):
    text = _page_text(f"{webserver}/assets?asset-selection=group:ingest")
    for name in ("pos_lines", "meituan_orders", "eleme_orders", "miniprogram_orders", "miniprogram_members"):
        assert f"raw / {name}" in text


def test_marts_are_listed_with_descriptions(webserver):
    text = _page_text(f"{webserver}/assets?asset-selection=group:marts")
    for name in ("orders", "members", "member_facts", "member_tiers", "member_points"):
        assert f"marts / {name}" in text


def test_ingestion_checks_are_listed(webserver):
    text = _page_text(f"{webserver}/assets/raw/pos_lines?view=checks")
    assert "rows_reconcile" in text and "expectations" in text


def test_sensors_and_schedule_are_listed(webserver):
    text = _page_text(f"{webserver}/automation")
    for name in ("landing_sensor", "audience_sensor", "daily_pipeline_schedule"):
        assert name in text
