"""Vectorized text building on Arrow string arrays (no per-row Python objects).

Every helper takes numpy arrays or Arrow arrays of equal length and returns an Arrow string
array. Lookups (``take``) turn small integer codes into strings; ``cat`` joins pieces row-wise.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

TWO_DIGITS = pa.array([f"{i:02d}" for i in range(100)])
# JSON-style decimals as a serializer writes a float: 58.0, 43.5, 21.75
JSON_CENTS = pa.array([".0"] + [f".{i // 10}" if i % 10 == 0 else f".{i:02d}" for i in range(1, 100)])
DOT_CENTS = pa.array([f".{i:02d}" for i in range(100)])
SIGN = pa.array(["", "-"])
TABLE_MAX = 100_000  # integers 0..100000 and amounts within ±1000 yuan render by a table lookup


@lru_cache(maxsize=None)
def _table(kind: str, width: int = 0) -> pa.Array:
    """Pre-rendered strings, built once per process (vectorized): a lookup is far cheaper than formatting."""
    if kind == "int":
        s = pc.cast(pa.array(np.arange(TABLE_MAX + 1)), pa.string())
        return flat(pc.utf8_lpad(s, width=width, padding="0") if width else s)
    if kind in ("clock", "clock_hm"):
        s = np.arange(86_400) if kind == "clock" else np.arange(1_440) * 60
        hh, mm = lookup(TWO_DIGITS, s // 3600), lookup(TWO_DIGITS, s // 60 % 60)
        return flat(cat(hh, ":", mm, ":", lookup(TWO_DIGITS, s % 60)) if kind == "clock" else cat(hh, ":", mm))
    fen = np.arange(-TABLE_MAX, TABLE_MAX + 1)
    absf = np.abs(fen)
    cents = JSON_CENTS if kind == "yuan_json" else DOT_CENTS
    return flat(cat(lookup(SIGN, (fen < 0).astype(np.int64)), pc.cast(pa.array(absf // 100), pa.string()),
                    lookup(cents, absf % 100)))


def _in_table(values: np.ndarray, low: int) -> bool:
    return len(values) == 0 or (values.min() >= low and values.max() <= TABLE_MAX)

Piece = pa.Array | str


def lookup(table: pa.Array | Sequence[str], codes: np.ndarray) -> pa.Array:
    """Strings by integer code: table[codes]."""
    if not isinstance(table, pa.Array):
        table = pa.array(list(table), pa.string())
    return table.take(pa.array(np.asarray(codes, dtype=np.int64)))


def num(values: np.ndarray) -> pa.Array:
    """Integers as decimal strings."""
    values = np.asarray(values, dtype=np.int64)
    if _in_table(values, 0):
        return lookup(_table("int"), values)
    return pc.cast(pa.array(values), pa.string())


def padded(values: np.ndarray, width: int) -> pa.Array:
    """Non-negative integers zero-padded to width."""
    values = np.asarray(values, dtype=np.int64)
    if _in_table(values, 0):
        return lookup(_table("int", width), values)
    return pc.utf8_lpad(pc.cast(pa.array(values), pa.string()), width=width, padding="0")


def cat(*parts: Piece) -> pa.Array:
    """Row-wise concatenation of string arrays and literal strings."""
    return pc.binary_join_element_wise(*parts, "")


def csv_lines(*fields: Piece) -> pa.Array:
    """Comma-joined fields, each line ending in a newline (fields must not need quoting)."""
    return pc.binary_join_element_wise(*fields[:-1], cat(fields[-1], "\n"), ",")


def choose(mask: np.ndarray, if_true: Piece, if_false: Piece) -> pa.Array:
    return pc.if_else(pa.array(np.asarray(mask, dtype=bool)), if_true, if_false)


def yuan(fen: np.ndarray) -> pa.Array:
    """Fen as yuan with two decimals: -3050 -> '-30.50'."""
    fen = np.asarray(fen, dtype=np.int64)
    if _in_table(fen, -TABLE_MAX):
        return lookup(_table("yuan"), fen + TABLE_MAX)
    absf = np.abs(fen)
    return cat(lookup(SIGN, (fen < 0).astype(np.int64)), num(absf // 100), lookup(DOT_CENTS, absf % 100))


def yuan_json(fen: np.ndarray) -> pa.Array:
    """Fen as a JSON number in yuan, the way a serializer writes floats: 4350 -> '43.5'."""
    fen = np.asarray(fen, dtype=np.int64)
    if _in_table(fen, -TABLE_MAX):
        return lookup(_table("yuan_json"), fen + TABLE_MAX)
    absf = np.abs(fen)
    return cat(lookup(SIGN, (fen < 0).astype(np.int64)), num(absf // 100), lookup(JSON_CENTS, absf % 100))


def clock_mixed(sec_of_day: np.ndarray, short: np.ndarray) -> pa.Array:
    """HH:MM:SS, or HH:MM where short."""
    s = np.asarray(sec_of_day, dtype=np.int64)
    table = _clock_both()
    return lookup(table, np.where(short, 86_400 + s // 60, s))


@lru_cache(maxsize=None)
def _clock_both() -> pa.Array:
    return pa.concat_arrays([_table("clock"), _table("clock_hm")])


def by_rows(n: int, default: str, parts: list[tuple[np.ndarray, object]]) -> pa.Array:
    """A column of ``default`` where, for each (mask, fn), the masked rows get fn(row indices):
    formats only the rows that need it."""
    out = pa.repeat(pa.scalar(default, pa.string()), n)
    for mask, fn in parts:
        mask = np.asarray(mask, dtype=bool)
        if mask.any():
            out = pc.replace_with_mask(out, pa.array(mask), flat(fn(np.flatnonzero(mask))))
    return flat(out)


def clock(sec_of_day: np.ndarray, seconds: bool = True) -> pa.Array:
    """Seconds since midnight as HH:MM:SS (or HH:MM)."""
    s = np.asarray(sec_of_day, dtype=np.int64)
    return lookup(_table("clock"), s) if seconds else lookup(_table("clock_hm"), s // 60)


def quoted_or_null(mask: np.ndarray, values: pa.Array) -> pa.Array:
    """JSON string where mask, else null."""
    return choose(mask, cat('"', values, '"'), "null")


def replace_rows(lines: pa.Array, mask: np.ndarray, fn) -> pa.Array:
    """Replace the rows under mask by fn(those rows) (a few rows: computed on the subset only)."""
    mask = np.asarray(mask, dtype=bool)
    if not mask.any():
        return lines
    m = pa.array(mask)
    return pc.replace_with_mask(lines, m, fn(lines.filter(m)))


def random_tokens(rng: np.random.Generator, n: int, length: int, alphabet: bytes, suffix_ids: np.ndarray | None = None,
                  suffix_len: int = 0) -> np.ndarray:
    """n random tokens as a numpy bytes array; when suffix_ids is given the last suffix_len characters
    encode it in the alphabet's base, which makes the tokens unique."""
    alpha = np.frombuffer(alphabet, dtype=np.uint8)
    chars = alpha[rng.integers(0, len(alpha), size=(n, length), dtype=np.uint8)]
    if suffix_ids is not None:
        rest = np.asarray(suffix_ids, dtype=np.int64).copy()
        for pos in range(length - 1, length - 1 - suffix_len, -1):
            chars[:, pos] = alpha[rest % len(alpha)]
            rest //= len(alpha)
    return np.ascontiguousarray(chars).view(f"S{length}").ravel()


def flat(a: pa.Array | pa.ChunkedArray) -> pa.Array:
    return a.combine_chunks() if isinstance(a, pa.ChunkedArray) else a


def from_bytes(values: np.ndarray) -> pa.Array:
    return flat(pc.cast(flat(pa.array(values, pa.binary())), pa.string()))


def concat_buffer(lines: pa.Array) -> tuple[memoryview, np.ndarray]:
    """The UTF-8 bytes of all rows back to back and the row offsets into them (zero copy)."""
    if isinstance(lines, pa.ChunkedArray):
        lines = lines.combine_chunks()
    if lines.type != pa.string():
        lines = lines.cast(pa.string())
    bufs = lines.buffers()
    offsets = np.frombuffer(bufs[1], dtype=np.int32)[lines.offset: lines.offset + len(lines) + 1]
    data = memoryview(bufs[2]) if bufs[2] is not None else memoryview(b"")
    return data, offsets
