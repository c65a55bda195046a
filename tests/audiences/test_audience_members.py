"""audiences.audience_members (SPEC §7, §11, issue 5): real dbt builds of the scenario world
(tests/audiences/scenario.py) into temporary warehouses.

One module-scoped build serves every test:
- ``first``: one backfill over FIRST_RANGE (2024-03-01 … 06-12), snapshotted;
- ``backfill``: that warehouse, then one backfill over WINDOW (06-13 … 06-15), then a rerun of
  06-15 with the audience models' data tests;
- ``daily``: a copy of the first warehouse run day by day over WINDOW (audience_from =
  as_of_date = D), with the member facts of each day D snapshotted after its run;
- ``past``: copies of the first warehouse with the member facts built as of PAST_DAYS.
The three continuations run side by side (separate warehouses and dbt target dirs).
"""

from __future__ import annotations

import shutil
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from assets.audiences.emit import Emission, emit_audience
from assets.privacy import ForgetReport, forget_deleted_persons
from orchestration.dbt_cli import run_dbt
from orchestration.settings import Settings, load_settings
from tests.audiences.scenario import World, build_world, d, h

FIRST_RANGE = (d("2024-03-01"), d("2024-06-12"))
WINDOW = (d("2024-06-13"), d("2024-06-15"))
PAST_DAYS = [d("2024-04-05")]
NO_TESTS = ["--exclude-resource-type", "test", "--exclude-resource-type", "unit_test"]
AUDIENCE_MODELS = ["+audience_members"]
FACT_MARTS = ["member_facts", "member_tiers", "member_points", "point_lots", "members"]


def days(first: date, last: date) -> list[date]:
    return [first + timedelta(days=i) for i in range((last - first).days + 1)]


@dataclass
class Warehouse:
    root: Path
    raw: Path

    @property
    def settings(self) -> Settings:
        return load_settings().with_paths(
            warehouse=self.root / "w.duckdb", raw=self.raw, pii=self.root / "pii")

    def dbt(self, args: list[str], as_of: date, audience_from: date | None = None) -> str:
        result = run_dbt(self.settings, args, as_of_date=as_of, audience_from=audience_from,
                         target_path=self.root / "target")
        return result.stdout

    def query(self, sql: str) -> list[dict]:
        con = duckdb.connect(str(self.root / "w.duckdb"), read_only=True)
        try:
            cursor = con.execute(sql)
            names = [c[0] for c in cursor.description]
            return [dict(zip(names, row)) for row in cursor.fetchall()]
        finally:
            con.close()

    def audience_rows(self) -> list[dict]:
        return self.query("select * from audiences.audience_members order by message_key")

    def copy(self, root: Path) -> Warehouse:
        root.mkdir(parents=True)
        shutil.copy(self.root / "w.duckdb", root / "w.duckdb")
        return Warehouse(root, self.raw)

    def facts(self) -> dict[str, list[dict]]:
        return {name: self.query(f"select * from marts.{name}") for name in FACT_MARTS}


@dataclass
class Built:
    world: World
    first_rows: list[dict]
    backfill: Warehouse
    backfill_rows: list[dict]
    rerun_rows: list[dict]
    rerun_stdout: str
    daily_rows: list[dict]
    deleted_one_ids: set[str]
    outbox: Path
    first_emission: Emission
    first_csv: bytes
    forget: ForgetReport
    forget_again: ForgetReport
    facts_by_day: dict[date, dict[str, list[dict]]] = field(default_factory=dict)
    backfill_rfm: list[dict] = field(default_factory=list)


RFM_SUMS = ("select as_of_date, rfm_population, recency_days_total, frequency_total, monetary_total "
            "from intermediate.int_audience_daily_rfm order by as_of_date")


def _continue_backfill(warehouse: Warehouse) -> tuple[list[dict], list[dict], str, list[dict]]:
    warehouse.dbt(["build", "--select", *AUDIENCE_MODELS, "+forgotten_identifiers", *NO_TESTS],
                  WINDOW[1], WINDOW[0])
    rows, rfm = warehouse.audience_rows(), warehouse.query(RFM_SUMS)
    # a rerun of the last day: the audience models and their data tests only
    stdout = warehouse.dbt(["build", "--select", "path:models/audiences"], WINDOW[1], WINDOW[1])
    return rows, warehouse.audience_rows(), stdout, rfm


def _day_by_day(warehouse: Warehouse) -> tuple[list[dict], dict]:
    facts = {}
    for day in days(*WINDOW):
        warehouse.dbt(["run", "--select", *AUDIENCE_MODELS, "+member_facts", "+member_points",
                       "+member_tiers"], day, day)
        facts[day] = {**warehouse.facts(), "daily_rfm": warehouse.query(RFM_SUMS)}
    return warehouse.audience_rows(), facts


def _past_facts(warehouse: Warehouse) -> dict:
    facts = {}
    for day in PAST_DAYS:
        warehouse.dbt(["run", "--select", "+member_facts", "+member_points", "+member_tiers"], day)
        facts[day] = warehouse.facts()
    return facts


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Built:
    root = tmp_path_factory.mktemp("audiences")
    world = build_world(root / "raw")
    first = Warehouse(root / "backfill", root / "raw")
    first.root.mkdir()
    first.dbt(["build", "--select", *AUDIENCE_MODELS, *NO_TESTS], FIRST_RANGE[1], FIRST_RANGE[0])
    first_rows = first.audience_rows()
    # what ingestion put in the pii store, and the set emitted on 05-22 (before the delete)
    write_pii_phones(first.settings.pii_dir, world, ["deleted", "dormant"])
    outbox = root / "outbox"
    emission = emit_audience(first.root / "w.duckdb", first.settings.pii_dir, outbox,
                             "reactivation", DELETED_EMITTED)
    first_csv = (emission.folder / "audience.csv").read_bytes()
    daily = first.copy(root / "daily")
    past = first.copy(root / "past")
    with ThreadPoolExecutor(max_workers=3) as pool:
        backfill_job = pool.submit(_continue_backfill, first)
        daily_job = pool.submit(_day_by_day, daily)
        past_job = pool.submit(_past_facts, past)
        backfill_rows, rerun_rows, rerun_stdout, backfill_rfm = backfill_job.result()
        daily_rows, facts_by_day = daily_job.result()
        facts_by_day.update(past_job.result())
    deleted = {r["one_id"] for r in first.query("select one_id from identity.deleted_persons")}
    forget = forget_deleted_persons(first.root / "w.duckdb", first.settings.pii_dir, outbox)
    forget_again = forget_deleted_persons(first.root / "w.duckdb", first.settings.pii_dir, outbox)
    return Built(world, first_rows, first, backfill_rows, rerun_rows, rerun_stdout, daily_rows,
                 deleted, outbox, emission, first_csv, forget, forget_again, facts_by_day,
                 backfill_rfm)


DELETED_EMITTED = d("2024-05-22")
PII_FILE = Path("identifiers") / "2024-02-29" / "pos__history.parquet"


def write_pii_phones(pii: Path, world: World, keys: list[str]) -> None:
    """The pii identifiers file ingestion writes: raw phone values keyed by their hash."""
    rows = [{"identifier_type": "phone", "identifier_hash": h("phone", world.phone(k)),
             "value": world.phone(k), "source": "pos", "delivery_date": d("2024-02-29"),
             "file_name": "history.csv"} for k in keys]
    from assets.ingest.schemas import PII_TABLES

    (pii / PII_FILE).parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.Table.from_pylist(rows, PII_TABLES["identifiers"]), pii / PII_FILE)


def emitted(rows: list[dict], member: str, audience: str) -> list[dict]:
    return [r for r in rows if r["member_id"] == f"M-{member}" and r["audience"] == audience]


def dates(rows: list[dict]) -> list[date]:
    return sorted(r["as_of_date"] for r in rows)


# ---- reactivation -------------------------------------------------------------------------

def test_dormant_member_is_emitted_once_then_every_31_days(built):
    """Last order 2024-01-10: dormant from 03-11 (61 days) to 07-08 (180 days). Emitted on
    03-11, then not on 03-12 … 04-10 (cooldown D-30 … D-1), again on 04-11, 05-12 and 06-12,
    and not in the second run (06-13 … 06-15: the cooldown reads the first run's history)."""
    rows = emitted(built.backfill_rows, "dormant", "reactivation")
    assert dates(rows) == [d("2024-03-11"), d("2024-04-11"), d("2024-05-12"), d("2024-06-12")]
    assert [r["recency_days"] for r in rows] == [61, 92, 123, 154]
    assert rows[0]["reason"] == "dormant: 61 days since last order"
    assert {r["lifecycle"] for r in rows} == {"dormant"}
    assert rows[0]["message_key"] == f"reactivation:2024-03-11:{rows[0]['one_id']}"
    # as of 03-11 the window D-364 … D holds both orders (2023-09-01 and 2024-01-10)
    assert rows[0]["monetary_365"] == Decimal("180.00")
    assert rows[0]["preferred_hour"] == 9
    assert not emitted(built.backfill_rows, "dormant", "tier_downgrade")


def test_member_waking_up_then_dormant_again(built):
    """Dormant on the first day of the range (order 2023-12-01), wakes up with an order on
    03-15 (active), dormant again from 05-15 (03-15 + 61) and re-emitted 31 days later, in the
    second run."""
    rows = emitted(built.backfill_rows, "woken", "reactivation")
    assert dates(rows) == [d("2024-03-01"), d("2024-05-15"), d("2024-06-15")]
    assert [r["recency_days"] for r in rows] == [91, 61, 92]


def test_cooldown_holds_across_a_break_in_consent(built):
    """Dormant from 03-06 and emitted; unsubscribes on 03-10, consents again on 03-20: eligible
    again at once, but the next emission is still 04-06 (03-06 + 31), then 05-07 and 06-07."""
    rows = emitted(built.backfill_rows, "split", "reactivation")
    assert dates(rows) == [d("2024-03-06"), d("2024-04-06"), d("2024-05-07"), d("2024-06-07")]


def test_unsubscribed_member_comes_back_only_after_an_update_with_consent(built):
    """Unsubscribed on 02-01, dormant from 03-03: never reachable until its update with consent
    on 06-14, emitted that very day (recency 164 <= 180)."""
    rows = emitted(built.backfill_rows, "resubscribed", "reactivation")
    assert dates(rows) == [d("2024-06-14")]
    assert rows[0]["recency_days"] == 164


def test_only_registered_members_from_their_registration_date(built):
    """A buyer dormant since 02-19 who registers on 04-01 is emitted from 04-01 on."""
    rows = emitted(built.backfill_rows, "late_register", "reactivation")
    assert dates(rows) == [d("2024-04-01"), d("2024-05-02"), d("2024-06-02")]


def test_no_consent_is_never_emitted(built):
    assert not [r for r in built.backfill_rows if r["member_id"] == "M-no_consent"]


def test_channels_and_contacts_come_from_the_profile(built):
    """No phone in the profile, a unionid and WeCom consent: wecom, with the unionid hash and no
    phone; an sms row carries the phone hash and the masked phone, never the unionid."""
    wecom = emitted(built.backfill_rows, "wecom", "reactivation")
    assert dates(wecom) == [d("2024-04-11"), d("2024-05-12"), d("2024-06-12")]
    contacts = {(r["channel"], r["unionid_hash"], r["phone_hash"], r["phone_masked"])
                for r in wecom}
    assert contacts == {("wecom", h("unionid", "u-wecom"), None, None)}
    phone = built.world.phones["dormant"]
    sms = emitted(built.backfill_rows, "dormant", "reactivation")
    assert {(r["channel"], r["phone_hash"], r["phone_masked"], r["unionid_hash"]) for r in sms} == {
        ("sms", h("phone", phone), f"{phone[:3]}****{phone[-4:]}", None)}


# ---- points_expiry -----------------------------------------------------------------------

def test_lot_reminded_30_and_7_days_before_expiry_only(built):
    """Lots of 123 points (earned 2023-05-01, expires 2024-04-30), 50 (2023-06-13 → 2024-06-12)
    and 88 (2023-07-15 → 2024-07-14): reminded exactly 30 and 7 days before each expiry."""
    rows = emitted(built.backfill_rows, "points", "points_expiry")
    rows.sort(key=lambda r: r["as_of_date"])
    assert [(r["as_of_date"], r["reason"]) for r in rows] == [
        (d("2024-03-31"), "lot of 123 points expires on 2024-04-30 (in 30 days)"),
        (d("2024-04-23"), "lot of 123 points expires on 2024-04-30 (in 7 days)"),
        (d("2024-05-13"), "lot of 50 points expires on 2024-06-12 (in 30 days)"),
        (d("2024-06-05"), "lot of 50 points expires on 2024-06-12 (in 7 days)"),
        (d("2024-06-14"), "lot of 88 points expires on 2024-07-14 (in 30 days)"),
    ]
    by_day = {r["as_of_date"]: r for r in rows}
    # on 03-31: 123 + 50 + 88 left, 123 of them expiring in 04-01 … 04-30; on 05-13 the first
    # lot is gone (expired 04-30)
    assert (by_day[d("2024-03-31")]["points_balance"], by_day[d("2024-03-31")]["points_expiring"],
            by_day[d("2024-03-31")]["earliest_expiry"]) == (261, 123, d("2024-04-30"))
    assert (by_day[d("2024-05-13")]["points_balance"], by_day[d("2024-05-13")]["points_expiring"],
            by_day[d("2024-05-13")]["earliest_expiry"]) == (138, 50, d("2024-06-12"))
    assert by_day[d("2024-03-31")]["lifecycle"] == "lost"


def test_points_spent_before_the_reminder_are_not_reminded(built):
    """The 60 points expiring 2024-05-01 were all redeemed on 03-20: no reminder on 04-01 or
    04-24. The 100 points expiring 05-19 are reminded on 04-19 and redeemed on 05-01: no
    reminder on 05-12."""
    assert not emitted(built.backfill_rows, "spent", "points_expiry")
    rows = emitted(built.backfill_rows, "spent_between", "points_expiry")
    assert [(r["as_of_date"], r["points_balance"]) for r in rows] == [(d("2024-04-19"), 100)]


# ---- tier_downgrade ----------------------------------------------------------------------

def test_tier_downgrade_warned_once_per_30_days(built):
    """260 yuan every 30 days keeps 12-13 orders (3,120+: silver) in the year but only 11 in
    D-334 … D on most days (2,860 kept): at risk on 03-05 … 03-29, 04-04 … 04-28, 05-04 … 05-28,
    06-03 … Emitted on 03-05; 04-04 starts a new risk stretch but is within 30 days of 03-05, so
    the next warning is 04-05; then 05-06 and 06-06, and none in the window (06-13 … 06-15)
    although it is at risk there: the second run reads the 06-06 warning from the history."""
    rows = emitted(built.backfill_rows, "downgrade", "tier_downgrade")
    assert dates(rows) == [d("2024-03-05"), d("2024-04-05"), d("2024-05-06"), d("2024-06-06")]
    assert {r["reason"] for r in rows} == {
        "growth value 2,860 in 30 days < silver 3,000: spend 140 yuan to keep"}
    assert {r["tier"] for r in rows} == {"silver"}
    assert {r["lifecycle"] for r in rows} == {"active"}


# ---- delete, history, reruns --------------------------------------------------------------

def test_delete_forgets_the_person_in_every_day(built):
    """Emitted on 03-21, 04-21 and 05-22 by the first run; its delete event (06-15) removes those
    rows in the next run, in the backfill as in the day-by-day runs."""
    assert dates(emitted(built.first_rows, "deleted", "reactivation")) == [
        d("2024-03-21"), d("2024-04-21"), d("2024-05-22")]
    deleted_one_id = emitted(built.first_rows, "deleted", "reactivation")[0]["one_id"]
    for rows in (built.backfill_rows, built.daily_rows, built.rerun_rows):
        assert not [r for r in rows
                    if r["member_id"] == "M-deleted" or r["one_id"] == deleted_one_id]


def test_backfill_equals_day_by_day(built):
    """One run over 06-13 … 06-15 gives the same history as three daily runs (audience_from =
    as_of_date = D), every column of every row."""
    assert built.backfill_rows == built.daily_rows
    window = [r for r in built.backfill_rows if WINDOW[0] <= r["as_of_date"] <= WINDOW[1]]
    assert len(window) >= 8 and {r["audience"] for r in window} >= {"reactivation", "points_expiry"}


def test_a_one_day_range_sums_the_same_rfm_population(built):
    """A daily run (a range of one day) sums the population's values from one grouping of the
    window's orders; the backfill over the window gets them from its running events. On the
    day both are built as of (06-15) the sums are the same. (Its earlier days differ by the
    person deleted on 06-15: the backfill, built as of 06-15, already forgets them.)"""
    assert [r["as_of_date"] for r in built.backfill_rfm] == days(*WINDOW)
    last = built.backfill_rfm[-1]
    assert last["rfm_population"] > 100 and last["monetary_total"] > 0
    assert built.facts_by_day[WINDOW[1]]["daily_rfm"] == [last]
    # and the day-by-day sums move with the days (not one day's copied)
    assert len({r["daily_rfm"][0]["recency_days_total"]
                for day, r in built.facts_by_day.items() if day in days(*WINDOW)}) == 3


def test_rerun_of_a_day_changes_nothing_and_data_tests_pass(built):
    """Rebuilding 06-15 alone (its audience models, unit tests and data tests) leaves the history
    exactly as it was."""
    assert built.rerun_rows == built.backfill_rows
    summary = next(line for line in built.rerun_stdout.splitlines() if "Done. PASS=" in line)
    assert "ERROR=0" in summary and "WARN=0" in summary, built.rerun_stdout[-3000:]
    lines = built.rerun_stdout.splitlines()
    for test in ["unique_audience_members_message_key", "assert_audience_cooldowns_hold",
                 "assert_audience_forgets_deleted_persons",
                 "accepted_values_audience_members_channel",
                 "eligible_runs_follow_dormancy_channel_and_registration",
                 "point_reminders_use_the_fifo_state_of_the_day"]:
        assert any(test in line and " PASS " in line for line in lines), test


# ---- every row against the member facts built as of its day ------------------------------

def _channel(member: dict) -> str | None:
    if member["has_valid_phone"] and member["consent_sms"]:
        return "sms"
    if member["unionid_hash"] and member["consent_wecom"]:
        return "wecom"
    return None


def expected_audiences(day: date, facts: dict[str, list[dict]], history: list[dict],
                       deleted: set[str]) -> dict:
    """{(audience, one_id): expected columns} for day D from the marts built as of D (SPEC §7);
    a person deleted since is in no audience of any day."""
    members = {m["one_id"]: m for m in facts["members"]
               if _channel(m) and m["one_id"] not in deleted}
    member_facts = {f["one_id"]: f for f in facts["member_facts"]}
    tiers = {t["one_id"]: t for t in facts["member_tiers"]}
    points = {p["one_id"]: p for p in facts["member_points"]}
    recent = {(r["audience"], r["one_id"]) for r in history
              if day - timedelta(days=30) <= r["as_of_date"] < day}
    out = {}
    for one_id, m in members.items():
        f, t, p = member_facts[one_id], tiers[one_id], points[one_id]
        wanted = []
        if f["lifecycle"] == "dormant" and ("reactivation", one_id) not in recent:
            wanted.append("reactivation")
        if t["downgrade_risk"] and ("tier_downgrade", one_id) not in recent:
            wanted.append("tier_downgrade")
        lots = [lot for lot in facts["point_lots"]
                if lot["one_id"] == one_id and lot["points_left"] > 0
                and lot["expiry_date"] in (day + timedelta(days=30), day + timedelta(days=7))]
        if lots:
            wanted.append("points_expiry")
        for audience in wanted:
            out[(audience, one_id)] = {
                "member_id": m["member_id"], "channel": _channel(m), "tier": t["tier"],
                "rfm_segment": f["rfm_segment"], "lifecycle": f["lifecycle"],
                "recency_days": f["recency_days"], "monetary_365": f["monetary_365"],
                "preferred_hour": f["preferred_hour"], "points_balance": p["points_balance"],
                "points_expiring": p["points_expiring_30d"],
                "earliest_expiry": p["earliest_expiry"],
            }
    return out


DESCRIPTIVE = ["member_id", "channel", "tier", "rfm_segment", "lifecycle", "recency_days",
               "monetary_365", "preferred_hour", "points_balance", "points_expiring",
               "earliest_expiry"]


@pytest.mark.parametrize("day", days(*WINDOW) + PAST_DAYS)
def test_rows_of_a_day_match_the_facts_built_as_of_that_day(built, day):
    """Who is in each audience on D, and every descriptive column (rfm_segment included: the
    population means of D), equals what the marts built as of D say — for days of the backfill
    (built as of 06-15) and of the long first backfill (built as of 06-12)."""
    facts = built.facts_by_day[day]
    expected = expected_audiences(day, facts, built.backfill_rows, built.deleted_one_ids)
    actual = {(r["audience"], r["one_id"]): {c: r[c] for c in DESCRIPTIVE}
              for r in built.backfill_rows if r["as_of_date"] == day}
    assert set(actual) == set(expected)
    problems = [f"{key} {column}: expected {value!r}, got {actual[key][column]!r}"
                for key, row in expected.items() for column, value in row.items()
                if actual[key][column] != value]
    assert not problems, "\n".join(problems[:20])


def test_scenario_covers_the_cases(built):
    """The crowd gives the checks above something to compare: rows of every audience and both
    channels on the days checked against the facts, and most segments over the history."""
    covered = [r for r in built.backfill_rows
               if r["as_of_date"] in set(days(*WINDOW)) | set(PAST_DAYS)]
    assert len(covered) >= 12
    assert {r["audience"] for r in covered} == {"reactivation", "points_expiry", "tier_downgrade"}
    assert {r["channel"] for r in covered} == {"sms", "wecom"}
    assert len({r["rfm_segment"] for r in covered}) >= 3
    assert len({r["rfm_segment"] for r in built.backfill_rows}) >= 6


# ---- outbox files and PIPL deletes outside the warehouse ------------------------------------

def _csv_rows(data: bytes) -> list[dict]:
    import csv
    import io

    return list(csv.DictReader(io.StringIO(data.decode("utf-8"))))


def test_emission_before_the_delete_carried_the_member_with_its_phone(built):
    """The 05-22 set was emitted by the first run, when the member was not yet deleted."""
    rows = _csv_rows(built.first_csv)
    mine = [r for r in rows if r["member_id"] == "M-deleted"]
    assert len(mine) == 1 and mine[0]["channel"] == "sms"
    assert mine[0]["phone"] == built.world.phone("deleted")
    assert built.first_emission.rows == len(rows) >= 2


def test_delete_withdraws_the_member_from_emitted_files(built):
    """After the run that saw the delete, the forget step rewrites the 05-22 set without the
    member: the other row unchanged, manifest counts and checksum describe the new file."""
    import hashlib
    import json

    folder = built.outbox / "reactivation" / DELETED_EMITTED.isoformat()
    data = (folder / "audience.csv").read_bytes()
    manifest = json.loads((folder / "manifest.json").read_text())
    before = _csv_rows(built.first_csv)
    assert _csv_rows(data) == [r for r in before if r["member_id"] != "M-deleted"]
    assert built.world.phone("deleted").encode() not in data
    assert manifest["row_count"] == len(before) - 1
    assert manifest["sha256"] == hashlib.sha256(data).hexdigest()
    assert manifest["withdrawn_rows"] == 1 and manifest["withdrawn_reason"].endswith("(PIPL)")
    assert built.forget.outbox_rows_withdrawn == 1 and built.forget.outbox_sets_rewritten == 1
    assert sorted(p.name for p in folder.iterdir()) == ["audience.csv", "manifest.json"]


def test_delete_removes_the_raw_values_from_the_pii_store(built):
    """The deleted member's phone leaves the pii store; the other member's stays."""
    pii = built.backfill.settings.pii_dir
    values = pq.read_table(pii / PII_FILE).column("value").to_pylist()
    assert values == [built.world.phone("dormant")]
    assert built.forget.pii_rows_removed == 1 and built.forget.persons == 1


def test_forget_step_is_idempotent_and_incremental(built):
    """A second pass with the same deletes finds nothing to do and reads no unchanged file."""
    again = built.forget_again
    assert (again.pii_rows_removed, again.outbox_rows_withdrawn, again.files_checked) == (0, 0, 0)


def test_emission_is_written_once_and_identically(built, tmp_path):
    """Emitting the same (audience, D) twice gives one set; the second call writes nothing."""
    warehouse, pii = built.backfill.root / "w.duckdb", built.backfill.settings.pii_dir
    first = emit_audience(warehouse, pii, tmp_path, "reactivation", WINDOW[1])
    files = {p.name: p.read_bytes() for p in first.folder.iterdir()}
    second = emit_audience(warehouse, pii, tmp_path, "reactivation", WINDOW[1])
    assert first.emitted and not second.emitted
    assert (second.rows, second.sha256) == (first.rows, first.sha256)
    assert {p.name: p.read_bytes() for p in second.folder.iterdir()} == files


def test_failed_emission_leaves_no_partial_set(built, tmp_path, monkeypatch):
    """A write that fails half-way (the disk fills while syncing) leaves neither the set nor a
    hidden staging folder; the next emission writes the whole set."""
    import assets.audiences.emit as emit

    warehouse, pii = built.backfill.root / "w.duckdb", built.backfill.settings.pii_dir

    def disk_full(fd: int) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(emit.os, "fsync", disk_full)
    with pytest.raises(OSError, match="No space left"):
        emit_audience(warehouse, pii, tmp_path, "reactivation", WINDOW[1])
    assert list(tmp_path.rglob("*")) == [tmp_path / "reactivation"]
    monkeypatch.undo()
    result = emit_audience(warehouse, pii, tmp_path, "reactivation", WINDOW[1])
    assert result.emitted and sorted(p.name for p in result.folder.iterdir()) == [
        "audience.csv", "manifest.json"]


# ---- the pii store, read once per run -----------------------------------------------------

EMITTED_DAYS = (d("2024-06-10"), d("2024-06-12"))  # the dormant member's sms row on 06-12


def _emit_all(warehouse: Path, pii: Path, outbox: Path, run_days: tuple[date, date] | None) -> dict:
    """Every audience of every day of EMITTED_DAYS; {(audience, D): audience.csv bytes}."""
    sets = {}
    for day in days(*EMITTED_DAYS):
        for audience in ("reactivation", "points_expiry", "tier_downgrade"):
            emission = emit_audience(warehouse, pii, outbox, audience, day, run_days)
            sets[(audience, day)] = (emission.folder / "audience.csv").read_bytes()
    return sets


def test_a_run_reads_the_pii_store_once_for_all_its_sets(built, tmp_path, monkeypatch):
    """Emitting three audiences over three days with the run's range given reads the pii store
    once (not once per set) and writes the same files as sets emitted one by one, each reading
    the store itself."""
    import assets.audiences.emit as emit

    warehouse, pii = built.backfill.root / "w.duckdb", built.backfill.settings.pii_dir
    passes: list[int] = []
    read = emit._read_pii
    monkeypatch.setattr(emit, "_read_pii", lambda *a: passes.append(1) or read(*a))

    emit._pii_held.update(store=None, values={})
    run = _emit_all(warehouse, pii, tmp_path / "run", EMITTED_DAYS)
    assert len(passes) == 1

    alone = {}
    for (audience, day) in run:
        emit._pii_held.update(store=None, values={})
        emission = emit_audience(warehouse, pii, tmp_path / "alone", audience, day)
        alone[(audience, day)] = (emission.folder / "audience.csv").read_bytes()
    with_contacts = [k for k, data in alone.items()
                     if any(r["channel"] in ("sms", "wecom") for r in _csv_rows(data))]
    assert len(passes) == 1 + len(with_contacts) and len(with_contacts) >= 2
    assert run == alone
    phones = [r["phone"] for data in run.values() for r in _csv_rows(data) if r["phone"]]
    assert phones == [built.world.phone("dormant")]


def test_a_range_of_days_is_emitted_on_one_connection_as_day_by_day(built, tmp_path, monkeypatch):
    """The outbox assets emit a run's days with emit_audience_days: one warehouse connection per
    audience and one pii pass for the run, and the same sets as emit_audience day by day. A day
    already emitted is reported as such and left as it was."""
    import assets.audiences.emit as emit

    warehouse, pii = built.backfill.root / "w.duckdb", built.backfill.settings.pii_dir
    run_days = days(*EMITTED_DAYS)
    before = emit_audience(warehouse, pii, tmp_path / "range", "reactivation", run_days[1])
    opened, passes = [], []
    open_reader, read = emit.open_reader, emit._read_pii
    monkeypatch.setattr(emit, "open_reader", lambda w: opened.append(1) or open_reader(w))
    monkeypatch.setattr(emit, "_read_pii", lambda *a: passes.append(1) or read(*a))
    emit._pii_held.update(store=None, values={})

    ranged = {}
    for audience in ("reactivation", "points_expiry", "tier_downgrade"):
        emissions = emit.emit_audience_days(warehouse, pii, tmp_path / "range", audience, run_days, EMITTED_DAYS)
        assert [e.as_of_date for e in emissions] == run_days
        for e in emissions:
            ranged[(audience, e.as_of_date)] = ((e.folder / "audience.csv").read_bytes(), e.emitted)
    assert len(opened) == 3 and len(passes) == 1
    assert ranged[("reactivation", run_days[1])] == ((before.folder / "audience.csv").read_bytes(), False)
    assert sum(not emitted for _, emitted in ranged.values()) == 1

    monkeypatch.undo()
    day_by_day = _emit_all(warehouse, pii, tmp_path / "day_by_day", None)
    assert {key: data for key, (data, _) in ranged.items()} == day_by_day
    phones = [r["phone"] for data in day_by_day.values() for r in _csv_rows(data) if r["phone"]]
    assert phones == [built.world.phone("dormant")]


def test_a_changed_pii_store_is_read_again(built, tmp_path):
    """A value read for one set is not reused once the store's files change: a rewritten
    identifier file (as the forget step or a re-delivery writes it) is read again."""
    import assets.audiences.emit as emit

    warehouse = built.backfill.root / "w.duckdb"
    pii = tmp_path / "pii"
    shutil.copytree(built.backfill.settings.pii_dir, pii)
    before = _emit_all(warehouse, pii, tmp_path / "before", EMITTED_DAYS)
    assert built.world.phone("dormant").encode() in before[("reactivation", EMITTED_DAYS[1])]

    table = pq.read_table(pii / PII_FILE)
    other = "13900000000"
    pq.write_table(table.set_column(table.schema.get_field_index("value"), "value",
                                    pa.array([other] * table.num_rows)), pii / PII_FILE)
    assert emit._pii_held["store"] is not None  # the first emissions' values are still held
    after = _emit_all(warehouse, pii, tmp_path / "after", EMITTED_DAYS)
    assert after[("reactivation", EMITTED_DAYS[1])] == before[("reactivation", EMITTED_DAYS[1])].replace(
        built.world.phone("dormant").encode(), other.encode())
