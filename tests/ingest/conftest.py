"""Fixtures of the ingestion tests: the shared sample landing zone copied into a temp dir."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from assets.ingest.hashing import Hasher
from orchestration.settings import DEV_HMAC_KEY, Settings, load_settings
from tests.ingest.helpers import samples_dir


@pytest.fixture(scope="session")
def samples() -> Path:
    path = samples_dir()
    if not (path / "landing").is_dir():
        pytest.skip(f"sample landing zone not found at {path} (set MEMBERFLOW_SAMPLES)")
    return path


@pytest.fixture
def landing(tmp_path: Path, samples: Path) -> Path:
    """A private copy of samples/landing."""
    target = tmp_path / "landing"
    shutil.copytree(samples / "landing", target)
    return target


@pytest.fixture
def settings(tmp_path: Path, landing: Path) -> Settings:
    return load_settings().with_paths(landing=landing, raw=tmp_path / "raw", pii=tmp_path / "pii")


@pytest.fixture(scope="session")
def hasher() -> Hasher:
    return Hasher(DEV_HMAC_KEY)

