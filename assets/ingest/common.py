"""What every landing-file parser shares: reading and decoding, splitting into records, typing,
hashing identifiers, redacting and quarantining bad rows (SPEC §1.5, §4).

Each source declares a :class:`Recipe` (its columns or JSON fields, how it types them, which
columns are identifiers); :func:`parse_files` turns a batch of that source's landing files (many
files, many delivery days) into one :class:`ParsedDay` per day, in four steps:

1. **read** each file: the bytes, their sha256, the text (CSV: UTF-8, UTF-8 with BOM, else
   GB18030; JSON Lines: UTF-8 per line). Nothing readable at all → :class:`UnreadableFileError`
   naming the file (its day is then not loaded).
2. **split** each file into records of raw strings, each with its physical line number (CSV header
   = 1, first JSON line = 1; blank lines are skipped but counted). CSV lines without a quote are
   split vectorized, all files of the batch at once (identical to the csv module on such lines);
   lines with a quote go through the ``csv`` module, so quoted fields (also spanning lines) are
   read as the csv module reads them. A record that cannot be split (wrong field count, not
   JSON) is quarantined here.
3. **type** all records of the batch at once with Arrow compute and NumPy (:class:`Typer`):
   amounts as ``decimal(18,2)`` parsed from their text, times checked against the calendar (no
   2024-02-30) and converted to local time, statuses mapped. Every check that fails adds a
   plain-language reason, written only for the rows that fail; a row with any reason is
   quarantined, every other row is loaded. (No SQL engine here: planning a query per batch
   costs more than typing it.)
4. **identify**: identifiers are hashed once per distinct value (:class:`~assets.ingest.hashing.Hasher`),
   phones normalized and masked, and every raw identifier value seen on a loaded row is listed,
   per file, for the restricted ``pii`` store.

Typing a batch as one pays the fixed cost of each vectorized step once per batch instead of once
per file (a day of a large brand is hundreds of small store uploads); the result does not depend
on how files are batched. :func:`parse_one` parses a single file (the per-source ``parse_file``).

Quarantined rows keep their raw text under ``<raw>/quarantine`` with personal values masked
(phones ``138****5678``, other identifiers ``oX1****i0jA``); the untouched original stays in the
landing file, which the quarantine row names by file and line.
"""

from __future__ import annotations

import bisect
import csv
import gc
import hashlib
import re
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date
from operator import itemgetter
from pathlib import Path
from typing import Any

import numpy as np
import orjson
import pyarrow as pa
import pyarrow.compute as pc

from assets.ingest.hashing import Hasher, mask_phone, normalize_phone
from assets.ingest.schemas import PII_TABLES, RAW_TABLES

# Amounts: yuan with at most two decimals and at most 13 integer digits (< 10 trillion yuan).
AMOUNT_RE = r"[+-]?\d{1,13}(\.\d{1,2})?"
# Whole numbers (fen, points); a JSON 4200.0 is accepted as 4200.
WHOLE_RE = r"[+-]?\d{1,15}(\.0+)?"
MIN_YEAR, MAX_YEAR = 2000, 2099

MAX_RAW_CHARS = 2000  # a quarantined row keeps at most this much of its raw text
MAX_RECORD_LINES = 20  # a quoted CSV field may span at most this many physical lines
# The csv module refuses fields over 128 KiB by default; a quoted field may be as long as an
# unquoted one (which the vectorized path reads at any length). Only ever raised, never lowered.
csv.field_size_limit(max(csv.field_size_limit(), 16 * 1024 * 1024))


class UnreadableFileError(Exception):
    """A landing file of which nothing can be read. It fails its partition; the message names it."""


# --------------------------------------------------------------------------------------------
# The result of parsing one file
# --------------------------------------------------------------------------------------------


@dataclass
class FileLoad:
    """What one landing file gave: its identity and its reconciliation."""

    file_name: str
    delivery_date: date
    sha256: str
    encoding: str  # utf-8 | utf-8-sig | gb18030
    rows_read: int
    rows_loaded: int
    rows_quarantined: int
    quarantine_reasons: Counter[str] = field(default_factory=Counter)

    @property
    def reconciled(self) -> bool:
        return self.rows_read == self.rows_loaded + self.rows_quarantined


@dataclass
class ParsedDay:
    """Every file of one source delivered on one day, parsed (files in name order)."""

    delivery_date: date
    files: list[FileLoad]
    rows: pa.Table  # exactly RAW_TABLES[table]
    quarantine: pa.Table  # RAW_TABLES["quarantine"]
    pii: pa.Table  # PII_TABLES["identifiers"]: one row per distinct identifier value and file
    member_profiles: pa.Table | None  # PII_TABLES["member_profiles"] (member events only)


@dataclass
class ParsedFile(FileLoad):
    """One landing file, parsed on its own: its load, the typed rows, the quarantine and the
    personal values (see :func:`parse_one`)."""

    source: str = ""  # pos | meituan | eleme | miniprogram_orders | miniprogram_members
    table: str = ""  # the raw table the rows belong to (SOURCE_TABLES[source])
    parsed: ParsedDay | None = None

    @property
    def rows(self) -> pa.Table:
        return self.parsed.rows

    @property
    def quarantine(self) -> pa.Table:
        return self.parsed.quarantine

    @property
    def pii(self) -> pa.Table:
        return self.parsed.pii

    @property
    def member_profiles(self) -> pa.Table | None:
        return self.parsed.member_profiles


@dataclass
class FileContext:
    """Who is being parsed: carried through the steps of one parser."""

    source: str
    table: str
    path: Path
    delivery_date: date
    hasher: Hasher
    tz: str
    sha256: str = ""

    @property
    def file_name(self) -> str:
        return self.path.name

    @property
    def label(self) -> str:
        """``<folder>/<YYYY-MM-DD>/<file>``: how messages name the file."""
        return "/".join(self.path.parts[-3:])

    def read(self) -> bytes:
        """The file's bytes; remembers their sha256."""
        try:
            data = self.path.read_bytes()
        except OSError as exc:
            raise UnreadableFileError(f"{self.label}: cannot be read ({exc.strerror or exc})") from exc
        self.sha256 = hashlib.sha256(data).hexdigest()
        return data


@contextmanager
def gc_paused() -> Iterator[None]:
    """Parsing makes millions of short-lived strings; the cyclic GC only slows that down (3x)."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


# --------------------------------------------------------------------------------------------
# Decoding
# --------------------------------------------------------------------------------------------


def decode_text(data: bytes, label: str) -> tuple[str, str]:
    """Text of a CSV file: strict UTF-8 (BOM removed), else strict GB18030, else unreadable."""
    try:
        text = data.decode("utf-8-sig")
        return text, ("utf-8-sig" if data.startswith(b"\xef\xbb\xbf") else "utf-8")
    except UnicodeDecodeError as utf8_error:
        try:
            return data.decode("gb18030"), "gb18030"
        except UnicodeDecodeError as gb_error:
            raise UnreadableFileError(
                f"{label}: not UTF-8 or GB18030 text (invalid UTF-8 byte at offset "
                f"{utf8_error.start}, invalid GB18030 byte at offset {gb_error.start}); "
                "re-export the file as UTF-8"
            ) from None


# --------------------------------------------------------------------------------------------
# Quarantine and redaction
# --------------------------------------------------------------------------------------------

_PHONE_LIKE = re.compile(r"(?<!\d)(?:(?:\+|00)?86[\s-]?)?1[3-9]\d(?:[\s-]?\d){8}(?!\d)")
# A token of 8+ letters/digits holding both (openids, unionids, card numbers), but not an ISO
# time: masked in lines that could not be split into fields, where we cannot tell which field
# is personal.
_ID_TOKEN = re.compile(
    r"(?<![A-Za-z0-9_-])(?!\d{4}-\d\d-\d\d[Tt])(?=[A-Za-z0-9_-]*\d)(?=[A-Za-z0-9_-]*[A-Za-z])"
    r"[A-Za-z0-9_-]{8,}(?![A-Za-z0-9_-])"
)
# A bare number of 7-15 digits (platform user ids, card numbers, phones): masked in such lines
# too. Order ids (18-19 digits), amounts (decimals) and times are left readable.
_DIGIT_ID = re.compile(r"(?<![\d.])\d{7,15}(?![\d.])")


def mask_text(value: str) -> str:
    """``oX1a2b3c4d5e6f7g8h9i0jA`` → ``oX1****i0jA``; short values → ``****``."""
    return f"{value[:3]}****{value[-4:]}" if len(value) >= 11 else "****"


def _mask_phone_match(match: re.Match[str]) -> str:
    digits = re.sub(r"\D", "", match.group(0))[-11:]
    return f"{digits[:3]}****{digits[-4:]}"


def redact(raw: str, personal_values: Iterable[Any] | None) -> str:
    """The raw text with personal values masked, for ``<raw>/quarantine`` (SPEC §4).

    ``personal_values``: the values of the personal fields of this record when it could be split
    into fields; ``None`` when it could not, then every identifier-like token is masked.
    """
    if personal_values is not None:
        values: set[str] = set()
        for value in personal_values:
            if isinstance(value, list):
                values.update(str(v) for v in value if v is not None)
            elif value is not None and not isinstance(value, dict):
                values.add(str(value))
        for value in sorted((v for v in values if len(v.strip()) >= 4), key=len, reverse=True):
            raw = raw.replace(value, mask_text(value.strip()))
    raw = _PHONE_LIKE.sub(_mask_phone_match, raw)
    if personal_values is None:
        raw = _ID_TOKEN.sub(lambda m: mask_text(m.group(0)), raw)
        raw = _DIGIT_ID.sub(lambda m: mask_text(m.group(0)), raw)
    if len(raw) > MAX_RAW_CHARS:
        raw = raw[:MAX_RAW_CHARS] + f"… ({len(raw)} characters, truncated)"
    return raw


class Quarantine:
    """The rows of one file that broke the contract: line, redacted raw text, reason."""

    def __init__(self) -> None:
        self.line_no: list[int] = []
        self.raw: list[str] = []
        self.reason: list[str] = []

    def add(self, line_no: int, raw: str, reason: str) -> None:
        self.line_no.append(int(line_no))
        self.raw.append(raw)
        self.reason.append(reason)

    def __len__(self) -> int:
        return len(self.line_no)

    def reasons(self) -> Counter[str]:
        return Counter(self.reason)

    def table(self, ctx: FileContext) -> pa.Table:
        order = sorted(range(len(self.line_no)), key=self.line_no.__getitem__)
        n = len(order)
        return pa.Table.from_arrays(
            [
                pa.array([ctx.source] * n, pa.string()),
                pa.array([ctx.delivery_date] * n, pa.date32()),
                pa.array([ctx.file_name] * n, pa.string()),
                pa.array([self.line_no[i] for i in order], pa.int64()),
                pa.array([self.raw[i] for i in order], pa.string()),
                pa.array([self.reason[i] for i in order], pa.string()),
            ],
            schema=RAW_TABLES["quarantine"],
        )


# --------------------------------------------------------------------------------------------
# Splitting: CSV
# --------------------------------------------------------------------------------------------


def _header_key(name: str) -> str:
    return name.strip().lstrip("\ufeff").strip().casefold()


@dataclass
class CsvRecords:
    """The records of a CSV file as string columns, and how to find a record's raw text."""

    table: pa.Table | None  # line_no + one raw string column per wanted key (split_csv)
    rows_read: int
    body: pa.Array  # physical lines after the header (body[i] is line i + 2)
    spans: dict[int, int]  # first line → last line of records spanning several lines
    header_index: dict[str, int]  # header name (casefolded) → field index
    n_fields: int
    columns: tuple[int, ...] = ()  # the field index of each wanted key
    plain: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))  # body index
    # of each line without a quote (split vectorized, see split_csv_batch)
    quoted: list[tuple[int, list[str]]] = field(default_factory=list)  # (line, fields) read by
    # the csv module

    def raw(self, line_no: int) -> str:
        first = line_no - 2
        last = self.spans.get(line_no, line_no) - 2
        return "\n".join(self.body[first : last + 1].to_pylist())

    def fields(self, line_no: int) -> list[str] | None:
        """The record's fields when it splits into the header's field count, else None."""
        try:
            fields = next(csv.reader([self.raw(line_no)]))
        except (csv.Error, StopIteration):
            return None
        return fields if len(fields) == self.n_fields else None


def _lines(text: str) -> pa.Array:
    """Physical lines (LF, CRLF, or CR alone when the file has no LF), terminators removed."""
    if not text:
        return pa.array([], pa.large_string())
    separator = "\n" if "\n" in text or "\r" not in text else "\r"
    lines = pc.list_flatten(pc.split_pattern(pa.array([text], pa.large_string()), separator))
    if text.endswith(separator):
        lines = lines.slice(0, len(lines) - 1)
    if separator == "\n" and "\r" in text:
        lines = pc.utf8_rtrim(lines, characters="\r")
    return lines


def split_csv(text: str, wanted: Sequence[tuple[str, str]], label: str, quarantine: Quarantine) -> CsvRecords:
    """Split CSV text into records; ``wanted`` = ``(header name, key)`` pairs to extract.

    A header missing a wanted column makes the file unreadable. A record whose field count is
    not the header's goes to ``quarantine`` ("expected 12 fields, found 9"). An empty file (no
    header, no rows) is read as zero rows.
    """
    records = prepare_csv(text, wanted, label, quarantine)
    table = split_csv_batch([records], [quarantine], [k for _, k in wanted])
    records.table = table.drop_columns(["file"])
    return records


def prepare_csv(text: str, wanted: Sequence[tuple[str, str]], label: str, quarantine: Quarantine) -> CsvRecords:
    """The per-file part of :func:`split_csv`: lines, header, and the lines holding a quote
    (read by the csv module); the lines without one are split by :func:`split_csv_batch`,
    together with those of the other files of a batch."""
    has_quotes = '"' in text
    lines = _lines(text)
    blank_all = pc.or_(pc.utf8_is_space(lines), pc.equal(pc.binary_length(lines), 0))
    if len(lines) == 0 or pc.all(blank_all).as_py():
        return CsvRecords(None, 0, pa.array([], pa.large_string()), {}, {}, 0)

    try:
        header = next(csv.reader([lines[0].as_py()]), [])
    except csv.Error as exc:
        raise UnreadableFileError(f"{label}: the first line is not a CSV header ({exc})") from None
    header_index: dict[str, int] = {}
    for i, name in enumerate(header):
        header_index.setdefault(_header_key(name), i)
    missing = [name for name, _ in wanted if _header_key(name) not in header_index]
    if missing:
        raise UnreadableFileError(
            f"{label}: the header lacks column(s) {', '.join(missing)} "
            f"(found: {', '.join(h.strip() for h in header) or 'nothing'})"
        )
    n_fields = len(header)
    body = lines.slice(1)
    blank = blank_all.slice(1).to_numpy(zero_copy_only=False)

    rows_read = 0
    spans: dict[int, int] = {}
    consumed = blank.copy()

    # Lines with a quote: the csv module (a quoted field may span lines, hold commas or quotes).
    quoted: list[tuple[int, list[str]]] = []
    if has_quotes:
        has_quote = pc.match_substring(body, '"').to_numpy(zero_copy_only=False)
        for i in np.flatnonzero(has_quote & ~blank):
            i = int(i)
            if consumed[i]:
                continue
            fields, used = _read_quoted_record(body, i, n_fields)
            consumed[i : i + used] = True
            line_no = i + 2
            rows_read += 1
            if used > 1:
                spans[line_no] = line_no + used - 1
            if isinstance(fields, list) and len(fields) == n_fields:
                quoted.append((line_no, fields))
            else:
                raw = "\n".join(body.slice(i, used).to_pylist())
                reason = fields if isinstance(fields, str) else f"expected {n_fields} fields, found {len(fields)}"
                quarantine.add(line_no, redact(raw, None), reason)

    plain = np.flatnonzero(~consumed)
    columns = tuple(header_index[_header_key(name)] for name, _ in wanted)
    return CsvRecords(None, rows_read + len(plain), body, spans, header_index, n_fields, columns, plain, quoted)


def split_csv_batch(records: Sequence[CsvRecords], quarantines: Sequence[Quarantine], keys: Sequence[str]) -> pa.Table:
    """The records of many CSV files as one table (``file``: the index into ``records``,
    ``line_no``, one raw string column per key), ordered by file and line.

    Every line without a quote is a plain split on commas (what the csv module does with such
    a line), done once for all files with the same field count and column positions; a line
    with the wrong field count goes to its file's quarantine.
    """
    groups: dict[tuple[int, tuple[int, ...]], list[int]] = {}
    for k, r in enumerate(records):
        if r.n_fields:
            groups.setdefault((r.n_fields, r.columns), []).append(k)
    parts: list[pa.Table] = []
    resort = len(groups) > 1
    for (n_fields, columns), members in groups.items():
        bodies = [records[k].body.take(pa.array(records[k].plain)) for k in members]
        lines = pa.concat_arrays(bodies) if bodies else pa.array([], pa.large_string())
        file = np.repeat(np.array(members, dtype=np.int32), [len(records[k].plain) for k in members])
        line_no = np.concatenate([records[k].plain + 2 for k in members]).astype(np.int64)
        split = pc.split_pattern(lines, ",")
        counts = pc.list_value_length(split).to_numpy(zero_copy_only=False)
        good = counts == n_fields
        if not good.all():
            for j in np.flatnonzero(~good):
                k = int(file[j])
                quarantines[k].add(
                    int(line_no[j]), redact(lines[int(j)].as_py(), None), f"expected {n_fields} fields, found {counts[j]}"
                )
            split, file, line_no = split.filter(pa.array(good)), file[good], line_no[good]
        grid = pa.FixedSizeListArray.from_arrays(pc.list_flatten(split), n_fields)
        table: dict[str, Any] = {"file": pa.array(file, pa.int32()), "line_no": pa.array(line_no, pa.int64())}
        for key, idx in zip(keys, columns):
            table[key] = pc.list_element(grid, idx) if len(grid) else pa.array([], pa.large_string())
        quoted = [(k, line, fields) for k in members for line, fields in records[k].quoted]
        if quoted:
            resort = True
            extra: dict[str, Any] = {
                "file": pa.array([k for k, _, _ in quoted], pa.int32()),
                "line_no": pa.array([line for _, line, _ in quoted], pa.int64()),
            }
            for key, idx in zip(keys, columns):
                extra[key] = pa.array([fields[idx] for _, _, fields in quoted], pa.large_string())
            parts.append(pa.table(extra))
        parts.append(pa.table(table))
    if not parts:
        return pa.table(
            {"file": pa.array([], pa.int32()), "line_no": pa.array([], pa.int64()),
             **{k: pa.array([], pa.large_string()) for k in keys}}
        )
    table = pa.concat_tables(parts)
    if resort:
        table = table.sort_by([("file", "ascending"), ("line_no", "ascending")])
    # empty → null in Typer
    return pa.table({c: table[c] if c in ("file", "line_no") else pc.utf8_trim_whitespace(table[c]) for c in table.column_names})


def _read_quoted_record(body: pa.Array, i: int, n_fields: int) -> tuple[list[str] | str, int]:
    """One record starting at body[i] read by the csv module: (fields, physical lines used), or
    (error message, 1) when the csv module refuses the line.

    A record spanning several lines is accepted only if it has the header's field count;
    otherwise (a stray quote running on) the line is read on its own, so one bad quote never
    swallows the lines after it.
    """
    window = body.slice(i, MAX_RECORD_LINES).to_pylist()
    reader = csv.reader(line + "\n" for line in window)
    try:
        fields = next(reader)
        used = max(1, reader.line_num)
    except (csv.Error, StopIteration):
        fields, used = [], 2
    if used > 1 and len(fields) != n_fields:
        try:
            fields = next(csv.reader([window[0]]), [])
        except csv.Error as exc:
            return f"line is not valid CSV: {exc}", 1
        used = 1
    if fields and fields[-1].endswith("\n"):
        fields[-1] = fields[-1].rstrip("\n")
    return fields, used


# --------------------------------------------------------------------------------------------
# Splitting: JSON Lines
# --------------------------------------------------------------------------------------------

_BOM = b"\xef\xbb\xbf"
_JSON_POS = re.compile(r":? line 1 column (\d+) \(char \d+\)")


@dataclass
class JsonRecords:
    objs: list[dict[str, Any]]
    line_nos: list[int]
    lines: list[bytes]  # physical lines (lines[i] is line i + 1)
    rows_read: int
    encoding: str

    def raw(self, line_no: int) -> str:
        return self.lines[line_no - 1].rstrip(b"\r").decode("utf-8", "replace")

    def obj(self, line_no: int) -> dict[str, Any] | None:
        i = bisect.bisect_left(self.line_nos, line_no)
        return self.objs[i] if i < len(self.line_nos) and self.line_nos[i] == line_no else None


def split_jsonl(data: bytes, label: str, quarantine: Quarantine) -> JsonRecords:
    """One JSON object per line (UTF-8). A line that is not one is quarantined; a file in which
    no line is or even opens a JSON object is unreadable."""
    encoding = "utf-8-sig" if data.startswith(_BOM) else "utf-8"
    if data.startswith(_BOM):
        data = data[3:]
    lines = data.split(b"\n")
    if lines and lines[-1] == b"":
        lines.pop()
    numbers = [i for i, line in enumerate(lines, 1) if line and not line.isspace()]
    rows_read = len(numbers)
    objs: list[dict[str, Any]] = []
    line_nos: list[int] = []
    first_error: str | None = None
    loads = orjson.loads
    for number in numbers:
        line = lines[number - 1]
        try:
            obj = loads(line)
        except orjson.JSONDecodeError as exc:
            try:
                line.decode("utf-8")
            except UnicodeDecodeError:
                reason = "line is not UTF-8 text (JSON Lines must be UTF-8)"
            else:
                reason = "line is not valid JSON: " + _JSON_POS.sub(r" at column \1", str(exc))
        else:
            if type(obj) is dict:
                objs.append(obj)
                line_nos.append(number)
                continue
            reason = f"line is not a JSON object but a {type(obj).__name__}"
        first_error = first_error or f"line {number}: {reason}"
        quarantine.add(number, redact(line.rstrip(b"\r").decode("utf-8", "replace"), None), reason)
    # No object at all and no line even opening one: this is not a JSON Lines file. A file whose
    # only lines are broken objects (a truncated export) is a file of quarantined rows.
    looks_like_jsonl = any(lines[n - 1].lstrip().startswith(b"{") for n in numbers)
    if rows_read and not objs and not looks_like_jsonl:
        raise UnreadableFileError(
            f"{label}: no line is a JSON object ({first_error}); expected UTF-8 JSON Lines"
        )
    return JsonRecords(objs, line_nos, lines, rows_read, encoding)


# JSON value kinds for json_columns.
TEXT, ID, NUM, INT, BOOL = "text", "id", "num", "int", "bool"


def _json_text(value: Any) -> str:
    return orjson.dumps(value).decode()


def _display(value: Any) -> str:
    """A JSON value as a person reads it in a reason: a string as is, anything else as JSON."""
    return _quote(value if isinstance(value, str) else _json_text(value))


def _num_text(value: Any) -> str | None:
    """A JSON number as the text it was written as: repr(float) is the shortest text that reads
    back as the same float, i.e. the JSON text for any amount of up to 15 significant digits
    (43.5 → '43.5', 36.20 → '36.2'). The amount is then parsed from that text, never computed
    in binary floating point."""
    t = type(value)
    if t is float:
        return repr(value)
    if t is int:
        return str(value)
    if t is str or value is None:
        return value
    return _json_text(value)  # true, [..], {..}: reported by the typing step as not a number


class PreReasons:
    """Reasons found while extracting JSON values (wrong JSON types), by record index."""

    def __init__(self, n: int) -> None:
        self.n = n
        self._by_row: dict[int, list[str]] = {}

    def add(self, i: int, reason: str) -> None:
        self._by_row.setdefault(i, []).append(reason)

    @property
    def rows(self) -> list[int]:
        return sorted(self._by_row)

    def reason(self, i: int) -> str:
        return "; ".join(self._by_row[i])


def json_column(
    values: Sequence[Any], key: str, kind: str, pre: PreReasons, *, personal: bool = False
) -> pa.Array:
    """One field of every record as an Arrow column: text, the text of a number (NUM, INT; typed
    later), or a boolean, trimmed (empty text becomes null in the typing step, Typer). A
    value of the wrong JSON type adds a reason (without the value when the field is
    ``personal``)."""

    def shown(v: Any) -> str:
        return "" if personal else " " + _display(v)

    if kind in (TEXT, ID):
        try:
            return pc.utf8_trim_whitespace(pa.array(values, pa.string()))
        except (pa.ArrowTypeError, pa.ArrowInvalid):
            out: list[str | None] = []
            for i, v in enumerate(values):
                t = type(v)
                if t is str or v is None:
                    out.append(v)
                elif t is int:
                    out.append(str(v))
                elif t is float and kind == ID:
                    pre.add(i, f"{key}{shown(v)} is a floating-point number, so its digits cannot be trusted (ids must be text)")
                    out.append(repr(v))
                else:
                    pre.add(i, f"{key}{shown(v)} is not text")
                    out.append(_json_text(v))
            return pc.utf8_trim_whitespace(pa.array(out, pa.string()))
    if kind in (NUM, INT):
        return _number_texts(values, kind)
    if kind == BOOL:
        if all(v is True or v is False or v is None for v in values):
            return pa.array(values, pa.bool_())
        out_b: list[bool | None] = []
        for i, v in enumerate(values):
            if v is True or v is False or v is None:
                out_b.append(v)
            else:
                pre.add(i, f"{key}{shown(v)} is not true or false")
                out_b.append(None)
        return pa.array(out_b, pa.bool_())
    raise ValueError(f"unknown JSON column kind {kind!r}")


_NUMERIC_TYPES = {int, float, type(None)}


def _number_texts(values: list[Any], kind: str) -> pa.Array:
    """The text of JSON numbers as written (typed later by Typer), vectorized.

    orjson hands out floats; a float is exactly the number its JSON text says when it has at
    most 15 significant digits, and it has at most two decimals (NUM) or none (INT) exactly when
    ``round(d * 100) / 100 == d`` (resp. ``round(d) == d``): those become their decimal text in
    Arrow, everything else goes through repr (the shortest text that reads back as the same
    float), so 0.1 + 0.2 shows as 0.30000000000000004 and is rejected, never rounded.
    """
    types = set(map(type, values))
    if types <= {str, type(None)}:
        return pc.utf8_trim_whitespace(pa.array(values, pa.string()))
    if types <= _NUMERIC_TYPES:
        try:
            arr = pa.array(values)
        except (OverflowError, pa.ArrowInvalid, pa.ArrowTypeError):
            arr = None
        if arr is not None and pa.types.is_null(arr.type):
            return pa.nulls(len(values), pa.string())
        if arr is not None and pa.types.is_integer(arr.type):
            return arr.cast(pa.string())
        if arr is not None and pa.types.is_floating(arr.type):
            d = arr.to_numpy(zero_copy_only=False)
            present = ~np.isnan(d)
            with np.errstate(invalid="ignore", over="ignore"):
                if kind == INT:
                    exact = present & (np.abs(d) < 1e15) & (np.rint(d) == d)
                    shown = pa.array(np.where(exact, d, 0).astype(np.int64)).cast(pa.string())
                else:
                    exact = present & (np.abs(d) < 1e13) & (np.rint(d * 100) / 100 == d)
                    shown = pa.array(np.where(exact, d, 0)).cast(pa.decimal128(18, 2)).cast(pa.string())
            text = pc.if_else(pa.array(exact), shown, pa.scalar(None, pa.string()))
            odd = present & ~exact
            if odd.any():
                text = pc.replace_with_mask(text, pa.array(odd), pa.array([repr(values[i]) for i in np.flatnonzero(odd)]))
            return text
    return pc.utf8_trim_whitespace(pa.array([_num_text(v) for v in values], pa.string()))


@dataclass(frozen=True)
class JsonField:
    key: str  # the JSON key
    column: str  # the column name in the strings table
    kind: str  # TEXT | ID | NUM | INT | BOOL
    personal: bool = False  # masked in quarantined raw text, never quoted in a reason


def json_values(records: JsonRecords, keys: Sequence[str]) -> dict[str, Sequence[Any]]:
    """The values of ``keys`` in every record (None when absent), one sequence per key."""
    if not records.objs:
        return {k: () for k in keys}
    try:  # every key present (the usual case): one C-level pass, then a transpose
        return dict(zip(keys, zip(*map(itemgetter(*keys), records.objs)))) if len(keys) > 1 else {
            keys[0]: [o[keys[0]] for o in records.objs]
        }
    except KeyError:
        return {k: [o.get(k) for o in records.objs] for k in keys}


def json_table(
    records: JsonRecords, fields: Sequence[JsonField], pre: PreReasons, extra_keys: Sequence[str] = ()
) -> tuple[dict[str, pa.Array], dict[str, Sequence[Any]]]:
    """The strings table of a JSON Lines file (line_no + one column per field), and the raw
    values of ``extra_keys`` (for columns the caller derives itself, e.g. item counts)."""
    values = json_values(records, [f.key for f in fields] + list(extra_keys))
    columns: dict[str, pa.Array] = {"line_no": pa.array(records.line_nos, pa.int64())}
    for f in fields:
        columns[f.column] = json_column(values[f.key], f.key, f.kind, pre, personal=f.personal)
    return columns, {k: values[k] for k in extra_keys}


def item_count(items: Sequence[Any], key: str, qty_key: str, pre: PreReasons) -> pa.Array:
    """Units ordered: the sum of ``qty_key`` over each ``key`` list (null when there is none)."""
    if set(map(type, items)) <= {list, type(None)}:
        try:
            # Only the quantity is read (other item fields are ignored whatever their type).
            arr = pa.array(items, type=pa.list_(pa.struct([(qty_key, pa.int64())])))
        except (OverflowError, pa.ArrowInvalid, pa.ArrowTypeError):
            arr = None
        if arr is not None:
            flat = pc.list_flatten(arr)
            if len(flat) == 0:
                return pc.if_else(pc.is_null(arr), pa.scalar(None, pa.int64()), pa.scalar(0, pa.int64()))
            qty = pc.struct_field(flat, qty_key)
            if qty.null_count == 0 and flat.null_count == 0 and pc.min(qty).as_py() >= 0:
                parents = pc.list_parent_indices(arr).to_numpy(zero_copy_only=False)
                totals = np.bincount(parents, weights=qty.to_numpy(zero_copy_only=False), minlength=len(items))
                return pa.array(totals.astype(np.int64), pa.int64(), mask=pc.is_null(arr).to_numpy(zero_copy_only=False))
    # Anything unusual: item by item, with a reason for what is wrong.
    out: list[int | None] = []
    for i, value in enumerate(items):
        if value is None:
            out.append(None)
            continue
        if type(value) is not list:
            pre.add(i, f"{key} is not a list")
            out.append(None)
            continue
        total: int | None = 0
        for n, item in enumerate(value, 1):
            qty = item.get(qty_key) if type(item) is dict else None
            if type(qty) is not int or qty < 0:
                pre.add(i, f"{key} #{n}: {qty_key} {_display(qty)} is not a whole number")
                total = None
                break
            total += qty
        out.append(total)
    return pa.array(out, pa.int64())


def _quote(text: str) -> str:
    return "'" + (text if len(text) <= 60 else text[:57] + "...") + "'"


# --------------------------------------------------------------------------------------------
# Typing: vectorized over the whole file (Arrow compute and NumPy), reasons only for bad rows
# --------------------------------------------------------------------------------------------

_TOO_PRECISE = re.compile(r"[+-]?\d+\.\d{3,}")
_TOO_LARGE = re.compile(r"[+-]?\d{14,}(\.\d*)?")
_LOCAL_TIME = (
    r"^(?P<y>\d{4})[-/](?P<m>\d{1,2})[-/](?P<d>\d{1,2})[ Tt](?P<H>\d{1,2}):(?P<M>\d{2})"
    r"(?::(?P<S>\d{2})(?:\.(?P<f>\d{1,6}))?)?$"
)
_ZONED_TIME = (
    r"^(?P<y>\d{4})-(?P<m>\d{1,2})-(?P<d>\d{1,2})[Tt ](?P<H>\d{1,2}):(?P<M>\d{2})"
    r"(?::(?P<S>\d{2})(?:\.(?P<f>\d{1,9}))?)?\s*(?:(?P<z>[Zz])|(?P<sign>[+-])(?P<oh>\d{2}):?(?P<om>\d{2})?)$"
)
_NAIVE_ISO = re.compile(r"\d{4}-\d{1,2}-\d{1,2}([Tt ]\d{1,2}:\d{2}(:\d{2}(\.\d+)?)?)?")
_DATE = r"^(?P<y>\d{4})-(?P<m>\d{1,2})-(?P<d>\d{1,2})$"
_US_PER_DAY = 86_400_000_000
LOCAL_TIME_FORMAT = "%Y-%m-%d %H:%M:%S"  # the common spelling, parsed by the fast path
_EXPLAIN = Callable[[int], str]


def _ints(parts: pa.StructArray, name: str, default: int = 0) -> np.ndarray:
    """One regex group as int64 (a group that did not take part, or a non-match, → default)."""
    field = pc.struct_field(parts, name)
    field = pc.if_else(pc.equal(field, ""), str(default), field)
    return pc.fill_null(field.cast(pa.int64()), default).to_numpy(zero_copy_only=False)


def _fraction_us(parts: pa.StructArray) -> np.ndarray:
    field = pc.fill_null(pc.struct_field(parts, "f"), "")
    six = pc.utf8_slice_codeunits(pc.utf8_rpad(field, 6, "0"), 0, 6)
    return six.cast(pa.int64()).to_numpy(zero_copy_only=False)


def _days_from_civil(y: np.ndarray, m: np.ndarray, d: np.ndarray) -> np.ndarray:
    """Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm)."""
    y = y - (m <= 2)
    era = np.floor_divide(y, 400)
    yoe = y - era * 400
    doy = (153 * ((m + 9) % 12) + 2) // 5 + d - 1
    doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
    return era * 146097 + doe - 719468


def _valid_date(y: np.ndarray, m: np.ndarray, d: np.ndarray) -> np.ndarray:
    leap = ((y % 4 == 0) & (y % 100 != 0)) | (y % 400 == 0)
    month_days = np.array([0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31])[np.clip(m, 0, 12)]
    month_days = month_days + ((m == 2) & leap)
    return (m >= 1) & (m <= 12) & (d >= 1) & (d <= month_days)


def _clock(parts: pa.StructArray) -> tuple[np.ndarray, np.ndarray]:
    """(micros since 1970 of the naive time in the groups, is a real calendar time)."""
    y, m, d = _ints(parts, "y"), _ints(parts, "m"), _ints(parts, "d")
    hh, mm, ss = _ints(parts, "H"), _ints(parts, "M"), _ints(parts, "S")
    ok = _valid_date(y, m, d) & (hh <= 23) & (mm <= 59) & (ss <= 59)
    micros = (
        _days_from_civil(y, m, d) * _US_PER_DAY
        + ((hh * 60 + mm) * 60 + ss) * 1_000_000
        + _fraction_us(parts)
    )
    return micros, ok


def _local_micros(text: pa.Array) -> tuple[np.ndarray, np.ndarray]:
    """(micros since 1970, is a real time) of local times in any accepted spelling.

    The common spelling ``YYYY-MM-DD HH:MM:SS`` goes through Arrow's strptime, then each parsed
    field is compared with the digits written (strptime alone would turn 2024-02-30 into
    2024-03-01); every other row goes through the regular expression and the calendar check.
    """
    fixed = pc.fill_null(pc.match_substring_regex(text, r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$"), False)
    candidates = pc.if_else(fixed, text, pa.scalar(None, pa.string()))
    ts = pc.strptime(candidates, format=LOCAL_TIME_FORMAT, unit="us", error_is_null=True)
    fast = pc.fill_null(pc.is_valid(ts), False)
    written_text = pc.if_else(fast, text, pa.scalar("0000-00-00 00:00:00", pa.string()))
    for start, stop, calendar_field in ((5, 7, pc.month), (8, 10, pc.day), (11, 13, pc.hour), (14, 16, pc.minute), (17, 19, pc.second)):
        written = pc.utf8_slice_codeunits(written_text, start, stop).cast(pa.int64())
        fast = pc.and_(fast, pc.fill_null(pc.equal(calendar_field(ts), written), False))
    ok = fast.to_numpy(zero_copy_only=False).copy()
    micros = pc.fill_null(ts.cast(pa.int64()), 0).to_numpy(zero_copy_only=False).copy()
    rest = np.flatnonzero(~ok & pc.is_valid(text).to_numpy(zero_copy_only=False))
    if len(rest):
        parts = pc.extract_regex(text.take(pa.array(rest)), _LOCAL_TIME)
        rest_micros, rest_ok = _clock(parts)
        micros[rest] = rest_micros
        ok[rest] = rest_ok & parts.is_valid().to_numpy(zero_copy_only=False)
    return micros, ok


def _quoted(value: Any) -> str:
    return _quote(str(value))


class Typer:
    """Types the string columns of one file's records, all rows at once.

    Every check records a mask of the rows it rejects and how to explain one of them; the
    explanations (plain language, naming the field and quoting the value) are only written for
    the rows that fail, in the order the checks were made.
    """

    def __init__(self, table: pa.Table, pre: PreReasons | None = None) -> None:
        self.n = table.num_rows
        self.cols: dict[str, pa.Array] = {}
        for name in table.column_names:
            column = _combine(table[name])
            if pa.types.is_string(column.type) or pa.types.is_large_string(column.type):
                column = column.cast(pa.string())
                column = pc.if_else(pc.equal(column, ""), pa.scalar(None, pa.string()), column)
            self.cols[name] = column
        self._checks: list[tuple[np.ndarray, _EXPLAIN]] = []
        if pre is not None and pre.rows:
            mask = np.zeros(self.n, dtype=bool)
            mask[list(pre.rows)] = True
            self._checks.append((mask, pre.reason))

    # ------------------------------------------------------------------ building blocks

    def value(self, col: str, i: int) -> Any:
        return self.cols[col][i].as_py()

    def fail(self, mask: pa.Array | np.ndarray, explain: _EXPLAIN) -> None:
        """Reject the rows of ``mask`` (nulls count as not rejected)."""
        if isinstance(mask, (pa.Array, pa.ChunkedArray)):
            mask = pc.fill_null(mask, False).to_numpy(zero_copy_only=False)
        if mask.any():
            self._checks.append((mask, explain))

    def _missing(self, col: str, required: bool, message: str) -> np.ndarray:
        missing = pc.is_null(self.cols[col]).to_numpy(zero_copy_only=False)
        if required:
            self.fail(missing, lambda i: message)
        return missing

    # ------------------------------------------------------------------ checks that type

    def required(self, col: str, label: str, *, missing: str | None = None) -> pa.Array:
        self._missing(col, True, missing or f"missing {label}")
        return self.cols[col]

    def amount(
        self,
        col: str,
        label: str,
        *,
        required: bool,
        non_negative: bool = False,
        empty_is_zero: bool = False,
        missing: str | None = None,
    ) -> pa.Array:
        """Yuan as decimal(18, 2), parsed from the text (never through a binary float)."""
        text = self.cols[col]
        absent = self._missing(col, required, missing or f"missing {label}")
        ok = pc.fill_null(pc.match_substring_regex(text, f"^{AMOUNT_RE}$"), False)
        value = pc.if_else(ok, text, pa.scalar(None, pa.string())).cast(pa.decimal128(18, 2))
        self.fail(~ok.to_numpy(zero_copy_only=False) & ~absent, lambda i: _explain_amount(label, self.value(col, i)))
        if non_negative:
            self.fail(pc.less(value, 0), lambda i: f"{label} {_quoted(self.value(col, i))} is negative")
        if empty_is_zero:
            value = pc.if_else(pc.is_null(text), pa.scalar(0, pa.decimal128(18, 2)), value)
        return value

    def whole(
        self, col: str, label: str, *, required: bool, empty_is_zero: bool = False, missing: str | None = None
    ) -> pa.Array:
        """A non-negative whole number (fen, points) as int64; a JSON 4200.0 is 4200."""
        text = self.cols[col]
        absent = self._missing(col, required, missing or f"missing {label}")
        ok = pc.fill_null(pc.match_substring_regex(text, f"^{WHOLE_RE}$"), False)
        digits = pc.replace_substring_regex(pc.if_else(ok, text, pa.scalar(None, pa.string())), r"\.0+$", "")
        value = digits.cast(pa.int64())
        self.fail(~ok.to_numpy(zero_copy_only=False) & ~absent,
                  lambda i: f"{label} {_quoted(self.value(col, i))} is not a whole number")
        self.fail(pc.less(value, 0), lambda i: f"{label} {_quoted(self.value(col, i))} is negative")
        if empty_is_zero:
            value = pc.if_else(pc.is_null(text), pa.scalar(0, pa.int64()), value)
        return value

    def _timestamp(
        self, col: str, label: str, micros: np.ndarray, ok: np.ndarray, absent: np.ndarray, *, zoned: bool
    ) -> pa.Array:
        self.fail(~ok & ~absent, lambda i: _explain_time(label, self.value(col, i), zoned=zoned))
        return pa.array(np.where(ok, micros, 0), pa.timestamp("us"), mask=~ok)

    def local_time(self, col: str, label: str, *, missing: str | None = None) -> pa.Array:
        """A local time (``YYYY-MM-DD HH:MM:SS``, ``YYYY/MM/DD HH:MM``, …) as timestamp[us]."""
        absent = self._missing(col, True, missing or f"missing {label}")
        micros, ok = _local_micros(self.cols[col])
        return self._in_years(col, label, self._timestamp(col, label, micros, ok, absent, zoned=False))

    def zoned_time(self, col: str, label: str, tz: str, *, missing: str | None = None) -> pa.Array:
        """An ISO 8601 time with a UTC offset, as the naive local time in ``tz``."""
        absent = self._missing(col, True, missing or f"missing {label}")
        parts = pc.extract_regex(self.cols[col], _ZONED_TIME)
        micros, ok = _clock(parts)
        ok &= parts.is_valid().to_numpy(zero_copy_only=False)
        oh, om = _ints(parts, "oh"), _ints(parts, "om")
        sign = np.where(pc.fill_null(pc.equal(pc.struct_field(parts, "sign"), "-"), False).to_numpy(zero_copy_only=False), -1, 1)
        ok &= (oh <= 18) & (om <= 59)
        utc = micros - sign * (oh * 3600 + om * 60) * 1_000_000
        instant = self._timestamp(col, label, utc, ok, absent, zoned=True)
        local = pc.local_timestamp(instant.cast(pa.timestamp("us", tz="UTC")).cast(pa.timestamp("us", tz=tz)))
        return self._in_years(col, label, local)

    def _in_years(self, col: str, label: str, ts: pa.Array) -> pa.Array:
        year = pc.year(ts)
        outside = pc.or_(pc.less(year, MIN_YEAR), pc.greater(year, MAX_YEAR))
        self.fail(outside, lambda i: f"{label} {_quoted(self.value(col, i))} is outside the years {MIN_YEAR}-{MAX_YEAR}")
        return pc.if_else(pc.fill_null(outside, False), pa.scalar(None, ts.type), ts)

    def date(self, col: str, reason: str, *, min_year: int = 1900, max_year: int = 2100) -> pa.Array:
        """A ``YYYY-MM-DD`` date (null when empty); a bad one fails with ``reason`` as given."""
        text = self.cols[col]
        parts = pc.extract_regex(text, _DATE)
        y, m, d = _ints(parts, "y"), _ints(parts, "m"), _ints(parts, "d")
        ok = parts.is_valid().to_numpy(zero_copy_only=False) & _valid_date(y, m, d) & (y >= min_year) & (y <= max_year)
        present = pc.is_valid(text).to_numpy(zero_copy_only=False)
        self.fail(present & ~ok, lambda i: reason)
        return pa.array(np.where(ok, _days_from_civil(y, m, d), 0).astype("int32"), pa.date32(), mask=~ok)

    def enum(
        self,
        col: str,
        label: str,
        mapping: dict[str, str],
        *,
        fold: str | None = "lower",
        required: bool,
        expected: str | None = None,
        missing: str | None = None,
    ) -> pa.Array:
        """Map a value (case-folded) through ``mapping``; anything else fails, saying what was
        expected (by default the mapping's own spellings)."""
        text = self.cols[col]
        self._missing(col, required, missing or f"missing {label}")
        folded = pc.utf8_lower(text) if fold == "lower" else pc.utf8_upper(text) if fold == "upper" else text
        index = pc.index_in(folded, value_set=pa.array(list(mapping), pa.string()))
        value = pc.take(pa.array(list(mapping.values()), pa.string()), index)
        expected = expected or expected_text(mapping)
        self.fail(pc.and_(pc.is_valid(text), pc.is_null(index)),
                  lambda i: f"unknown {label} {_quoted(self.value(col, i))} (expected {expected})")
        return value

    def refund_within_paid(self, refund: pa.Array, paid: pa.Array, refund_label: str, paid_label: str) -> None:
        """A refund may not exceed what the customer paid."""
        self.fail(
            pc.and_(pc.greater(refund, paid), pc.greater_equal(paid, 0)),
            lambda i: f"{refund_label} {refund[i].as_py()} is more than {paid_label} {paid[i].as_py()}",
        )

    # ------------------------------------------------------------------ result

    def split_indexed(
        self, columns: dict[str, pa.Array], keep: Sequence[str] = ("line_no",)
    ) -> tuple[pa.Table, np.ndarray, list[str]]:
        """(the good rows as a table of the ``keep`` columns + ``columns``, the indices of the
        bad rows, the reason of each bad row)."""
        bad = np.zeros(self.n, dtype=bool)
        for mask, _ in self._checks:
            bad |= mask
        table = pa.table({**{k: self.cols[k] for k in keep}, **columns})
        if not bad.any():
            return table, np.zeros(0, dtype=np.int64), []
        rejected = np.flatnonzero(bad)
        reasons = [
            "; ".join(explain(int(i)) for mask, explain in self._checks if mask[i]) for i in rejected
        ]
        return table.filter(pa.array(~bad)), rejected, reasons

    def split(self, columns: dict[str, pa.Array]) -> tuple[pa.Table, list[tuple[int, str]]]:
        """(the good rows as a table of ``columns`` + line_no, [(line_no, reason)] of the bad)."""
        good, rejected, reasons = self.split_indexed(columns)
        line_no = self.cols["line_no"]
        return good, [(line_no[int(i)].as_py(), reason) for i, reason in zip(rejected, reasons)]


def _explain_amount(label: str, value: str) -> str:
    if _TOO_PRECISE.fullmatch(value):
        return f"{label} {_quoted(value)} has more than two decimals"
    if _TOO_LARGE.fullmatch(value):
        return f"{label} {_quoted(value)} is too large to be an amount"
    return f"{label} {_quoted(value)} is not an amount"


def _explain_time(label: str, value: str, *, zoned: bool) -> str:
    if zoned and _NAIVE_ISO.fullmatch(value.strip()):
        return f"{label} {_quoted(value)} has no UTC offset (expected ISO 8601 such as 2024-05-01T12:03:11+08:00)"
    return f"{label} {_quoted(value)} is not a valid time"


def expected_text(values: Iterable[str]) -> str:
    values = list(values)
    return ", ".join(values[:-1]) + " or " + values[-1] if len(values) > 1 else values[0]


# --------------------------------------------------------------------------------------------
# Identifiers
# --------------------------------------------------------------------------------------------


class Identifiers:
    """Hashes identifier columns of a batch of files (each distinct value once) and lists, per
    file, every raw value of a loaded row for the restricted ``pii.identifiers`` table.

    ``file_idx``: the file (index into the batch's files) of each row of the columns it hashes.
    """

    def __init__(self, hasher: Hasher, file_idx: np.ndarray) -> None:
        self.hasher = hasher
        self.file_idx = file_idx
        # per identifier type: (file indices, first rows, raw values, hashes) of distinct
        # (file, value) pairs
        self._seen: list[tuple[str, np.ndarray, np.ndarray, pa.Array, pa.Array]] = []

    def _remember(self, identifier_type: str, encoded: pa.DictionaryArray, values: pa.Array, hashes: pa.Array) -> None:
        n = len(values)
        if not n or not len(self.file_idx):
            return
        index = encoded.indices.to_numpy(zero_copy_only=False)
        present = encoded.indices.is_valid().to_numpy(zero_copy_only=False)
        index = np.where(present, index, 0).astype(np.int64)
        present &= hashes.is_valid().to_numpy(zero_copy_only=False)[index]
        rows = np.flatnonzero(present)
        pairs, first = np.unique(self.file_idx[rows].astype(np.int64) * n + index[rows], return_index=True)
        which = pa.array(pairs % n)
        # the row where each (file, value) first appears: an order that does not depend on
        # which other files were parsed in the same batch
        self._seen.append((identifier_type, pairs // n, rows[first], values.take(which), hashes.take(which)))

    def hash_column(self, identifier_type: str, arr: pa.Array | pa.ChunkedArray) -> pa.Array:
        encoded = pc.dictionary_encode(_combine(arr))
        values = encoded.dictionary
        hashes = pa.array(self.hasher.many(identifier_type, values.to_pylist()), pa.string())
        self._remember(identifier_type, encoded, values, hashes)
        return hashes.take(encoded.indices)

    def phone_columns(self, arr: pa.Array | pa.ChunkedArray) -> tuple[pa.Array, pa.Array, pa.Array]:
        """``(phone_hash, phone_masked, phone_status)``: only valid phones are hashed (SPEC §11).

        Each distinct spelling is normalized once (see _normalize_phones).
        """
        encoded = pc.dictionary_encode(_combine(arr))
        phones, status = _normalize_phones(encoded.dictionary)
        hashes = pa.array(self.hasher.many("phone", phones), pa.string())
        masked = pa.array([mask_phone(p) if p is not None else None for p in phones], pa.string())
        self._remember("phone", encoded, pa.array(phones, pa.string()), hashes)
        idx = encoded.indices
        return (
            hashes.take(idx),
            masked.take(idx),
            pc.fill_null(pa.array(status, pa.string()).take(idx), "empty"),
        )

    def table(self, source: str, days: pa.Array, names: pa.Array) -> tuple[pa.Table, np.ndarray]:
        """(``pii.identifiers`` rows of every file, ordered by file, identifier type, then the
        line where the value first appears; the file index of each row). ``days`` and
        ``names``: the delivery date and name of each file."""
        if not self._seen:
            return PII_TABLES["identifiers"].empty_table(), np.zeros(0, dtype=np.int64)
        seen = sorted(self._seen, key=lambda entry: entry[0])
        files = np.concatenate([entry[1] for entry in seen])
        first = np.concatenate([entry[2] for entry in seen])
        type_of = np.repeat(np.arange(len(seen)), [len(entry[1]) for entry in seen])
        order = pa.array(np.lexsort((first, type_of, files)))
        file = pa.array(files).take(order)
        n = len(files)
        rows = pa.Table.from_arrays(
            [
                pa.array([entry[0] for entry in seen], pa.string()).take(pa.array(type_of).take(order)),
                pa.concat_arrays([entry[4] for entry in seen]).take(order),
                pa.concat_arrays([entry[3] for entry in seen]).take(order),
                pa.array([source], pa.string()).take(pa.array(np.zeros(n, dtype=np.int32))),
                days.take(file),
                names.take(file),
            ],
            schema=PII_TABLES["identifiers"],
        )
        return rows, file.to_numpy()


_PHONE_CHARS = r"^[0-9 ()+\-]+$"  # spellings the vectorized path judges exactly as normalize_phone


def _normalize_phones(values: pa.Array) -> tuple[list[str | None], list[str]]:
    """normalize_phone over distinct values: ``(phones, statuses)``.

    Spellings of only digits, spaces, ``-``, ``(``, ``)`` and ``+`` (nearly all of them) are
    judged vectorized by the very rules of normalize_phone (remove those characters, drop a
    leading 0086/86 from 15/13 digits, match ``^1[3-9]\\d{9}$``); anything else goes through
    normalize_phone itself, so both paths agree by construction.
    """
    simple = pc.fill_null(pc.match_substring_regex(values, _PHONE_CHARS), False)
    simple = pc.and_(simple, pc.invert(pc.fill_null(pc.match_substring_regex(values, r"^ *$"), False)))
    digits = pc.replace_substring_regex(values, r"[ ()+\-]", "")
    length = pc.utf8_length(digits)
    digits = pc.if_else(
        pc.and_(pc.equal(length, 15), pc.starts_with(digits, "0086")),
        pc.utf8_slice_codeunits(digits, 4),
        pc.if_else(
            pc.and_(pc.equal(length, 13), pc.starts_with(digits, "86")),
            pc.utf8_slice_codeunits(digits, 2),
            digits,
        ),
    )
    valid = pc.fill_null(pc.match_substring_regex(digits, r"^1[3-9]\d{9}$"), False)
    phones: list[str | None] = []
    status: list[str] = []
    for raw, is_simple, is_valid, phone in zip(
        values.to_pylist(), simple.to_pylist(), valid.to_pylist(), digits.to_pylist()
    ):
        if not is_simple:
            phone, state = normalize_phone(raw)
        elif is_valid:
            state = "valid"
        else:
            phone, state = None, "invalid"
        phones.append(phone if state == "valid" else None)
        status.append(state)
    return phones, status


def _combine(arr: pa.Array | pa.ChunkedArray) -> pa.Array:
    return arr.combine_chunks() if isinstance(arr, pa.ChunkedArray) else arr


# --------------------------------------------------------------------------------------------
# Parsing a batch of files: what every source shares
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Hashed:
    """A typed column of raw identifier values, hashed into the raw table's column ``output``."""

    column: str
    identifier_type: str
    output: str


@dataclass(frozen=True)
class Recipe:
    """What one source's parser declares; :func:`parse_files` does the rest, the same for all.

    CSV sources give ``csv_columns`` (header name, key); JSON Lines sources give ``json_fields``
    and optionally ``items`` (list key, quantity key) for ``item_count``. ``type_rows(typer, tz)``
    returns the typed columns; ``phone`` names the column normalized and hashed into
    ``phone_hash``/``phone_masked``/``phone_status``; ``hashed`` the other identifier columns;
    ``personal`` the headers or keys masked in quarantined raw text; ``profiles`` (member
    events) picks the loaded rows whose birthday goes to ``pii.member_profiles``.
    """

    source: str
    table: str
    type_rows: Callable[[Typer, str], dict[str, Any]]
    personal: Sequence[str]
    phone: str | None
    hashed: Sequence[Hashed]
    csv_columns: Sequence[tuple[str, str]] = ()
    json_fields: Sequence[JsonField] = ()
    items: tuple[str, str] | None = None
    profiles: Callable[[pa.Table], pa.Array] | None = None


@dataclass
class _Split:
    """One file after step 2: its records as strings, and the rows quarantined so far."""

    ctx: FileContext
    encoding: str
    rows_read: int
    strings: pa.Table | None  # JSON Lines: the records as strings (CSV: split for the batch)
    quarantine: Quarantine
    records: CsvRecords | JsonRecords
    pre: list[tuple[int, str]]  # (record index, reason) found while extracting JSON values


def _split_file(recipe: Recipe, ctx: FileContext) -> _Split:
    quarantine = Quarantine()
    if recipe.csv_columns:
        text, encoding = decode_text(ctx.read(), ctx.label)
        records: CsvRecords | JsonRecords = prepare_csv(text, recipe.csv_columns, ctx.label, quarantine)
        return _Split(ctx, encoding, records.rows_read, None, quarantine, records, [])
    records = split_jsonl(ctx.read(), ctx.label, quarantine)
    pre = PreReasons(len(records.objs))
    extra = [recipe.items[0]] if recipe.items else []
    columns, values = json_table(records, recipe.json_fields, pre, extra_keys=extra)
    if recipe.items:
        columns["item_count"] = item_count(values[recipe.items[0]], *recipe.items, pre)
    found = [(i, pre.reason(i)) for i in pre.rows]
    return _Split(ctx, records.encoding, records.rows_read, pa.table(columns), quarantine, records, found)


def parse_files(
    recipe: Recipe, files: Sequence[tuple[Path, date]], hasher: Hasher, tz: str
) -> tuple[dict[date, ParsedDay], dict[date, list[str]]]:
    """Parse a batch of landing files of one source (``(path, delivery date)``, in order of day
    and name) as one: each file is read and split on its own, then all their records are typed,
    checked and hashed together, so the fixed cost of each vectorized step is paid once per
    batch, not once per file.

    Returns ``(parsed days, unreadable)``: a day with a file that cannot be read at all is not
    parsed; ``unreadable[day]`` names each such file and says why.
    """
    with gc_paused():
        unreadable: dict[date, list[str]] = {}
        splits: list[_Split] = []
        for path, day in files:
            ctx = FileContext(recipe.source, recipe.table, Path(path), day, hasher, tz)
            try:
                splits.append(_split_file(recipe, ctx))
            except UnreadableFileError as exc:
                unreadable.setdefault(day, []).append(str(exc))
        splits = [s for s in splits if s.ctx.delivery_date not in unreadable]
        return _type_and_assemble(recipe, splits, hasher, tz), unreadable


def _type_and_assemble(recipe: Recipe, splits: list[_Split], hasher: Hasher, tz: str) -> dict[date, ParsedDay]:
    # 3. type every record of the batch at once
    pre = PreReasons(0)
    if recipe.csv_columns:
        strings = split_csv_batch(
            [s.records for s in splits], [s.quarantine for s in splits], [k for _, k in recipe.csv_columns]
        )
    else:
        sizes = np.array([s.strings.num_rows for s in splits], dtype=np.int64)
        offsets = np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64)
        for k, s in enumerate(splits):
            for i, reason in s.pre:
                pre.add(int(offsets[k]) + i, reason)
        if splits:
            strings = pa.concat_tables([s.strings for s in splits], promote_options="permissive")
        else:
            strings = _empty_strings(recipe)
        strings = strings.append_column("file", pa.array(np.repeat(np.arange(len(splits)), sizes), pa.int32()))
    pre.n = strings.num_rows
    file_of_record = strings["file"].to_numpy()
    typer = Typer(strings, pre)
    good, rejected, reasons = typer.split_indexed(recipe.type_rows(typer, tz), keep=("line_no", "file"))

    # the rows the typing step rejected, quarantined file by file with their raw text redacted
    line_no = strings["line_no"].to_numpy()
    by_file: dict[int, list[tuple[int, str]]] = {}
    for i, reason in zip(rejected, reasons):
        by_file.setdefault(int(file_of_record[i]), []).append((int(line_no[i]), reason))
    for k, bad in by_file.items():
        s = splits[k]
        if isinstance(s.records, CsvRecords):
            quarantine_csv_rows(bad, s.records, s.quarantine, recipe.personal)
        else:
            quarantine_json_rows(bad, s.records, s.quarantine, recipe.personal)

    # 4. identify: hash every identifier column of the loaded rows, list the raw values per file
    good_file = good["file"].to_numpy()
    days = pa.array([s.ctx.delivery_date for s in splits], pa.date32())
    names = pa.array([s.ctx.file_name for s in splits], pa.string())
    ids = Identifiers(hasher, good_file)
    file_index = pa.array(good_file)
    columns: dict[str, Any] = {
        **{c: good[c] for c in good.column_names if c != "file"},
        "delivery_date": days.take(file_index),
        "file_name": names.take(file_index),
    }
    if recipe.phone:
        columns["phone_hash"], columns["phone_masked"], columns["phone_status"] = ids.phone_columns(good[recipe.phone])
    for h in recipe.hashed:
        columns[h.output] = ids.hash_column(h.identifier_type, good[h.column])
    rows = build_rows(recipe.table, columns)
    pii, pii_file = ids.table(recipe.source, days, names)
    profiles = profile_file = None
    if recipe.profiles is not None:
        keep = recipe.profiles(good)
        chosen = pa.table({c: columns[c] for c in ("member_id", "delivery_date", "file_name", "line_no", "birthday")})
        profiles = chosen.filter(keep).cast(PII_TABLES["member_profiles"])
        profile_file = good["file"].filter(keep).to_numpy()

    # 5. one ParsedDay per delivery day (files are in day order, so each day is a slice)
    loaded = np.bincount(good_file, minlength=len(splits))
    out: dict[date, ParsedDay] = {}
    first = 0
    while first < len(splits):
        day = splits[first].ctx.delivery_date
        end = first
        while end < len(splits) and splits[end].ctx.delivery_date == day:
            end += 1
        loads = []
        for k in range(first, end):
            s = splits[k]
            loads.append(
                FileLoad(
                    s.ctx.file_name, day, s.ctx.sha256, s.encoding, s.rows_read, int(loaded[k]),
                    len(s.quarantine), s.quarantine.reasons(),
                )
            )
            if not loads[-1].reconciled:  # an internal error, never a data problem
                raise AssertionError(
                    f"{s.ctx.label}: read {s.rows_read} rows but loaded {int(loaded[k])} + "
                    f"quarantined {len(s.quarantine)}"
                )
        quarantined = [splits[k].quarantine.table(splits[k].ctx) for k in range(first, end) if len(splits[k].quarantine)]
        out[day] = ParsedDay(
            delivery_date=day,
            files=loads,
            rows=_files_slice(rows, good_file, first, end),
            quarantine=pa.concat_tables(quarantined) if quarantined else RAW_TABLES["quarantine"].empty_table(),
            pii=_files_slice(pii, pii_file, first, end),
            member_profiles=_files_slice(profiles, profile_file, first, end) if profiles is not None else None,
        )
        first = end
    return out


def _files_slice(table: pa.Table, file: np.ndarray, first: int, end: int) -> pa.Table:
    """The rows of files ``first`` … ``end - 1`` of a table ordered by file."""
    lo, hi = np.searchsorted(file, [first, end])
    return table.slice(int(lo), int(hi - lo))


def _empty_strings(recipe: Recipe) -> pa.Table:
    records = JsonRecords([], [], [], 0, "utf-8")
    extra = [recipe.items[0]] if recipe.items else []
    columns, _ = json_table(records, recipe.json_fields, PreReasons(0), extra_keys=extra)
    if recipe.items:
        columns["item_count"] = pa.array([], pa.int64())
    return pa.table(columns)


def parse_one(recipe: Recipe, path: Path, delivery_date: date, hasher: Hasher, tz: str) -> ParsedFile:
    """Parse a single landing file. Raises UnreadableFileError when nothing of it can be read."""
    days, unreadable = parse_files(recipe, [(Path(path), delivery_date)], hasher, tz)
    if unreadable:
        raise UnreadableFileError("; ".join(unreadable[delivery_date]))
    day = days[delivery_date]
    [load] = day.files
    return ParsedFile(**vars(load), source=recipe.source, table=recipe.table, parsed=day)


def build_rows(table: str, columns: dict[str, Any]) -> pa.Table:
    """A table with exactly the raw schema of ``table`` (column order and types)."""
    schema = RAW_TABLES[table]
    arrays = []
    for f in schema:
        arr = _combine(columns[f.name])
        arrays.append(arr.cast(f.type) if arr.type != f.type else arr)
    return pa.Table.from_arrays(arrays, schema=schema)


def quarantine_csv_rows(
    rejected: list[tuple[int, str]], records: CsvRecords, quarantine: Quarantine, personal_headers: Sequence[str]
) -> None:
    """Quarantine the rows the typing step rejected, raw text redacted by field."""
    idx = [records.header_index[k] for h in personal_headers if (k := _header_key(h)) in records.header_index]
    for line_no, reason in rejected:
        fields = records.fields(line_no)
        personal = [fields[i] for i in idx] if fields is not None else None
        quarantine.add(line_no, redact(records.raw(line_no), personal), reason)


def quarantine_json_rows(
    rejected: list[tuple[int, str]], records: JsonRecords, quarantine: Quarantine, personal_keys: Sequence[str]
) -> None:
    for line_no, reason in rejected:
        obj = records.obj(line_no) or {}
        quarantine.add(line_no, redact(records.raw(line_no), [obj.get(k) for k in personal_keys]), reason)
