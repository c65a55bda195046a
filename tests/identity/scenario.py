"""A small named landing history for the OneID, orders and members models (SPEC §1, §3, §4, §6).

Two delivery days. Every person below is a case of issue 3 or SPEC §11; they do not share
identifiers unless the case says so, so all cases live in one warehouse and one dbt build per
as-of date serves them all.

Delivered 2024-05-01 (D1):
- A   "three channels, one person": POS orders carry the phone typed in three spellings (one hash
      after normalization), a card, and the WeChat Pay openid; the mini-program member registers
      with that openid and phone, then unsubscribes; a Meituan order carries the phone as 会员手机号.
- B   a Meituan user linked only through 会员手机号 (and an Ele.me user through memberPhone) to a
      mini-program member; the member later updates consents.
- C   two Meituan users whose receiver phone is the same masked number: never linked.
- PX  a placeholder phone typed for seven guests with seven openids: junk, guests stay apart.
- BL  the blocklisted phone 13800000000 on two guests with two cards: excluded, apart.
- BUSY a card on 11 orders in one day: junk (more than 10 a day); its orders are anonymous.
- F   a cash sale with no identifier: anonymous.
- E   two family members registering with one phone: one person, primary = registered first.
- G1, G2 two persons on D1 (G1 first seen earlier), merged by a D2 order.
- H   a phone with five openids (at the limit, one person; openid OH1 also has a card).
- I   a member with a mini-program order, deleted on D2.
- S   a POS sale with a partial refund; R9 a refund whose sale is unknown.
- L   a POS sale L1 (its refund comes on D2); a refund LR2 of sale L2, which is not delivered yet.
- M   a POS sale M1; file pos_m.csv: its refund MR1 of 5.00.
- K   file pos_k.csv: orders K1 and K2; the day's file: KR2, a refund of 4.00 of K2.
- J   file mt_z.csv: Meituan order J1 completed.
- BC  a card on orders with five phones (at the limit) and one with the blocklisted phone (which
      does not count).
- Q   a card on 11 orders in one day (junk): Q01..Q10 in the day's file (Q01 and Q02 with an
      openid each), Q11 in file pos_q.csv.
- N   a Meituan order from an unknown shop.
- P   mini-program orders with redeemed points (paid + partially refunded; cancelled).
- FUT a POS sale rung up on D2's morning (business date D2) in D1's file: an order from D2 on.

Delivered 2024-05-02 (D2):
- G   a POS order paying G1's card with G2's openid: merge (older G1 id survives).
- H   a sixth openid with H's phone: the phone becomes junk; H splits, the part with the most
      identifiers (OH1 + card) keeps the id, OH2..OH5 get new ids.
- I   delete event (PIPL).
- K   pos_k.csv re-delivered with changed content (K1 paid 35, K2 gone: KR2 is a refund-only
      order now).
- J   mt_a.csv carries J1 refunded; mt_z.csv re-delivered identical (skipped: J1 stays refunded).
- L   L1's refund LR1 arrives (a D1 order becomes partially refunded); sale L2 arrives (dated D1):
      LR2 is no longer an order of its own but L2's refund.
- M   pos_m.csv re-delivered: MR1 is now 8.00 (the sale's line stays as it was).
- BC  a new order of the card with its first phone: still five phones (the blocklisted one, in
      an order that did not change, still does not count).
- Q   pos_q.csv re-delivered: Q11 now carries another card, so VIP_Q is on 10 orders that day and
      is an identifier again (it was only in the order that changed): OQ1 and OQ2 are one
      person.
"""

from __future__ import annotations

from pathlib import Path

from assets.ingest.hashing import hash_identifier, mask_phone, normalize_phone
from tests.support.raw_builder import write_file_load, write_raw

D1 = "2024-05-01"
D2 = "2024-05-02"


class Ids:
    """Hashes of the scenario's identifiers (HMAC with the settings' key)."""

    def __init__(self, key: str) -> None:
        self.key = key

    def __call__(self, identifier_type: str, value: str) -> str:
        return hash_identifier(self.key, identifier_type, value)

    def phone(self, raw: str) -> dict:
        """The phone columns ingestion writes for a typed phone."""
        value, status = normalize_phone(raw)
        return {
            "phone_hash": self("phone", value) if value else None,
            "phone_masked": mask_phone(value) if value else (raw if status == "masked" else None),
            "phone_status": status,
        }


def _pos(order_no, ts, paid, store="SH001", order_type="SALE", ref=None, card=None, phone=None,
         openid=None, ids: Ids | None = None, discount="0.00"):
    row = {
        "store_code": store,
        "order_no": order_no,
        "order_type": order_type,
        "ref_order_no": ref,
        "order_ts_local": ts,
        "pay_method": "wechat" if openid else "cash",
        "gross_amount_yuan": str(float(paid) + float(discount)),
        "discount_amount_yuan": discount,
        "paid_amount_yuan": paid,
    }
    if card:
        row["member_card_hash"] = ids("member_card_no", card)
    if openid:
        row["openid_hash"] = ids("openid", openid)
    if phone:
        row.update(ids.phone(phone))
    return row


def _meituan(order_id, ts, user, paid, ids: Ids, member_phone=None, masked=None, shop="MT100234",
             status="completed", refund="0.00", original=None):
    row = {
        "order_id": order_id,
        "shop_id": shop,
        "order_ts_local": ts,
        "meituan_user_hash": ids("meituan_user_id", user),
        "original_amount_yuan": original or paid,
        "paid_amount_yuan": paid,
        "status": status,
        "refund_amount_yuan": refund,
    }
    if member_phone:
        row.update(ids.phone(member_phone))
    elif masked:
        row.update({"phone_hash": None, "phone_masked": masked, "phone_status": "masked"})
    return row


def _mini(order_id, ts, openid, paid_fen, ids: Ids, member=None, phone=None, unionid=None,
          status="paid", refund_fen=0, points=0, total_fen=None):
    row = {
        "order_id": order_id,
        "order_ts_local": ts,
        "openid_hash": ids("openid", openid),
        "store_code": "SH001",
        "fulfillment": "pickup",
        "total_fen": total_fen or paid_fen,
        "discount_fen": (total_fen or paid_fen) - paid_fen,
        "paid_fen": paid_fen,
        "refund_fen": refund_fen,
        "points_redeemed": points,
        "status": status,
    }
    if member:
        row.update({"member_id": member, "member_id_hash": ids("member_id", member)})
    if unionid:
        row["unionid_hash"] = ids("unionid", unionid)
    if phone:
        row.update(ids.phone(phone))
    return row


def _event(event, ts, member, ids: Ids, openid=None, phone=None, unionid=None, card=None,
           sms=False, wecom=False, store="SH001", source="natural", gender="U"):
    row = {
        "event": event,
        "event_ts_local": ts,
        "member_id": member,
        "member_id_hash": ids("member_id", member),
        "gender": gender,
        "register_store": store,
        "register_source": source,
        "consent_sms": sms,
        "consent_wecom": wecom,
    }
    if openid:
        row["openid_hash"] = ids("openid", openid)
    if unionid:
        row["unionid_hash"] = ids("unionid", unionid)
    if card:
        row["member_card_hash"] = ids("member_card_no", card)
    if phone:
        row.update(ids.phone(phone))
    return row


PHONE_A = ["138 1111 0001", "+86 138-1111-0001", "86-13811110001"]
PHONE_B = "15900001111"
PHONE_PX = "13922223333"
PHONE_E = "13533334444"
PHONE_G1 = "13644445555"
PHONE_H = "13755556666"


def write_landing(raw: Path, ids: Ids) -> None:
    """Write both delivery days' raw Parquet (D1 and D2) under ``raw``."""
    t = "2024-05-01 "
    pos_d1 = [
        _pos("A1", t + "09:00:00", "30.00", card="VIP_A", phone=PHONE_A[0], openid="OA", ids=ids),
        _pos("A2", t + "10:00:00", "18.00", phone=PHONE_A[1], ids=ids),
        _pos("A3", t + "11:00:00", "25.00", store="SH002", card="VIP_A2", phone=PHONE_A[2], ids=ids),
        _pos("F1", t + "12:00:00", "12.00", ids=ids),
        *[_pos(f"PX{i}", t + f"13:0{i}:00", "20.00", phone=PHONE_PX, openid=f"OG{i}", ids=ids)
          for i in range(1, 8)],
        _pos("BL1", t + "14:00:00", "15.00", phone="13800000000", card="VIP_BL1", ids=ids),
        _pos("BL2", t + "14:10:00", "16.00", phone="13800000000", card="VIP_BL2", ids=ids),
        *[_pos(f"BUSY{i:02d}", t + f"15:{i:02d}:00", "9.00", card="VIP_BUSY", ids=ids)
          for i in range(1, 12)],
        _pos("G1", "2024-04-30 15:00:00", "40.00", card="VIP_G1", phone=PHONE_G1, ids=ids),
        *[_pos(f"H{i}", t + f"16:0{i}:00", "22.00", phone=PHONE_H, openid=f"OH{i}", ids=ids)
          for i in range(1, 6)],
        _pos("H1b", t + "16:30:00", "23.00", card="VIP_H1", openid="OH1", ids=ids),
        _pos("S1", t + "17:00:00", "50.00", card="VIP_S", ids=ids, discount="5.00"),
        _pos("R1", t + "18:00:00", "-20.00", order_type="REFUND", ref="S1", ids=ids),
        _pos("R9", t + "18:30:00", "-10.00", order_type="REFUND", ref="NOPE", ids=ids),
        _pos("L1", t + "20:00:00", "40.00", card="VIP_L", ids=ids),
        _pos("FUT1", "2024-05-02 08:00:00", "14.00", card="VIP_FUT", ids=ids),
        _pos("LR2", t + "20:40:00", "-5.00", order_type="REFUND", ref="L2", ids=ids),
        _pos("M1", t + "21:00:00", "60.00", card="VIP_M", ids=ids),
        _pos("KR2", t + "19:20:00", "-4.00", store="SH002", order_type="REFUND", ref="K2", ids=ids),
    ]
    m_v1 = [_pos("MR1", t + "21:30:00", "-5.00", order_type="REFUND", ref="M1", ids=ids)]
    write_raw(raw, "pos_lines", m_v1, D1, "pos_m.csv")
    write_file_load(raw, "pos", D1, "pos_m.csv", "sha-m-1", rows_read=1)

    pos_d1 += [_pos(f"BC{i}", t + f"06:0{i}:00", "7.00", card="VIP_BC", phone=f"1352222000{i}", ids=ids)
               for i in range(1, 6)]
    pos_d1 += [_pos("BC6", t + "06:06:00", "7.00", card="VIP_BC", phone="13800000000", ids=ids)]
    pos_d1 += [_pos(f"Q{i:02d}", t + f"07:{i:02d}:00", "8.00", card="VIP_Q", ids=ids,
                    **({"openid": f"OQ{i}"} if i <= 2 else {}))
               for i in range(1, 11)]
    write_raw(raw, "pos_lines", pos_d1, D1, "pos_20240501.csv")
    q_v1 = [_pos("Q11", t + "07:11:00", "8.00", card="VIP_Q", ids=ids)]
    write_raw(raw, "pos_lines", q_v1, D1, "pos_q.csv")
    write_file_load(raw, "pos", D1, "pos_q.csv", "sha-q-1", rows_read=1)

    k_v1 = [_pos("K1", t + "19:00:00", "30.00", store="SH002", ids=ids),
            _pos("K2", t + "19:10:00", "20.00", store="SH002", ids=ids)]
    write_raw(raw, "pos_lines", k_v1, D1, "pos_k.csv")
    write_file_load(raw, "pos", D1, "pos_k.csv", "sha-k-1", rows_read=2)

    meituan_d1 = [
        _meituan("3801000000000000001", t + "11:30:00", "MT_A", "39.00", ids, member_phone="13811110001",
                 original="48.00"),
        _meituan("3801000000000000002", t + "12:00:00", "MT_B", "30.00", ids, member_phone=PHONE_B),
        _meituan("3801000000000000003", t + "12:30:00", "MT_B", "30.00", ids, member_phone=PHONE_B,
                 status="partially_refunded", refund="10.00"),
        _meituan("3801000000000000004", t + "13:00:00", "MT_C1", "25.00", ids, masked="138****5678"),
        _meituan("3801000000000000005", t + "13:30:00", "MT_C2", "26.00", ids, masked="138****5678"),
        _meituan("3801000000000000006", t + "14:00:00", "MT_N", "27.00", ids, shop="MT999999"),
        _meituan("3801000000000000007", t + "14:30:00", "MT_X", "28.00", ids, status="cancelled"),
    ]
    write_raw(raw, "meituan_orders", meituan_d1, D1, "mt_20240501.csv")

    j_v1 = [_meituan("3801000000000000099", t + "20:00:00", "MT_J", "50.00", ids)]
    write_raw(raw, "meituan_orders", j_v1, D1, "mt_z.csv")
    write_file_load(raw, "meituan", D1, "mt_z.csv", "sha-z-1", rows_read=1)

    eleme_d1 = [
        {"order_id": "5012000000000000001", "shop_id": "E-778899", "order_ts_local": t + "12:10:00",
         "eleme_user_hash": ids("eleme_user_id", "EL_B"), **ids.phone(PHONE_B),
         "original_amount_yuan": "58.00", "paid_amount_yuan": "43.50", "status": "settled",
         "refund_amount_yuan": "0.00"},
        {"order_id": "5012000000000000002", "shop_id": "E-778899", "order_ts_local": t + "19:20:00",
         "eleme_user_hash": ids("eleme_user_id", "EL_R"), "original_amount_yuan": "30.00",
         "paid_amount_yuan": "26.00", "status": "refunded", "refund_amount_yuan": "26.00"},
    ]
    write_raw(raw, "eleme_orders", eleme_d1, D1, "eleme_20240501.jsonl")

    mini_d1 = [
        _mini("MPB1", t + "09:30:00", "OB", 2900, ids, member="M_B", phone="+86" + PHONE_B),
        _mini("MPG2", t + "12:00:00", "OG2", 1000, ids, member="M_G2"),
        _mini("MPI1", t + "13:00:00", "OI", 2000, ids, member="M_I"),
        _mini("MPP1", t + "14:00:00", "OP", 4200, ids, total_fen=5000, refund_fen=500, points=50),
        _mini("MPP2", t + "15:00:00", "OP", 3000, ids, status="cancelled", points=30),
    ]
    write_raw(raw, "miniprogram_orders", mini_d1, D1, "orders_20240501.jsonl")

    members_d1 = [
        _event("register", t + "08:00:00", "M_A", ids, openid="OA", unionid="UA",
               phone="+8613811110001", sms=True, wecom=True, gender="F"),
        _event("unsubscribe", t + "20:00:00", "M_A", ids, openid="OA"),
        _event("register", t + "08:30:00", "M_B", ids, openid="OB", phone=PHONE_B, sms=True, wecom=False),
        _event("update", t + "21:00:00", "M_B", ids, openid="OB", phone=PHONE_B, sms=False, wecom=True),
        _event("register", t + "09:00:00", "M_E2", ids, openid="OE2", phone=PHONE_E, sms=False, wecom=True),
        _event("register", t + "08:00:00", "M_E1", ids, openid="OE1", phone=PHONE_E, sms=True, wecom=False,
               source="store_recruit"),
        _event("register", t + "07:00:00", "M_I", ids, openid="OI", sms=True),
        _event("register", t + "07:30:00", "M_R", ids, openid="OR", source="referral"),
    ]
    members_d1[-1]["referrer_member_id"] = "M_A"
    write_raw(raw, "miniprogram_members", members_d1, D1, "members_20240501.jsonl")

    t2 = "2024-05-02 "
    pos_d2 = [
        _pos("GM", t2 + "10:00:00", "33.00", card="VIP_G1", openid="OG2", ids=ids),
        _pos("H6", t2 + "11:00:00", "21.00", phone=PHONE_H, openid="OH6", ids=ids),
        _pos("LR1", t2 + "09:00:00", "-15.00", order_type="REFUND", ref="L1", ids=ids),
        _pos("L2", t + "20:30:00", "30.00", card="VIP_L", ids=ids),
        _pos("BC7", t2 + "06:07:00", "7.00", card="VIP_BC", phone="13522220001", ids=ids),
    ]
    write_raw(raw, "pos_lines", pos_d2, D2, "pos_20240502.csv")

    q_v2 = [_pos("Q11", t + "07:11:00", "8.00", card="VIP_Q2", ids=ids)]
    write_raw(raw, "pos_lines", q_v2, D2, "pos_q.csv")
    write_file_load(raw, "pos", D2, "pos_q.csv", "sha-q-2", rows_read=1)
    k_v2 = [_pos("K1", t + "19:00:00", "35.00", store="SH002", ids=ids)]
    write_raw(raw, "pos_lines", k_v2, D2, "pos_k.csv")
    write_file_load(raw, "pos", D2, "pos_k.csv", "sha-k-2", rows_read=1)
    m_v2 = [_pos("MR1", t + "21:30:00", "-8.00", order_type="REFUND", ref="M1", ids=ids)]
    write_raw(raw, "pos_lines", m_v2, D2, "pos_m.csv")
    write_file_load(raw, "pos", D2, "pos_m.csv", "sha-m-2", rows_read=1)

    j_v2 = [_meituan("3801000000000000099", t + "20:00:00", "MT_J", "50.00", ids,
                     status="refunded", refund="50.00")]
    write_raw(raw, "meituan_orders", j_v2, D2, "mt_a.csv")
    write_file_load(raw, "meituan", D2, "mt_a.csv", "sha-a-1", rows_read=1)
    write_raw(raw, "meituan_orders", j_v1, D2, "mt_z.csv")
    write_file_load(raw, "meituan", D2, "mt_z.csv", "sha-z-1", rows_read=1)

    members_d2 = [_event("delete", t2 + "09:00:00", "M_I", ids)]
    write_raw(raw, "miniprogram_members", members_d2, D2, "members_20240502.jsonl")
