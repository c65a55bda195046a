"""The vectorized building blocks against plain-Python references, on many generated values."""

from __future__ import annotations

import random
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from zoneinfo import ZoneInfo

import orjson
import pyarrow as pa

from assets.ingest.common import INT, NUM, PreReasons, Typer, _normalize_phones, _number_texts, redact
from assets.ingest.hashing import normalize_phone

RNG = random.Random(20240501)


def _local_reference(text: str) -> datetime | None:
    for fmt in ("%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M", "%Y/%m/%d %H:%M:%S", "%Y/%m/%d %H:%M"):
        try:
            return datetime.strptime(text, fmt)
        except ValueError:
            pass
    return None


def _random_local() -> str:
    y, mo, d = RNG.choice([2023, 2024, 2025]), RNG.randint(0, 13), RNG.randint(0, 32)
    h, mi, s = RNG.randint(0, 25), RNG.randint(0, 61), RNG.randint(0, 61)
    sep = RNG.choice("-/")
    if RNG.random() < 0.5:
        return f"{y}{sep}{mo:02d}{sep}{d:02d} {h:02d}:{mi:02d}:{s:02d}"
    return f"{y}{sep}{mo}{sep}{d} {h}:{mi:02d}"


def test_local_times_agree_with_python_strptime():
    values = [_random_local() for _ in range(3000)] + ["2024-02-29 12:00:00", "2023-02-29 12:00:00"]
    typer = Typer(pa.table({"line_no": list(range(len(values))), "t": values}))
    parsed = typer.local_time("t", "t").to_pylist()
    for text, got in zip(values, parsed):
        assert got == _local_reference(text), text


def test_zoned_times_agree_with_python():
    shanghai = ZoneInfo("Asia/Shanghai")
    values, expected = [], []
    for _ in range(2000):
        instant = datetime(2024, 1, 1, tzinfo=timezone.utc) + timedelta(seconds=RNG.randint(0, 366 * 86400))
        offset = timedelta(minutes=RNG.choice([0, 480, 540, -300, 330]))
        local = instant.astimezone(timezone(offset))
        text = local.strftime("%Y-%m-%dT%H:%M:%S") + ("Z" if not offset else local.strftime("%z")[:3] + ":" + local.strftime("%z")[3:])
        values.append(text)
        expected.append(instant.astimezone(shanghai).replace(tzinfo=None))
    typer = Typer(pa.table({"line_no": list(range(len(values))), "t": values}))
    assert typer.zoned_time("t", "t", "Asia/Shanghai").to_pylist() == expected


def test_json_numbers_are_read_as_written():
    texts = [f"{RNG.randint(0, 10**RNG.randint(1, 9))}.{RNG.randint(0, 99):02d}" for _ in range(3000)]
    texts += ["0.1", "0.2", "0.3", "43.5", "36.20", "19.99", "0.07", "1234567.89", "100", "0"]
    values = orjson.loads(("[" + ",".join(texts) + "]").encode())
    shown = _number_texts(values, NUM).to_pylist()
    assert [Decimal(s) for s in shown] == [Decimal(t) for t in texts]
    # More than two decimals, or drift from float arithmetic, is shown as such (and rejected).
    odd = [0.1 + 0.2, 21.755, 1e-7]
    assert _number_texts(odd, NUM).to_pylist() == ["0.30000000000000004", "21.755", "1e-07"]
    assert _number_texts([4200.0, 42.5, 7], INT).to_pylist() == ["4200", "42.5", "7"]


def test_phone_normalization_matches_normalize_phone():
    spellings = ["13812345678", "138 1234 5678", "+86 138-1234-5678", "86-13812345678", "008613812345678",
                 "(+86)13812345678", "23812345678", "1381234567", "abc", "138****5678", "17012345678_1234",
                 "8613812345678", "86 86 13812345678", "13812345678\u3000", "+", "12", "0086123"]
    spellings += ["".join(RNG.choice("0123456789 -+()86") for _ in range(RNG.randint(1, 18))) for _ in range(2000)]
    phones, statuses = _normalize_phones(pa.array(spellings))
    for raw, phone, status in zip(spellings, phones, statuses):
        expected_phone, expected_status = normalize_phone(raw)
        assert (phone, status) == (expected_phone if expected_status == "valid" else None, expected_status), raw


def test_redaction_of_unsplittable_lines():
    line = '{"openid":"oX1a2b3c4d5e6f7g8h9i0jA","created_at":"2024-05-01T04:03:11Z","phone":"+86 138 1234 5678","userId":900012345,"orderId":"3801234567890123456"'
    assert redact(line, None) == (
        '{"openid":"oX1****i0jA","created_at":"2024-05-01T04:03:11Z","phone":"138****5678",'
        '"userId":****,"orderId":"3801234567890123456"'
    )


def test_pre_reasons_come_first():
    pre = PreReasons(2)
    pre.add(1, "orderId is not text")
    typer = Typer(pa.table({"line_no": [1, 2], "a": ["1.00", "x"]}), pre)
    typer.amount("a", "totalPrice", required=True)
    good, rejected = typer.split({"a": typer.cols["a"]})
    assert good.num_rows == 1
    assert rejected == [(2, "orderId is not text; totalPrice 'x' is not an amount")]
