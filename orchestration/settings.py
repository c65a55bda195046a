"""The one configuration place: ``memberflow.yaml`` (SPEC §8), read once and handed to everyone.

Python code reads :func:`load_settings`; dbt receives the business rules as ``--vars`` built by
:meth:`Settings.dbt_vars`, so a rule changed in ``memberflow.yaml`` reaches both sides, and the
as-of date of a build as environment variables (:meth:`Settings.run_env`).
"""

from __future__ import annotations

import contextlib
import copy
import os
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import yaml

PROJECT_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_CONFIG_FILE = PROJECT_ROOT / "memberflow.yaml"
DBT_PROJECT_DIR = PROJECT_ROOT / "dbt_project"

# Development key for the demo and the tests. Documented in the README; production sets its own.
DEV_HMAC_KEY = "memberflow-development-key-not-for-production"

PATH_ENV = {
    "landing": "MEMBERFLOW_LANDING",
    "stores": "MEMBERFLOW_STORES",
    "raw": "MEMBERFLOW_RAW",
    "pii": "MEMBERFLOW_PII",
    "warehouse": "MEMBERFLOW_WAREHOUSE",
    "publish": "MEMBERFLOW_PUBLISH",
    "outbox": "MEMBERFLOW_OUTBOX",
    "spark": "MEMBERFLOW_SPARK_DIR",
}

# warehouse.dbt_run_folders when memberflow.yaml does not set it
DEFAULT_DBT_RUN_FOLDERS = 20

# dbt targets (dbt_project/profiles.yml) and the engine each runs on.
TARGET_ENGINES = {"duckdb": "duckdb", "spark": "spark", "spark_thrift": "spark"}

# warehouse.spark settings of memberflow.yaml → the environment profiles.yml reads.
SPARK_ENV = {
    "master": "MEMBERFLOW_SPARK_MASTER",
    "driver_memory": "MEMBERFLOW_SPARK_DRIVER_MEMORY",
    "shuffle_partitions": "MEMBERFLOW_SPARK_SHUFFLE_PARTITIONS",
    "threads": "MEMBERFLOW_SPARK_THREADS",
}
DUCKDB_ENV = {
    "memory_limit": "MEMBERFLOW_DUCKDB_MEMORY_LIMIT",
}
# memberflow.yaml warehouse.<section>.<key> → the environment variable profiles.yml reads
ENGINE_ENV = {"spark": SPARK_ENV, "duckdb": DUCKDB_ENV}


class ConfigError(ValueError):
    """A configuration value that cannot be used; the message says which and why."""


def _deep_merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    merged = copy.deepcopy(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _deep_merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def _read_yaml(path: Path) -> dict[str, Any]:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except FileNotFoundError as exc:
        raise ConfigError(f"configuration file not found: {path}") from exc
    except yaml.YAMLError as exc:
        raise ConfigError(f"configuration file {path} is not valid YAML: {exc}") from exc
    if not isinstance(data, dict):
        raise ConfigError(f"configuration file {path} must hold a mapping at the top level")
    return data


@dataclass(frozen=True)
class Settings:
    """Resolved configuration. ``rules`` keeps the business sections exactly as configured."""

    paths: dict[str, Path]
    timezone: str
    partitions_start: date
    target: str
    hmac_key: str
    rules: dict[str, Any] = field(repr=False)

    @property
    def engine(self) -> str:
        """``duckdb`` or ``spark``: the engine the dbt target runs on."""
        return TARGET_ENGINES[self.target]

    @property
    def spark_dir(self) -> Path:
        """Spark session mode's own folder: ``warehouse/`` (Parquet tables, one folder per
        ``<schema>.db/<table>``), ``metastore/`` (Derby) and ``tmp/``."""
        return self.paths["spark"]

    @property
    def spark_warehouse_dir(self) -> Path:
        return self.spark_dir / "warehouse"

    @property
    def dbt_run_folders(self) -> int:
        """How many Dagster runs' dbt folders (dbt_project/target/<op>-<run>-<uuid>/) to keep."""
        return int((self.rules.get("warehouse") or {}).get("dbt_run_folders", DEFAULT_DBT_RUN_FOLDERS))

    @property
    def landing_dir(self) -> Path:
        return self.paths["landing"]

    @property
    def raw_dir(self) -> Path:
        return self.paths["raw"]

    @property
    def pii_dir(self) -> Path:
        return self.paths["pii"]

    @property
    def warehouse_path(self) -> Path:
        return self.paths["warehouse"]

    @property
    def publish_dir(self) -> Path:
        return self.paths["publish"]

    @property
    def outbox_dir(self) -> Path:
        return self.paths["outbox"]

    @property
    def stores_path(self) -> Path:
        return self.paths["stores"]

    def with_paths(self, **overrides: Path | str | None) -> "Settings":
        """A copy with some paths replaced (CLI flags, tests). ``None`` leaves a path as is."""
        paths = dict(self.paths)
        for name, value in overrides.items():
            if name not in paths:
                raise ConfigError(f"unknown path setting: {name}")
            if value is not None:
                paths[name] = Path(value).resolve()
        return Settings(
            paths=paths,
            timezone=self.timezone,
            partitions_start=self.partitions_start,
            target=self.target,
            hmac_key=self.hmac_key,
            rules=self.rules,
        )

    def with_target(self, target: str | None) -> "Settings":
        """A copy on another dbt target (``duckdb``, ``spark``, ``spark_thrift``); ``None`` or
        ``""`` keeps the configured one."""
        if not target:
            return self
        _check_target(target)
        return Settings(
            paths=dict(self.paths),
            timezone=self.timezone,
            partitions_start=self.partitions_start,
            target=target,
            hmac_key=self.hmac_key,
            rules=self.rules,
        )

    def env(self) -> dict[str, str]:
        """Environment variables that make a child process (dbt, dagster dev) see these settings."""
        env = {PATH_ENV[name]: str(path) for name, path in self.paths.items()}
        env["MEMBERFLOW_TARGET"] = self.target
        warehouse = self.rules.get("warehouse") or {}
        for section, names in ENGINE_ENV.items():  # an environment variable wins over the file
            configured = warehouse.get(section) or {}
            for key, env_name in names.items():
                value = os.environ.get(env_name) or configured.get(key)
                if value not in (None, ""):
                    env[env_name] = str(value)
        # dbt's log file (target/.../logs/dbt.log) at info level: its debug level writes every
        # statement dbt sends (≈ 1,300 in a daily build), 4-6 % of the daily build at 1 M
        # members (bench/README.md, 2026-12-07 night). The compiled SQL of every model and test
        # stays in target/; DBT_LOG_LEVEL_FILE=debug logs the statements again.
        env["DBT_LOG_LEVEL_FILE"] = os.environ.get("DBT_LOG_LEVEL_FILE") or "info"
        return env

    def dbt_vars(self) -> dict[str, Any]:
        """The business rules as dbt vars (read in models with the ``cfg()`` macro).

        Only what memberflow.yaml fixes: the same for every build, so that dbt's partial parse
        holds from one run to the next. What changes per build (D, the first audience day, the
        store master file) reaches dbt as environment variables: :meth:`run_env`.
        """
        from assets.ingest.hashing import blocklist_hashes  # local: assets import settings

        identity = self.rules["identity"]
        tiers = self.rules["tiers"]
        bands = sorted(tiers["bands"].items(), key=lambda kv: kv[1])
        memberflow: dict[str, Any] = {
            "timezone": self.timezone,
            "window_days": int(self.rules["facts"]["window_days"]),
            "new_days": int(self.rules["facts"]["new_days"]),
            "active_max_recency_days": int(self.rules["facts"]["active_max_recency_days"]),
            "dormant_max_recency_days": int(self.rules["facts"]["dormant_max_recency_days"]),
            "rfm_buckets": int(self.rules["facts"]["rfm_buckets"]),
            "tier_mode": str(tiers["mode"]),
            "growth_window_days": int(tiers["growth_window_days"]),
            "tier_bands": [{"tier": name, "lower": int(lower)} for name, lower in bands],
            "downgrade_horizon_days": int(tiers["downgrade_horizon_days"]),
            "yuan_per_point": int(self.rules["points"]["yuan_per_point"]),
            "points_validity_days": int(self.rules["points"]["validity_days"]),
            "points_expiring_window_days": int(self.rules["points"]["expiring_window_days"]),
            "reactivation_cooldown_days": int(self.rules["audiences"]["reactivation_cooldown_days"]),
            "tier_downgrade_cooldown_days": int(
                self.rules["audiences"]["tier_downgrade_cooldown_days"]
            ),
            "points_reminder_days": [int(d) for d in self.rules["audiences"]["points_reminder_days"]],
            "max_linked_values": int(identity["max_linked_values"]),
            "max_orders_per_day": int(identity["max_orders_per_day"]),
            "blocklist": blocklist_hashes(self),
        }
        return {"memberflow": memberflow}

    def run_env(
        self, as_of_date: date | None = None, audience_from: date | None = None
    ) -> dict[str, str]:
        """What changes per dbt build, as the environment variables that macro ``run_value``
        reads at execution: ``as_of_date`` is D; ``audience_from`` the first day whose audiences
        this build computes (a run over a range of days computes every day's audiences in one
        pass); the store master CSV (empty while the file does not exist: dbt uses its seed)."""
        return {
            "MEMBERFLOW_AS_OF_DATE": as_of_date.isoformat() if as_of_date else "",
            "MEMBERFLOW_AUDIENCE_FROM": (audience_from or as_of_date).isoformat() if as_of_date else "",
            "MEMBERFLOW_STORE_MASTER": str(self.stores_path) if self.stores_path.is_file() else "",
        }



def _validate(rules: dict[str, Any]) -> None:
    mode = rules["tiers"]["mode"]
    if mode not in ("up_and_down", "only_up"):
        raise ConfigError(f"tiers.mode must be 'up_and_down' or 'only_up', not {mode!r}")
    bands = rules["tiers"]["bands"]
    if not bands or min(int(v) for v in bands.values()) != 0:
        raise ConfigError("tiers.bands must start at 0 (the lowest tier)")
    for section, key in [
        ("facts", "window_days"),
        ("points", "yuan_per_point"),
        ("points", "validity_days"),
        ("identity", "max_linked_values"),
        ("identity", "max_orders_per_day"),
    ]:
        if int(rules[section][key]) <= 0:
            raise ConfigError(f"{section}.{key} must be a positive number")
    kept = (rules.get("warehouse") or {}).get("dbt_run_folders", DEFAULT_DBT_RUN_FOLDERS)
    if isinstance(kept, bool) or not isinstance(kept, int) or kept < 1:
        raise ConfigError(f"warehouse.dbt_run_folders must be a whole number >= 1, not {kept!r}")


def _check_target(target: str) -> None:
    if target not in TARGET_ENGINES:
        names = ", ".join(repr(name) for name in TARGET_ENGINES)
        raise ConfigError(f"warehouse.target must be one of {names}, not {target!r}")


def load_settings(config_file: Path | str | None = None) -> Settings:
    """Read ``memberflow.yaml``, then the file in MEMBERFLOW_CONFIG (or ``config_file``), then env."""
    rules = _read_yaml(DEFAULT_CONFIG_FILE)
    base_dir = DEFAULT_CONFIG_FILE.parent
    override_file = config_file or os.environ.get("MEMBERFLOW_CONFIG")
    if override_file:
        override_path = Path(override_file).resolve()
        rules = _deep_merge(rules, _read_yaml(override_path))
        base_dir = override_path.parent
    _validate(rules)

    paths: dict[str, Path] = {}
    for name, env_name in PATH_ENV.items():
        raw_value = os.environ.get(env_name) or rules["paths"][name]
        path = Path(raw_value)
        if not path.is_absolute():
            path = (Path.cwd() if os.environ.get(env_name) else base_dir) / path
        paths[name] = path.resolve()

    try:
        partitions_start = date.fromisoformat(str(rules["business"]["partitions_start"]))
    except ValueError as exc:
        raise ConfigError(f"business.partitions_start is not a YYYY-MM-DD date: {exc}") from exc

    target = os.environ.get("MEMBERFLOW_TARGET") or rules["warehouse"]["target"]
    _check_target(target)

    return Settings(
        paths=paths,
        timezone=str(rules["business"]["timezone"]),
        partitions_start=partitions_start,
        target=target,
        hmac_key=os.environ.get("MEMBERFLOW_HMAC_KEY") or DEV_HMAC_KEY,
        rules=rules,
    )


@contextlib.contextmanager
def environ(values: Mapping[str, str]) -> Iterator[None]:
    """``values`` in this process's environment while the block runs (Dagster resources and
    dagster-dbt read it), and afterwards what was there before: the next run or asset in this
    process must not inherit a build's D or paths."""
    saved = {name: os.environ.get(name) for name in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
