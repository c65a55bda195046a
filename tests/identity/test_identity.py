"""OneID, orders and members (SPEC §3, §4, §6, §11; issue 3) on the named scenario of
``tests/identity/scenario.py``.

The landing history is written once; dbt builds the staging → identity → marts models (with their
data tests) as of D1, then as of D2, then runs them for D2 again (a rerun changes nothing), then
for D1 again (a backfill reproduces D1's ids). Each build's tables are read into memory and the tests below
assert on them.
"""

from __future__ import annotations

import contextlib
import os
import re
from datetime import date
from pathlib import Path

import duckdb
import pytest

from orchestration.dbt_cli import run_dbt
from orchestration.settings import load_settings
from tests.identity.scenario import D1, D2, Ids, _event, write_landing
from tests.support.raw_builder import write_raw

SELECTION = [
    "--select",
    "+orders", "+members", "+identity", "+quality", "+int_member_order_totals", "path:tests/identity",
    "--indirect-selection", "cautious",
]


# an order key already taken (meituan order J's), given to a POS order by hand
DUPLICATE_KEY = "meituan:3801000000000000099"
UNIFIED_SQL = Path("models", "intermediate", "orders", "int_orders__unified.sql")
# the OneID graph's tables kept by what a day changes (macros/identity/kept_identity.sql)
CHAIN = ["int_identity__occurrences", "int_identity__nodes", "int_identity__excluded_nodes",
         "int_identity__record_centers", "int_identity__edges", "int_identity__components"]
CHAIN_SQL = {name: Path("models", "intermediate", "identity", f"{name}.sql") for name in CHAIN}
REGISTRY_SQL = Path("models", "identity", "one_id_registry.sql")
CURRENT_SQL = Path("models", "intermediate", "identity", "int_identity__one_id_current.sql")
TOTALS_SQL = Path("models", "intermediate", "facts", "int_member_order_totals.sql")


def _read(warehouse: Path) -> dict:
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        def rows(sql: str) -> list[dict]:
            cur = con.execute(sql)
            names = [d[0] for d in cur.description]
            return [dict(zip(names, r)) for r in cur.fetchall()]

        return {
            "orders": {r["order_key"]: r for r in rows("select * from marts.orders")},
            "map": {(r["identifier_type"], r["identifier_hash"]): r["one_id"]
                    for r in rows("select * from identity.one_id_map")},
            "map_rows": rows("select * from identity.one_id_map"),
            "changes": sorted((r["old_one_id"], r["new_one_id"], r["change"], str(r["as_of_date"]))
                              for r in rows("select * from identity.one_id_changes")),
            "excluded": {(r["identifier_type"], r["identifier_hash"]): r
                         for r in rows("select * from identity.excluded_identifiers")},
            "members": {r["member_id"]: r for r in rows("select * from marts.members")},
            "deleted": {r["one_id"] for r in rows("select * from identity.deleted_persons")},
            "graph": rows("select * from identity.identifier_graph"),
            "file_loads": rows("select * from quality.file_loads"),
            "unknown_shops": rows("select * from quality.unknown_shops"),
            "orphan_refunds": rows("select * from quality.orphan_refunds"),
            "registry": rows("select * from identity.one_id_registry"),
            "kept_orders": sorted(con.execute(
                "select * from intermediate.int_orders__unified order by record_id").fetchall()),
            "lines": sorted(con.execute(
                "select * from intermediate.int_orders__lines order by line_uid").fetchall(), key=repr),
            "kept_totals": sorted(con.execute(
                "select * from intermediate.int_member_order_totals order by one_id").fetchall()),
            "chain": {name: sorted(con.execute(f"select * from intermediate.{name}").fetchall(), key=repr)
                      for name in CHAIN},
        }
    finally:
        con.close()


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    root = tmp_path_factory.mktemp("identity")
    settings = load_settings().with_paths(
        warehouse=root / "warehouse.duckdb", raw=root / "raw", pii=root / "pii")
    ids = Ids(settings.hmac_key)
    write_landing(settings.raw_dir, ids)
    target = root / "target"
    snapshots = {}
    outputs = {}
    compiled = {}  # each build's SQL of int_orders__unified and int_member_order_totals
    statements = {}  # each build's dbt log (debug level: every statement, hooks included)
    # d2_whole: the orders and persons' order totals of D2 rebuilt whole (--full-refresh) beside
    # the ones brought forward
    whole = ["run", "--select", "int_orders__lines", "int_orders__unified", "orders", "int_member_order_totals", *CHAIN, "--full-refresh"]
    for name, as_of, args in [("d1", D1, ["build", *SELECTION]), ("d2", D2, ["build", *SELECTION]),
                              ("d2_again", D2, ["run", *SELECTION]), ("d2_whole", D2, whole),
                              ("d1_again", D1, ["run", *SELECTION]),
                              # part of the graph built alone, then a day's build
                              ("d1_part", D1, ["run", "--select", "int_identity__occurrences"]),
                              ("d2_after_part", D2, ["build", *SELECTION]),
                              # the orders and the persons' totals built in separate invocations
                              # (as the bench's staged full build does), then a day's build
                              ("d1_orders", D1, ["run", "--select", "+int_orders__unified"]),
                              ("d1_totals", D1, ["run", "--select", "int_orders_valid_as_of", "int_member_order_totals"]),
                              # (and the current one_ids as an earlier memberflow left them:
                              # without the hash columns, other SQL in their comment)
                              ("d2_split", D2, ["build", *SELECTION]),
                              # an order key made a duplicate by hand, outside any delta: the
                              # tests of orders alone (every row: the orders' delta does not start
                              # from the build the test passed on), then D2's build again
                              ("tampered_test", D2, ["test", "--select", "orders"]),
                              ("tampered_build", D2, ["build", *SELECTION]),
                              # (the order key restored) a member file delivered late into D1's
                              # folder, named before D1's member file: that file's rows get other
                              # line_uids (its rank among the day's files moved); then D2 rebuilt
                              # whole beside. The order lines do not know which builds of the
                              # staging tables they read (as an earlier memberflow left them)
                              ("late_member", D2, ["build", *SELECTION]),
                              ("late_member_whole", D2, whole)]:
        if name == "d2_split":
            _old_current_layout(settings.warehouse_path)
        if name == "tampered_test":
            _set_order_key(settings.warehouse_path, "pos:SH001:L1", DUPLICATE_KEY)
        if name == "late_member":
            _set_order_key(settings.warehouse_path, DUPLICATE_KEY, "pos:SH001:L1")
            _forget_staged_reads(settings.warehouse_path)
            write_raw(settings.raw_dir, "miniprogram_members",
                      [_event("register", "2024-05-01 06:00:00", "M_LATE", ids, openid="OLATE", sms=True)],
                      D1, "members_20240500.jsonl")
        log = target / "logs" / "dbt.log"
        log.unlink(missing_ok=True)  # this build's statements only
        with _debug_log():
            result = run_dbt(settings, args, as_of_date=date.fromisoformat(as_of), target_path=target,
                             check=not name.startswith("tampered"))
        outputs[name] = result.stdout
        statements[name] = log.read_text()
        compiled[name] = {sql: (target / "compiled" / "memberflow" / sql).read_text()
                          for sql in (UNIFIED_SQL, TOTALS_SQL, REGISTRY_SQL, CURRENT_SQL, *CHAIN_SQL.values())}
        snapshots[name] = _read(settings.warehouse_path)
    return ids, snapshots, outputs, compiled, statements


@contextlib.contextmanager
def _debug_log():
    """dbt's log file at debug level (memberflow sets it to info): it then holds every statement."""
    before = os.environ.get("DBT_LOG_LEVEL_FILE")
    os.environ["DBT_LOG_LEVEL_FILE"] = "debug"
    try:
        yield
    finally:
        if before is None:
            del os.environ["DBT_LOG_LEVEL_FILE"]
        else:
            os.environ["DBT_LOG_LEVEL_FILE"] = before


def _set_order_key(warehouse: Path, key: str, new_key: str) -> None:
    """Give the POS order ``key`` the key ``new_key`` by hand, outside any build."""
    con = duckdb.connect(str(warehouse))
    try:
        con.execute("update intermediate.int_orders__unified set order_key = ? where order_key = ? and source = 'pos'",
                    [new_key, key])
    finally:
        con.close()


def _forget_staged_reads(warehouse: Path) -> None:
    """The order lines' comment without the builds of the staging base tables they read, as an
    earlier memberflow left it: their next build compares every staged line."""
    con = duckdb.connect(str(warehouse))
    try:
        (comment,) = con.execute("select comment from duckdb_tables() "
                                 "where table_name = 'int_orders__lines'").fetchone()
        con.execute("comment on table intermediate.int_orders__lines is "
                    f"'{comment.split(' base_pos__lines ')[0]}'")
    finally:
        con.close()


def _old_current_layout(warehouse: Path) -> None:
    """int_identity__one_id_current as memberflow left it before it held the identifiers' hash
    and type: those columns dropped, its comment without the digest of its SQL."""
    con = duckdb.connect(str(warehouse))
    try:
        (comment,) = con.execute("select comment from duckdb_tables() "
                                 "where table_name = 'int_identity__one_id_current'").fetchone()
        words = comment.split(" ")
        at = words.index("logic")
        old = " ".join(words[:at] + words[at + 2:])
        con.execute("alter table intermediate.int_identity__one_id_current drop column identifier_hash")
        con.execute("alter table intermediate.int_identity__one_id_current drop column identifier_type")
        con.execute(f"comment on table intermediate.int_identity__one_id_current is '{old}'")
    finally:
        con.close()


def _one_id(snapshot, ids: Ids, identifier_type: str, value: str) -> str | None:
    if identifier_type == "phone":
        return snapshot["map"].get(("phone", ids.phone(value)["phone_hash"]))
    return snapshot["map"].get((identifier_type, ids(identifier_type, value)))


def test_every_build_passes_its_data_tests(built):
    _, _, outputs, _, _ = built
    for name, stdout in outputs.items():
        if name.startswith("tampered"):
            continue
        summary = next(line for line in stdout.splitlines() if "Done. PASS=" in line)
        assert "ERROR=0" in summary and "WARN=0" in summary, (name, stdout[-3000:])


def test_pos_card_phone_in_three_spellings_and_openid_link_to_the_member(built):
    ids, s, _, _, _ = built
    d1 = s["d1"]
    person = _one_id(d1, ids, "member_id", "M_A")
    assert person is not None
    for identifier_type, value in [("member_card_no", "VIP_A"), ("member_card_no", "VIP_A2"),
                                   ("openid", "OA"), ("unionid", "UA"), ("meituan_user_id", "MT_A")]:
        assert _one_id(d1, ids, identifier_type, value) == person, value
    for spelling in ["138 1111 0001", "+86 138-1111-0001", "86-13811110001"]:
        assert _one_id(d1, ids, "phone", spelling) == person
    for key in ["pos:SH001:A1", "pos:SH001:A2", "pos:SH002:A3", "meituan:3801000000000000001"]:
        assert d1["orders"][key]["one_id"] == person, key


def test_meituan_user_linked_only_through_member_phone(built):
    ids, s, _, _, _ = built
    d1 = s["d1"]
    person = _one_id(d1, ids, "member_id", "M_B")
    assert _one_id(d1, ids, "meituan_user_id", "MT_B") == person
    assert _one_id(d1, ids, "eleme_user_id", "EL_B") == person
    assert d1["orders"]["meituan:3801000000000000002"]["one_id"] == person
    assert person != _one_id(d1, ids, "member_id", "M_A")


def test_masked_phone_never_links(built):
    ids, s, _, _, _ = built
    d1 = s["d1"]
    c1 = _one_id(d1, ids, "meituan_user_id", "MT_C1")
    c2 = _one_id(d1, ids, "meituan_user_id", "MT_C2")
    assert c1 and c2 and c1 != c2
    assert not [k for k in d1["map"] if k[0] == "phone" and k[1] is None]


def test_placeholder_phone_is_excluded_and_guests_stay_apart(built):
    ids, s, _, _, _ = built
    d1 = s["d1"]
    placeholder = ("phone", ids.phone("13922223333")["phone_hash"])
    assert placeholder not in d1["map"]
    excluded = d1["excluded"][placeholder]
    assert excluded["reason"] == "too_many_linked_values"
    assert excluded["reason_detail"] == "linked to 7 distinct openid values (limit 5)"
    assert excluded["phone_masked"] == "139****3333"
    guests = {_one_id(d1, ids, "openid", f"OG{i}") for i in range(1, 8)}
    assert len(guests) == 7 and None not in guests


def test_blocklisted_phone_is_excluded(built):
    ids, s, _, _, _ = built
    d1 = s["d1"]
    blocked = ("phone", ids.phone("13800000000")["phone_hash"])
    assert d1["excluded"][blocked]["reason"] == "blocklist"
    assert _one_id(d1, ids, "member_card_no", "VIP_BL1") != _one_id(d1, ids, "member_card_no", "VIP_BL2")


def test_identifier_on_more_than_ten_orders_a_day_is_excluded(built):
    ids, s, _, _, _ = built
    d1 = s["d1"]
    busy = d1["excluded"][("member_card_no", ids("member_card_no", "VIP_BUSY"))]
    assert busy["reason"] == "too_many_orders_per_day"
    assert busy["reason_detail"] == "on 11 orders on 2024-05-01 (limit 10 a day)"
    assert all(d1["orders"][f"pos:SH001:BUSY{i:02d}"]["one_id"] is None for i in range(1, 12))


def test_blocklisted_value_in_an_unchanged_order_still_does_not_count(built):
    """VIP_BC is on orders with five phones (the limit) and one with the blocklisted phone. D2
    brings a new order of the card, so the card is recomputed; the blocklisted phone, in an order
    that did not change, still does not count: the card stays an identifier."""
    ids, s, _, _, _ = built
    card = ("member_card_no", ids("member_card_no", "VIP_BC"))
    for build in ("d1", "d2"):
        assert card not in s[build]["excluded"], build
        bc = _one_id(s[build], ids, "member_card_no", "VIP_BC")
        assert bc and {_one_id(s[build], ids, "phone", f"1352222000{i}") for i in range(1, 6)} == {bc}, build
    assert s["d2"]["orders"]["pos:SH001:BC7"]["one_id"] == _one_id(s["d2"], ids, "member_card_no", "VIP_BC")


def test_identifier_back_under_the_limit_after_a_redelivery_links_again(built):
    """VIP_Q is on 11 orders on D1 (junk). D2 re-delivers the file of one of them with another
    card: VIP_Q is on 10 orders, an identifier again, and joins its orders' two openids into
    one person. VIP_Q is only in the order that changed (on its old side), which the graph
    brought forward from D1 must still reach."""
    ids, s, _, _, _ = built
    card = ("member_card_no", ids("member_card_no", "VIP_Q"))
    assert s["d1"]["excluded"][card]["reason"] == "too_many_orders_per_day"
    assert _one_id(s["d1"], ids, "openid", "OQ1") != _one_id(s["d1"], ids, "openid", "OQ2")
    assert s["d1"]["orders"]["pos:SH001:Q03"]["one_id"] is None
    d2 = s["d2"]
    assert card not in d2["excluded"]
    q = _one_id(d2, ids, "member_card_no", "VIP_Q")
    assert q and _one_id(d2, ids, "openid", "OQ1") == q and _one_id(d2, ids, "openid", "OQ2") == q
    assert _one_id(d2, ids, "member_card_no", "VIP_Q2") not in (None, q)
    assert d2["orders"]["pos:SH001:Q03"]["one_id"] == q


def test_anonymous_cash_sale_has_no_one_id(built):
    _, s, _, _, _ = built
    order = s["d1"]["orders"]["pos:SH001:F1"]
    assert order["one_id"] is None and order["is_valid"] is True


def test_family_sharing_a_phone_is_one_person_with_the_first_registered_as_primary(built):
    ids, s, _, _, _ = built
    d1 = s["d1"]
    assert _one_id(d1, ids, "member_id", "M_E1") == _one_id(d1, ids, "member_id", "M_E2")
    member = d1["members"]["M_E1"]
    assert "M_E2" not in d1["members"]
    assert member["member_id_count"] == 2
    assert member["consent_sms"] is True and member["consent_wecom"] is False
    assert member["register_source"] == "store_recruit"
    assert member["has_valid_phone"] is True and member["phone_masked"] == "135****4444"


def test_member_profile_consents_and_registration(built):
    _, s, _, _, _ = built
    members = s["d1"]["members"]
    a = members["M_A"]
    assert (a["consent_sms"], a["consent_wecom"]) == (False, False)  # unsubscribed after register
    assert a["registration_date"] == date(2024, 5, 1) and a["gender"] == "F"
    b = members["M_B"]
    assert (b["consent_sms"], b["consent_wecom"]) == (False, True)  # the later update wins
    assert members["M_R"]["referrer_member_id"] == "M_A"
    assert members["M_R"]["one_id"] != a["one_id"]  # a referrer is not the member's person


def test_every_order_and_member_maps_to_at_most_one_one_id(built):
    ids, s, _, _, _ = built
    for snapshot in s.values():
        map_keys = [(r["identifier_type"], r["identifier_hash"]) for r in snapshot["map_rows"]]
        assert len(map_keys) == len(set(map_keys))
        one_ids = [m["one_id"] for m in snapshot["members"].values()]
        assert len(one_ids) == len(set(one_ids))
        for edge in snapshot["graph"]:
            assert snapshot["map"][(edge["linked_identifier_type"], edge["linked_identifier_hash"])] == edge["one_id"]


def test_orders_amounts_and_statuses(built):
    _, s, _, _, _ = built
    orders = s["d1"]["orders"]
    sale = orders["pos:SH001:S1"]
    assert (str(sale["gross_amount_yuan"]), str(sale["discount_amount_yuan"]), str(sale["paid_amount_yuan"]),
            str(sale["refund_amount_yuan"]), str(sale["net_amount_yuan"])) == ("55.00", "5.00", "50.00", "20.00", "30.00")
    assert sale["order_status"] == "partially_refunded" and sale["is_valid"] is True
    assert "pos:SH001:R1" not in orders
    orphan = orders["pos:SH001:R9"]
    assert orphan["order_status"] == "refund_only" and orphan["is_valid"] is False
    assert str(orphan["net_amount_yuan"]) == "-10.00"
    assert sorted(r["refund_order_no"] for r in s["d1"]["orphan_refunds"]) == ["LR2", "R9"]

    mt = orders["meituan:3801000000000000001"]
    assert (str(mt["discount_amount_yuan"]), str(mt["net_amount_yuan"]), mt["store_code"]) == ("9.00", "39.00", "SH001")
    partial = orders["meituan:3801000000000000003"]
    assert partial["order_status"] == "partially_refunded" and str(partial["net_amount_yuan"]) == "20.00"
    cancelled = orders["meituan:3801000000000000007"]
    assert cancelled["order_status"] == "cancelled" and cancelled["is_valid"] is False
    unknown = orders["meituan:3801000000000000006"]
    assert unknown["store_code"] is None
    assert [(r["source"], r["shop_id"], r["orders"]) for r in s["d1"]["unknown_shops"]] == [("meituan", "MT999999", 1)]

    refunded = orders["eleme:5012000000000000002"]
    assert refunded["order_status"] == "refunded" and str(refunded["net_amount_yuan"]) == "0.00"
    assert refunded["is_valid"] is False

    paid = orders["miniprogram:MPP1"]
    assert (str(paid["gross_amount_yuan"]), str(paid["discount_amount_yuan"]), str(paid["paid_amount_yuan"]),
            str(paid["net_amount_yuan"])) == ("50.00", "8.00", "42.00", "37.00")
    assert paid["order_status"] == "partially_refunded" and paid["points_redeemed"] == 50
    assert orders["miniprogram:MPP2"]["points_redeemed"] == 0
    assert orders["miniprogram:MPB1"]["order_hour"] == 9
    assert orders["pos:SH001:G1"]["business_date"] == date(2024, 4, 30)


def test_a_late_refund_and_a_late_sale_change_the_orders_of_an_earlier_day(built):
    _, s, _, _, _ = built
    d1, d2 = s["d1"]["orders"], s["d2"]["orders"]
    assert d1["pos:SH001:L1"]["order_status"] == "completed"
    late = d2["pos:SH001:L1"]
    assert (late["order_status"], str(late["refund_amount_yuan"]), str(late["net_amount_yuan"])) == (
        "partially_refunded", "15.00", "25.00")
    assert late["one_id"] == d1["pos:SH001:L1"]["one_id"] is not None
    assert d1["pos:SH001:LR2"]["order_status"] == "refund_only" and "pos:SH001:L2" not in d1
    assert "pos:SH001:LR2" not in d2
    sale = d2["pos:SH001:L2"]
    assert (sale["order_status"], str(sale["net_amount_yuan"]), sale["business_date"]) == (
        "partially_refunded", "25.00", date(2024, 5, 1))
    assert sale["one_id"] == late["one_id"]
    assert sorted(r["refund_order_no"] for r in s["d2"]["orphan_refunds"]) == ["KR2", "R9"]
    # a refund delivered again with another amount: the same order (its sale line is unchanged)
    assert str(d1["pos:SH001:M1"]["net_amount_yuan"]) == "55.00"
    assert str(d2["pos:SH001:M1"]["net_amount_yuan"]) == "52.00"


def test_orders_brought_forward_equal_a_build_from_scratch(built):
    """The D2 build recomputed only the orders that changed since D1 (new, re-delivered, late
    refunds and sales, merged, split and deleted persons) and left the rest: the result is the
    same, row for row and with its bookkeeping columns, as D2's orders rebuilt whole."""
    _, s, _, compiled, _ = built
    compiled = {name: sql[UNIFIED_SQL] for name, sql in compiled.items()}
    assert "int_orders__unified__changed" not in compiled["d1"]  # the first build: whole
    assert "int_orders__unified__changed" in compiled["d2"]  # brought forward
    assert "int_orders__unified__changed" in compiled["d2_again"]  # a rerun: nothing changed
    assert "int_orders__unified__changed" not in compiled["d1_again"]  # an earlier day: whole
    assert "int_orders__unified__changed" not in compiled["d2_whole"]
    assert s["d2"]["kept_orders"] == s["d2_whole"]["kept_orders"]
    assert s["d2"]["orders"] == s["d2_whole"]["orders"]
    moved = {k for k in s["d2"]["orders"] if s["d1"]["orders"].get(k) != s["d2"]["orders"][k]}
    assert {"pos:SH001:L1", "pos:SH001:L2", "pos:SH001:M1", "pos:SH002:K1", "pos:SH001:GM",
            "meituan:3801000000000000099", "miniprogram:MPI1"} <= moved
    assert s["d1"]["kept_orders"] == s["d1_again"]["kept_orders"]


def _statement(log: str, head: str) -> str | None:
    """The SQL of the statement in a dbt debug log that starts with ``head`` (None: not run)."""
    at = log.find(head)
    if at < 0:
        return None
    end = re.search(r"\n\d\d:\d\d:\d\d\.\d+ \[", log[at:])
    return log[at:at + end.start()] if end else log[at:]


def test_lines_brought_forward_drive_the_orders_and_the_pairs(built):
    """The order lines of D2 were brought forward from D1's by line (the lines that came or went,
    the refunds whose sale came or went) and equal D2's lines rebuilt whole; their delta is what
    the orders compare by their lines and what the OneID pairs compare, when those were built
    from the same lines as of D1. A rerun hands on an empty delta; after part of the graph was
    rebuilt alone, the pairs compare every record again."""
    _, s, _, _, statements = built
    assert s["d2"]["lines"] == s["d2_whole"]["lines"]
    assert s["d2_again"]["lines"] == s["d2"]["lines"]
    # after part of the graph was rebuilt alone for D1, D2's lines, orders and persons' totals
    # (brought forward by the deltas) are still D2's rebuilt whole
    for table in ("lines", "kept_orders", "kept_totals"):
        assert s["d2_after_part"][table] == s["d2_whole"][table], table
        assert s["d2_split"][table] == s["d2_whole"][table], table
    # K2's line went with its file's re-delivery: its refund KR2, a line that did not change,
    # was recomputed as an order of its own
    d1, d2 = s["d1"]["orders"], s["d2"]["orders"]
    assert d1["pos:SH002:K2"]["order_status"] == "partially_refunded" and "pos:SH002:KR2" not in d1
    assert d2["pos:SH002:KR2"]["order_status"] == "refund_only" and "pos:SH002:K2" not in d2
    assert s["d1_again"]["lines"] == s["d1"]["lines"]
    # FUT1, delivered on D1 with business date D2, is an order from D2 on
    assert "pos:SH001:FUT1" not in d1 and str(d2["pos:SH001:FUT1"]["net_amount_yuan"]) == "14.00"
    changed = {row[1] for row in set(s["d1"]["lines"]) ^ set(s["d2"]["lines"])}  # line_uid
    assert len(changed) >= 10, changed

    # the lines compared only the line_uids in the staging base tables' deltas and the lines
    # whose business date came within D, when those deltas start from the builds the lines read
    lines_head = '"intermediate"."int_orders__lines__changed" as'
    for build, by_staged in [("d1", None), ("d2", True), ("d2_again", True), ("d2_whole", None),
                             ("d1_again", None), ("d2_after_part", True), ("d1_orders", None),
                             ("d2_split", True), ("tampered_build", True), ("late_member", False)]:
        sql = _statement(statements[build], lines_head)
        assert (None if sql is None else '"staging"."base_pos__lines__delta"' in sql) == by_staged, build
        if by_staged is not None:
            assert ("candidates_" in sql) == by_staged, build
    assert s["late_member"]["lines"] == s["late_member_whole"]["lines"]

    orders_head = '"intermediate"."int_orders__unified__changed" as'
    pairs_head = '"intermediate"."int_identity__occurrences__delta" as'
    for build, orders_by_delta, pairs_by_delta in [
            ("d1", None, None), ("d2", True, True), ("d2_again", True, True), ("d2_whole", None, None),
            ("d1_again", None, None), ("d2_after_part", True, None), ("d2_split", True, True)]:
        for head, by_delta in [(orders_head, orders_by_delta), (pairs_head, pairs_by_delta)]:
            sql = _statement(statements[build], head)
            assert (None if sql is None else "int_orders__lines__delta" in sql) == by_delta, (build, head)


def test_orders_compare_the_persons_of_the_records_whose_person_may_have_changed(built):
    """A day's build compares the persons only of the records whose centre changed, whose
    centre's one_id changed (a registry row after the orders' D0) or whose person was deleted or
    is no longer, when the centres' delta, the registry and the persons deleted are known from
    the build the orders were made by; every record otherwise. Either way the orders equal D2's
    rebuilt whole (test_orders_brought_forward_equal_a_build_from_scratch)."""
    _, s, _, _, statements = built
    head = '"intermediate"."int_orders__unified__changed" as'
    scoped = {}
    for build in ("d2", "d2_again", "d2_after_part", "d2_split"):
        sql = _statement(statements[build], head)
        scoped[build] = "int_orders__unified__deleted" in sql
    print(scoped)
    assert scoped == {"d2": True, "d2_again": False, "d2_after_part": False, "d2_split": True}
    for build in ("d2", "d2_after_part", "d2_split"):
        assert s[build]["kept_orders"] == s["d2_whole"]["kept_orders"], build


def test_one_person_per_record_tested_on_the_records_changed_since_the_test_passed(built):
    """The one-person-per-record test reads only the records whose identifiers changed or that
    hold an identifier with a registry row after D0, when the OneID graph, the registry and the
    one_ids were brought forward from the builds it last passed on (D2 after D1); every record
    otherwise."""
    _, _, outputs, _, statements = built
    head = "records_ as materialized ("
    builds = ("d1", "d2", "d2_after_part", "d2_split", "tampered_build")
    for build in builds:  # it ran in each
        assert "test.memberflow.assert_each_record_has_one_person" in statements[build], build
    scoped = {build: _statement(statements[build], head) is not None for build in builds}
    assert scoped == {"d1": False, "d2": True, "d2_after_part": False, "d2_split": False,
                      "tampered_build": False}  # the last: a rerun of D2


def test_unique_order_keys_tested_on_the_orders_rewritten_since_the_test_passed(built):
    """orders.order_key's unique test reads only the orders' delta when the delta starts from the
    build of the orders it last passed on (D2 after D1); otherwise every order. A duplicate made
    by hand outside any delta fails the test of every row; having failed, the test reads every
    row in the next build too, and fails again."""
    _, s, outputs, _, statements = built
    head = 'select\n    order_key as unique_field'
    scoped = {}
    for build in ("d1", "d2", "d2_after_part", "d2_split", "tampered_test", "tampered_build"):
        sql = _statement(statements[build], head)
        assert sql is not None, build
        scoped[build] = '"int_orders__unified__delta"' in sql
    assert scoped == {"d1": False, "d2": True, "d2_after_part": False, "d2_split": False,
                      "tampered_test": False, "tampered_build": False}
    # orders.one_id in the OneID map: the orders rewritten and those of a one_id that an
    # identifier left or that was deleted since, when the registry was brought forward from the
    # one the test passed on (not on the rerun of D2)
    scope = ('"."intermediate"."int_orders__unified__delta")'
             ' or one_id in (select previous_one_id from "')
    relationships = {build: scope in statements[build] for build in scoped}
    assert relationships == {"d1": False, "d2": True, "d2_after_part": False, "d2_split": False,
                             "tampered_test": False, "tampered_build": False}
    # and then it reads the map's rows of those orders' one_ids only
    parent = {build: "where one_id in (select from_field from child)" in statements[build] for build in scoped}
    assert parent == relationships
    for build in ("tampered_test", "tampered_build"):
        failed = [line for line in outputs[build].splitlines() if "FAIL 1 unique_orders_order_key" in line]
        assert failed, (build, outputs[build][-3000:])


def _statements(log: str, head: str) -> list[str]:
    """Every statement in a dbt debug log that starts with ``head``."""
    found, at = [], log.find(head)
    while at >= 0:
        end = re.search(r"\n\d\d:\d\d:\d\d\.\d+ \[", log[at:])
        found.append(log[at:at + end.start()] if end else log[at:])
        at = log.find(head, at + 1)
    return found


def test_staged_keys_unique_tests_read_the_rows_the_base_tables_changed(built):
    """stg_pos__lines.line_uid's unique test reads only the line_uids in the base table's delta
    and the lines whose business date came within D (FUT1 on D2), when that delta starts from
    the build of the base table the test last passed on; every row otherwise (the first build;
    after builds without the test in between)."""
    _, _, _, _, statements = built
    scoped = {}
    for build in ("d1", "d2", "d2_after_part", "d2_split", "tampered_build", "late_member"):
        (sql,) = [sql for sql in _statements(statements[build], "select\n    line_uid as unique_field")
                  if '"staging"."stg_pos__lines"' in sql]
        scoped[build] = '"staging"."base_pos__lines__delta"' in sql
        assert scoped[build] == ("business_date > cast('" in sql), build
    assert scoped == {"d1": False, "d2": True, "d2_after_part": False, "d2_split": False,
                      "tampered_build": True, "late_member": True}


def test_identity_unique_tests_read_the_rows_rewritten_since_they_passed(built):
    """The unique tests of the centres and of the components read only the rows a build brought
    forward rewrote, once they passed on the table it was brought forward from (D2 after D1, and
    the rerun of D2 after d2_split, whose deltas are empty); every row otherwise. The centres'
    rows rewritten are more than their delta (the records whose centre changed): every changed
    record and every record of an identifier excluded or admitted again."""
    _, _, _, _, statements = built
    builds = ("d1", "d2", "d2_after_part", "d2_split", "tampered_build")
    centres, components = {}, {}
    for build in builds:
        (sql,) = _statements(statements[build], "select\n    record_id as unique_field")
        assert '"int_identity__record_centers"' in sql, build
        centres[build] = '"int_identity__occurrences__delta"' in sql
        if centres[build]:  # the scope the centres' pre-hook recomputed, not the centres' delta
            assert '"int_identity__excluded_nodes__delta"' in sql and "__record_centers__delta" not in sql
        tested = [sql for sql in _statements(statements[build], "select\n    node_id as unique_field")
                  if '"int_identity__components' in sql]
        assert len(tested) == 1, build
        components[build] = '"int_identity__components__delta"' in tested[0]
    expected = {"d1": False, "d2": True, "d2_after_part": False, "d2_split": False, "tampered_build": True}
    assert centres == expected
    assert components == expected


def _reads_work_tables(sql: str) -> bool:
    """Whether a chain model's SQL reads this build's delta or work tables (brought forward)."""
    return any(part in sql for part in ("__delta", "__recomputed", "__scope"))


def test_identity_graph_brought_forward_equals_a_build_from_scratch(built):
    """D2's OneID graph tables were brought forward from D1's by what changed (new and changed
    records, an identifier that became junk, re-deliveries, a late sale) and equal D2's rebuilt
    whole, row for row; a rerun of D2 finds nothing to change; an earlier day rebuilds them."""
    _, s, _, compiled, _ = built
    for name, sql in CHAIN_SQL.items():
        for build, kept in [("d1", False), ("d2", True), ("d2_again", True), ("d2_whole", False), ("d1_again", False)]:
            assert _reads_work_tables(compiled[build][sql]) == kept, (name, build)
        assert s["d2"]["chain"][name] == s["d2_whole"]["chain"][name], name
        assert s["d2_again"]["chain"][name] == s["d2"]["chain"][name], name
        assert s["d1_again"]["chain"][name] == s["d1"]["chain"][name], name
    # the pairs rebuilt alone (d1_part): their table no longer comes from the same build as the
    # rest of the graph, so the next day's build rebuilds the whole graph
    assert _reads_work_tables(compiled["d1_part"][CHAIN_SQL["int_identity__occurrences"]])
    for name, sql in CHAIN_SQL.items():
        assert not _reads_work_tables(compiled["d2_after_part"][sql]), name
        assert s["d2_after_part"]["chain"][name] == s["d2_whole"]["chain"][name], name
    changed = set(s["d1"]["chain"]["int_identity__edges"]) ^ set(s["d2"]["chain"]["int_identity__edges"])
    assert len(changed) >= 3, changed
    assert set(s["d1"]["chain"]["int_identity__excluded_nodes"]) != set(s["d2"]["chain"]["int_identity__excluded_nodes"])


def test_member_events_compared_by_line_uid_while_their_deliveries_stand(built):
    """The OneID pairs compare the member events by line_uid (only the events that came or went)
    when the member feed's deliveries up to the graph's D0 are those it was built from: D2 after
    D1 and the rerun of D2 do. After a member file was delivered late into D1's folder (the rows
    of D1's member file then have other line_uids, and a line_uid may name another row), they
    compare every event, and the graph equals D2's rebuilt whole."""
    _, s, _, _, statements = built
    pairs_head = '"intermediate"."int_identity__occurrences__delta" as'
    for build, by_line_uid in [("d1", False), ("d2", True), ("d2_again", True), ("d2_whole", False),
                               ("d2_split", True), ("tampered_build", True), ("late_member", False),
                               ("late_member_whole", False)]:
        sql = _statement(statements[build], pairs_head) or ""
        assert ("events_ as (" in sql) == by_line_uid, build
    for name in CHAIN_SQL:
        assert s["late_member"]["chain"][name] == s["late_member_whole"]["chain"][name], name
    late = s["late_member"]["members"]["M_LATE"]
    assert late["one_id"] is not None and late["registration_date"] == date(2024, 5, 1)


def test_member_order_totals_brought_forward_equal_a_build_from_scratch(built):
    """The persons' order totals of D2 recomputed only the persons whose valid orders changed
    since D1 (a late refund, a merge, a split, a deleted person, new orders) and equal D2's
    totals rebuilt whole; a rerun leaves them as they are. The persons to recompute are those of
    the orders' delta when the orders were built in the same build as the totals as of D1."""
    _, s, _, compiled, statements = built
    for build, by_delta in [("d1", None), ("d2", True), ("d2_again", True), ("d2_whole", None),
                            ("d1_again", None), ("d2_after_part", True),
                            # the totals built apart from the orders they read: the orders' delta
                            # still starts from those orders
                            ("d2_split", True)]:
        sql = _statement(statements[build], '"intermediate"."int_member_order_totals__changed" as')
        assert (None if sql is None else "int_orders__unified__delta" in sql) == by_delta, build
    assert "int_member_order_totals__changed" not in compiled["d1"][TOTALS_SQL]
    assert "int_member_order_totals__changed" in compiled["d2"][TOTALS_SQL]
    assert "int_member_order_totals__changed" not in compiled["d2_whole"][TOTALS_SQL]
    assert s["d2"]["kept_totals"] == s["d2_whole"]["kept_totals"]
    assert s["d2_again"]["kept_totals"] == s["d2"]["kept_totals"]
    assert s["d1"]["kept_totals"] == s["d1_again"]["kept_totals"]
    changed = {row[0] for row in set(s["d1"]["kept_totals"]) ^ set(s["d2"]["kept_totals"])}
    assert len(changed) >= 3, changed


def test_an_as_of_date_sees_only_deliveries_up_to_it(built):
    _, s, _, _, _ = built
    d1 = s["d1"]["orders"]
    assert "pos:SH001:GM" not in d1 and "pos:SH001:H6" not in d1
    assert d1["meituan:3801000000000000099"]["order_status"] == "completed"
    assert str(d1["pos:SH002:K1"]["paid_amount_yuan"]) == "30.00" and "pos:SH002:K2" in d1
    assert s["d1"]["deleted"] == set()


def test_redelivery_identical_is_skipped_changed_replaces_latest_version_wins(built):
    _, s, _, _, _ = built
    d2 = s["d2"]["orders"]
    # mt_a.csv (D2) refunds J1; the identical re-delivery of mt_z.csv on D2 changes nothing.
    j1 = d2["meituan:3801000000000000099"]
    assert j1["order_status"] == "refunded" and j1["is_valid"] is False
    # pos_k.csv re-delivered with other content: its rows are replaced (K2 is gone).
    assert str(d2["pos:SH002:K1"]["paid_amount_yuan"]) == "35.00"
    assert "pos:SH002:K2" not in d2
    loads = {(r["file"], str(r["delivery_date"])): r for r in s["d2"]["file_loads"]}
    assert loads[("mt_z.csv", D2)]["is_identical_redelivery"] is True
    assert loads[("pos_k.csv", D2)]["is_identical_redelivery"] is False


def test_merge_across_runs_keeps_the_older_one_id_and_records_it(built):
    ids, s, _, _, _ = built
    g1 = _one_id(s["d1"], ids, "member_card_no", "VIP_G1")
    g2 = _one_id(s["d1"], ids, "openid", "OG2")
    assert g1 and g2 and g1 != g2
    d2 = s["d2"]
    for identifier_type, value in [("member_card_no", "VIP_G1"), ("openid", "OG2"), ("member_id", "M_G2")]:
        assert _one_id(d2, ids, identifier_type, value) == g1
    assert _one_id(d2, ids, "phone", "13644445555") == g1
    assert (g2, g1, "merge", D2) in d2["changes"]
    assert d2["orders"]["miniprogram:MPG2"]["one_id"] == g1


def test_split_when_a_value_becomes_junk_largest_part_keeps_the_id(built):
    ids, s, _, _, _ = built
    h = _one_id(s["d1"], ids, "phone", "13755556666")
    assert h and {_one_id(s["d1"], ids, "openid", f"OH{i}") for i in range(1, 6)} == {h}
    d2 = s["d2"]
    assert d2["excluded"][("phone", ids.phone("13755556666")["phone_hash"])]["reason"] == "too_many_linked_values"
    assert _one_id(d2, ids, "phone", "13755556666") is None
    assert _one_id(d2, ids, "openid", "OH1") == h
    assert _one_id(d2, ids, "member_card_no", "VIP_H1") == h
    parts = [_one_id(d2, ids, "openid", f"OH{i}") for i in range(2, 7)]
    assert len(set(parts)) == 5 and h not in parts
    splits = [c for c in d2["changes"] if c[0] == h]
    assert sorted(c[1] for c in splits) == sorted(parts[:4])
    assert {c[2] for c in splits} == {"split"} and {c[3] for c in splits} == {D2}


def test_other_persons_keep_their_one_id(built):
    ids, s, _, _, _ = built
    for identifier_type, value in [("member_id", "M_A"), ("member_id", "M_B"), ("member_id", "M_E1"),
                                   ("meituan_user_id", "MT_C1"), ("openid", "OG3")]:
        assert _one_id(s["d1"], ids, identifier_type, value) == _one_id(s["d2"], ids, identifier_type, value)


def test_delete_forgets_the_person(built):
    ids, s, _, _, _ = built
    person = _one_id(s["d1"], ids, "member_id", "M_I")
    assert s["d1"]["members"]["M_I"]["one_id"] == person
    assert s["d1"]["orders"]["miniprogram:MPI1"]["one_id"] == person
    d2 = s["d2"]
    assert d2["deleted"] == {person}
    assert "M_I" not in d2["members"]
    assert d2["orders"]["miniprogram:MPI1"]["one_id"] is None
    assert person not in set(d2["map"].values())
    assert person not in {e["one_id"] for e in d2["graph"]}


def test_registry_compares_only_the_persons_a_day_touched(built):
    """D2's registry compared only the identifiers of the persons the day touched (the
    components' delta), and the current one_ids were looked up again for the identifiers it
    wrote; the rerun of D2 compared every identifier and wrote the same rows (the map and the
    orders of both builds are compared in test_rebuilding_a_date_changes_nothing)."""
    _, s, _, compiled, _ = built
    for build, scoped in [("d1", False), ("d2", True), ("d2_again", False), ("d1_again", False)]:
        assert ("int_identity__components__delta" in compiled[build][REGISTRY_SQL]) == scoped, build
        # the current one_ids look up again only the identifiers with a registry row of this build
        assert ("valid_from > cast(" in compiled[build][CURRENT_SQL]) == scoped, build
    d2_rows = sorted((str(r["valid_from"]), r["identifier_hash"], r["one_id"] or "", r["change"])
                     for r in s["d2"]["registry"])
    again_rows = sorted((str(r["valid_from"]), r["identifier_hash"], r["one_id"] or "", r["change"])
                        for r in s["d2_again"]["registry"])
    assert d2_rows == again_rows
    assert any(row[0] == D2 and row[3] in ("merge", "split") for row in d2_rows)


def test_current_one_ids_of_other_sql_are_rebuilt_whole(built):
    """The current one_ids hold each identifier's hash and type (the map reads them there, not
    in the registry). A table of an earlier memberflow (no such columns, no digest of its SQL in
    its comment; made so before d2_split) is emptied and refilled whole, gaining the columns,
    where it would otherwise have been brought forward: the map equals D2's."""
    _, s, _, compiled, _ = built
    assert "valid_from > cast(" in compiled["d2"][CURRENT_SQL]
    assert "valid_from > cast(" not in compiled["d2_split"][CURRENT_SQL]
    assert s["d2_split"]["map_rows"]
    assert sorted(s["d2_split"]["map_rows"], key=repr) == sorted(s["d2"]["map_rows"], key=repr)
    assert s["d2_split"]["map"] == s["d2"]["map"]


def test_rebuilding_a_date_changes_nothing(built):
    _, s, _, _, _ = built
    for first, again in [("d2", "d2_again"), ("d1", "d1_again")]:
        assert s[first]["map"] == s[again]["map"]
        assert s[first]["orders"] == s[again]["orders"]
        assert s[first]["members"] == s[again]["members"]
        assert s[first]["changes"] == s[again]["changes"]
    assert s["d1_again"]["changes"] == []
    assert {str(r["valid_from"]) for r in s["d1_again"]["registry"]} == {D1}
