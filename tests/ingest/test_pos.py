"""POS register CSV: the sample files, hand-checked, plus one named case per edge case."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from assets.ingest import pos
from assets.ingest.common import UnreadableFileError
from assets.ingest.schemas import PII_TABLES, RAW_TABLES
from tests.ingest.helpers import D0501, D0503, TZ, by_line, h, write

HEADER = (
    "order_no,store_code,order_type,ref_order_no,order_time,member_card_no,member_phone,"
    "pay_method,pay_openid,gross_amount,discount_amount,paid_amount"
)


def parse(path: Path, hasher, day: date = D0503):
    return pos.parse_file(path, day, hasher, TZ)


def test_sample_sales_typed_exactly(landing, hasher):
    parsed = parse(landing / "pos/2024-05-01/SH001_20240501.csv", hasher, D0501)
    assert parsed.rows.schema == RAW_TABLES["pos_lines"]
    assert (parsed.encoding, parsed.rows_read, parsed.rows_loaded, parsed.rows_quarantined) == (
        "utf-8", 6, 6, 0,
    )
    rows = by_line(parsed.rows)
    assert sorted(rows) == [2, 3, 4, 5, 6, 7]  # header is line 1

    first = rows[2]
    assert first["delivery_date"] == D0501
    assert first["file_name"] == "SH001_20240501.csv"
    assert (first["store_code"], first["order_no"], first["order_type"]) == ("SH001", "P0001", "SALE")
    assert first["ref_order_no"] is None
    assert first["order_ts_local"] == datetime(2024, 5, 1, 8, 15, 2)
    assert first["business_date"] == date(2024, 5, 1)
    assert first["member_card_hash"] == h("member_card_no", "VIP00012345")
    assert first["phone_hash"] == h("phone", "13812345678")
    assert (first["phone_masked"], first["phone_status"]) == ("138****5678", "valid")
    assert first["pay_method"] == "wechat"
    assert first["openid_hash"] == h("openid", "oX1a2b3c4d5e6f7g8h9i0jA")
    assert (first["gross_amount_yuan"], first["discount_amount_yuan"], first["paid_amount_yuan"]) == (
        Decimal("32.00"), Decimal("4.00"), Decimal("28.00"),
    )

    # 2024/05/01 12:30 is a valid register time; 120.50 - 20.50 kept exactly.
    p4 = rows[5]
    assert p4["order_ts_local"] == datetime(2024, 5, 1, 12, 30)
    assert p4["pay_method"] == "card"
    assert p4["paid_amount_yuan"] == Decimal("100.00") and p4["gross_amount_yuan"] == Decimal("120.50")

    # No phone at all.
    assert (rows[6]["phone_hash"], rows[6]["phone_masked"], rows[6]["phone_status"]) == (None, None, "empty")
    # 23:59:59 stays on its day.
    assert rows[7]["business_date"] == date(2024, 5, 1)


def test_phone_spellings_normalize_to_one_hash(landing, hasher):
    rows = by_line(parse(landing / "pos/2024-05-01/SH001_20240501.csv", hasher, D0501).rows)
    # 13812345678 and "138 1234 5678" are one person.
    assert rows[2]["phone_hash"] == rows[3]["phone_hash"] == h("phone", "13812345678")
    # "+86 139-0000-1111" and "86-13912345678": country code and separators dropped.
    assert rows[5]["phone_hash"] == h("phone", "13900001111")
    assert rows[7]["phone_hash"] == h("phone", "13912345678")
    # A placeholder phone is still a valid phone here; the blocklist applies downstream.
    assert rows[4]["phone_status"] == "valid"


def test_pii_lists_each_raw_identifier_once(landing, hasher):
    parsed = parse(landing / "pos/2024-05-01/SH001_20240501.csv", hasher, D0501)
    assert parsed.pii.schema == PII_TABLES["identifiers"]
    pii = {(r["identifier_type"], r["value"]): r["identifier_hash"] for r in parsed.pii.to_pylist()}
    assert pii == {
        ("member_card_no", "VIP00012345"): h("member_card_no", "VIP00012345"),
        ("member_card_no", "VIP00077777"): h("member_card_no", "VIP00077777"),
        ("openid", "oX1a2b3c4d5e6f7g8h9i0jA"): h("openid", "oX1a2b3c4d5e6f7g8h9i0jA"),
        ("openid", "oY9z8y7x6w5v4u3t2s1r0qB"): h("openid", "oY9z8y7x6w5v4u3t2s1r0qB"),
        ("phone", "13800000000"): h("phone", "13800000000"),
        ("phone", "13812345678"): h("phone", "13812345678"),
        ("phone", "13900001111"): h("phone", "13900001111"),
        ("phone", "13912345678"): h("phone", "13912345678"),
    }
    assert {r["source"] for r in parsed.pii.to_pylist()} == {"pos"}


def test_gb18030_sample_with_refunds_and_bad_amount(landing, hasher):
    parsed = parse(landing / "pos/2024-05-03/SH001_20240503.csv", hasher)
    assert parsed.encoding == "gb18030"
    assert (parsed.rows_read, parsed.rows_loaded, parsed.rows_quarantined) == (4, 3, 1)
    rows = by_line(parsed.rows)
    assert rows[2]["order_type"] == "REFUND" and rows[2]["ref_order_no"] == "P0004"
    assert rows[2]["pay_method"] == "card"  # 会员卡
    assert rows[2]["paid_amount_yuan"] == Decimal("-30.00")
    assert rows[3]["pay_method"] == "cash" and rows[3]["ref_order_no"] == "P0999"  # 现金; sale unknown: kept
    assert rows[5]["pay_method"] == "wechat"  # 微信
    assert rows[5]["openid_hash"] == h("openid", "oX1a2b3c4d5e6f7g8h9i0jA")

    [bad] = parsed.quarantine.to_pylist()
    assert bad["line_no"] == 4
    assert bad["file_name"] == "SH001_20240503.csv"
    assert bad["source"] == "pos" and bad["delivery_date"] == D0503
    assert bad["reason"] == "paid_amount 'ten' is not an amount"
    assert bad["raw"] == "P0101,SH001,SALE,,2024-05-03 12:00:00,,abc,现金,,10.00,0.00,ten"
    assert parsed.quarantine_reasons == {"paid_amount 'ten' is not an amount": 1}


def test_gb18030_file_parses_to_the_same_rows_as_utf8(tmp_path, landing, hasher):
    text = (landing / "pos/2024-05-01/SH001_20240501.csv").read_text(encoding="utf-8")
    for english, chinese in [(",wechat,", ",微信,"), (",alipay,", ",支付宝,"), (",cash,", ",现金,"), (",card,", ",会员卡,")]:
        text = text.replace(english, chinese)
    utf8 = parse(write(tmp_path / "utf8/pos/2024-05-01/X.csv", text), hasher, D0501)
    gb = parse(write(tmp_path / "gb/pos/2024-05-01/X.csv", text, "gb18030"), hasher, D0501)
    bom = parse(write(tmp_path / "bom/pos/2024-05-01/X.csv", "\ufeff" + text, "utf-8"), hasher, D0501)
    original = parse(landing / "pos/2024-05-01/SH001_20240501.csv", hasher, D0501)
    assert (utf8.encoding, gb.encoding, bom.encoding) == ("utf-8", "gb18030", "utf-8-sig")
    assert gb.rows.equals(utf8.rows) and bom.rows.equals(utf8.rows)
    assert [r["pay_method"] for r in gb.rows.to_pylist()] == ["wechat", "alipay", "cash", "card", "cash", "wechat"]
    # Same typed rows as the English original (only the file name differs).
    assert gb.rows.drop_columns(["file_name"]).equals(original.rows.drop_columns(["file_name"]))


EDGE_CASES = "\n".join(
    [
        HEADER,                                                                          # 1
        "P1,SH001,SALE,,2024-05-01 10:00:00,,13812345678,cash,,1.00,0.00,1.00",            # 2 good
        "",                                                                              # 3 blank
        "P2,SH001,SALE,,2024-13-01 10:00:00,,,cash,,1.00,0.00,1.00",                      # 4
        "P3,SH001,SALE,,2024-02-30 10:00:00,,,cash,,1.00,0.00,1.00",                      # 5
        "P4,SH001,X,,2024-05-01 10:00:00,,,cash,,1.00,0.00,1.00",                         # 6
        ",SH001,SALE,,2024-05-01 10:00:00,,,cash,,1.00,0.00,1.00",                        # 7
        "P6,SH001,SALE,,2024-05-01 10:00:00,,,cash,,10.00,0.00",                          # 8
        "P7,SH001,REFUND,P1,2024-05-01 10:00:00,,,cash,,5.00,0.00,5.00",                  # 9
        "P8,SH001,SALE,,2024-05-01 10:00:00,,,cash,,-5.00,0.00,-5.00",                    # 10
        "P9,SH001,SALE,,2024-05-01 10:00:00,,,cash,,10.005,0.00,10.005",                  # 11
        'P10,SH001,SALE,"a,b",2024-05-01 10:00:00,,,cash,,2.00,,2.00',                    # 12 good
        'P11,SH001,SALE,"two',                                                           # 13 good, spans
        'lines",2024-05-01 10:00:00,,,alipay,,3.00,0.00,3.00',                            # 14
        "P12,SH001,SALE,,2024-05-01 10:00:00,,,bitcoin,,1.00,0.00,1.00",                  # 15
        "P13,SH001,SALE,,,,,cash,,1.00,0.00,1.00",                                       # 16
        'P14,SH001,SALE,"oops,2024-05-01 10:00:00,,,cash,,1.00,0.00,1.00',                # 17 stray quote
        "P15,SH001,sale,,2024-05-01 10:00,VIP1,,储值,,4.00,0.00,4.00",                    # 18 good
        "  ",                                                                            # 19 blank
        "P16,SH001,SALE,,1999-12-31 23:00:00,,,cash,,1.00,0.00,1.00",                     # 20
        "P17,SH001,SALE,,2024-05-01 10:00:00,VIP00012345,13812345678,cash,,1.00,0.00,ten",  # 21
    ]
) + "\n"

EXPECTED_REASONS = {
    4: "order_time '2024-13-01 10:00:00' is not a valid time",
    5: "order_time '2024-02-30 10:00:00' is not a valid time",
    6: "unknown order_type 'X' (expected SALE or REFUND)",
    7: "missing order_no",
    8: "expected 12 fields, found 11",
    9: "REFUND with a positive paid_amount",
    10: "SALE with a negative paid_amount",
    11: "gross_amount '10.005' has more than two decimals; paid_amount '10.005' has more than two decimals",
    15: "unknown pay_method 'bitcoin' (expected wechat, alipay, cash, unionpay, card, stored_value or the same in Chinese)",
    16: "missing order_time",
    17: "expected 12 fields, found 4",
    20: "order_time '1999-12-31 23:00:00' is outside the years 2000-2099",
    21: "paid_amount 'ten' is not an amount",
}


@pytest.mark.parametrize("newline", ["\n", "\r\n"])
def test_edge_cases_quarantined_with_plain_reasons(tmp_path, hasher, newline):
    path = write(tmp_path / "pos/2024-05-01/EDGE.csv", EDGE_CASES.replace("\n", newline))
    parsed = parse(path, hasher, D0501)
    reasons = {q["line_no"]: q["reason"] for q in parsed.quarantine.to_pylist()}
    assert reasons == EXPECTED_REASONS
    rows = by_line(parsed.rows)
    assert sorted(rows) == [2, 12, 13, 18]
    assert parsed.rows_read == 17  # every non-blank record; the two-line record counts once
    assert parsed.rows_read == parsed.rows_loaded + parsed.rows_quarantined
    assert rows[12]["ref_order_no"] == "a,b" and rows[12]["discount_amount_yuan"] == Decimal("0.00")
    assert rows[13]["ref_order_no"] == "two\nlines" and rows[13]["pay_method"] == "alipay"
    assert rows[18]["order_type"] == "SALE" and rows[18]["pay_method"] == "stored_value"
    assert rows[18]["order_ts_local"] == datetime(2024, 5, 1, 10, 0)


def test_quarantined_raw_text_masks_personal_values(tmp_path, hasher):
    parsed = parse(write(tmp_path / "pos/2024-05-01/EDGE.csv", EDGE_CASES), hasher, D0501)
    raw = {q["line_no"]: q["raw"] for q in parsed.quarantine.to_pylist()}
    assert raw[21] == "P17,SH001,SALE,,2024-05-01 10:00:00,VIP****2345,138****5678,cash,,1.00,0.00,ten"
    assert raw[8] == "P6,SH001,SALE,,2024-05-01 10:00:00,,,cash,,10.00,0.00"


def test_wholly_unreadable_file_names_itself(tmp_path, hasher):
    junk = bytes([0xFF, 0x80, 0xFE, 0xFF]) * 64
    with pytest.raises(UnicodeDecodeError):
        junk.decode("gb18030")
    path = write(tmp_path / "pos/2024-05-03/BROKEN.csv", junk)
    with pytest.raises(UnreadableFileError, match=r"pos/2024-05-03/BROKEN\.csv: not UTF-8 or GB18030"):
        parse(path, hasher)


def test_header_without_required_column_is_unreadable(tmp_path, hasher):
    path = write(tmp_path / "pos/2024-05-03/NOPAY.csv", "order_no,store_code\nP1,SH001\n")
    with pytest.raises(UnreadableFileError, match=r"NOPAY\.csv: the header lacks column\(s\) order_type"):
        parse(path, hasher)


def test_header_in_any_order_and_empty_files(tmp_path, hasher):
    columns = HEADER.split(",")
    values = "P1,SH001,SALE,,2024-05-01 10:00:00,,,cash,,1.00,0.00,1.00".split(",")
    order = list(reversed(range(len(columns))))
    text = ",".join(columns[i].upper() for i in order) + "\n" + ",".join(values[i] for i in order) + "\n"
    [row] = parse(write(tmp_path / "pos/2024-05-01/R.csv", text), hasher, D0501).rows.to_pylist()
    assert (row["order_no"], row["paid_amount_yuan"]) == ("P1", Decimal("1.00"))

    for name, content in [("EMPTY.csv", ""), ("HEADER.csv", HEADER + "\n"), ("BLANK.csv", "\n\n")]:
        parsed = parse(write(tmp_path / "pos/2024-05-01" / name, content), hasher, D0501)
        assert (parsed.rows_read, parsed.rows.num_rows) == (0, 0)
        assert parsed.rows.schema == RAW_TABLES["pos_lines"]


def test_fields_are_trimmed_and_empty_means_missing(tmp_path, hasher):
    text = HEADER + "\n P1 ,\u3000SH001\u3000, SALE ,  , 2024-05-01 10:00:00 , , 138 1234 5678 , 现金 ,, 1.00 ,, 1.00 \n"
    [row] = parse(write(tmp_path / "pos/2024-05-01/T.csv", text), hasher, D0501).rows.to_pylist()
    assert (row["order_no"], row["store_code"], row["order_type"], row["ref_order_no"]) == ("P1", "SH001", "SALE", None)
    assert row["order_ts_local"] == datetime(2024, 5, 1, 10, 0)
    assert (row["member_card_hash"], row["phone_hash"], row["pay_method"]) == (None, h("phone", "13812345678"), "cash")
    assert row["discount_amount_yuan"] == Decimal("0.00")
