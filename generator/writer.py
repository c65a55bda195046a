"""Writes rows into landing files: one file per (delivery day, key), rendered a chunk at a time."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pyarrow as pa

from generator import textfmt as T
from generator.world import Calendar

DEFECTS = {
    1: "unparseable amount 'ten'",
    2: "impossible order time",
    3: "missing order id",
    4: "unknown status",
    5: "wrong column count",
    6: "invalid JSON line",
    7: "unknown event type",
}
BOM = b"\xef\xbb\xbf"
CHUNK_ROWS = 200_000
RENDER_THREADS = 2

# (folder day, transform of the file body or None): where a file is written, and how
Writes = list[tuple[int, Callable[[bytes], bytes] | None]]


def encode(data: bytes, encoding: str) -> bytes:
    if encoding == "gb18030":
        return data.decode("utf-8").encode("gb18030")
    if encoding == "utf-8-sig":
        return BOM + data
    return data


class Writer:
    def __init__(self, out: Path, cal: Calendar) -> None:
        self.landing = out / "landing"
        self.cal = cal
        self.files = 0
        self.malformed: list[tuple[str, str, str, int, str]] = []

    def write_file(self, source: str, day: int, name: str, data: bytes) -> None:
        folder = self.landing / source / self.cal.date_str(day)
        folder.mkdir(parents=True, exist_ok=True)
        (folder / name).write_bytes(data)
        self.files += 1

    def emit(
        self,
        source: str,
        deliv: np.ndarray,
        key: np.ndarray,
        order: np.ndarray,
        render: Callable[[np.ndarray], pa.Array],
        name_of: Callable[[int, int], str],
        defect: np.ndarray,
        header: bytes = b"",
        encoding_of: Callable[[int], str] = lambda k: "utf-8",
        specials: dict[tuple[int, int], Writes] | None = None,
    ) -> None:
        """Rows ``order`` (sorted by delivery day, key, then line order) go to file (deliv, key)."""
        n = len(order)
        if n == 0:
            return
        d_sorted, k_sorted = deliv[order], key[order]
        change = np.flatnonzero((d_sorted[1:] != d_sorted[:-1]) | (k_sorted[1:] != k_sorted[:-1])) + 1
        starts = np.r_[0, change]
        ends = np.r_[change, n]
        first_line = 2 if header else 1
        chunks = []  # (first file, end file): consecutive files of about CHUNK_ROWS rows
        g = 0
        while g < len(starts):
            h = g + 1
            while h < len(starts) and ends[h] - starts[g] <= CHUNK_ROWS:
                h += 1
            chunks.append((g, h))
            g = h

        def rendered(chunk: tuple[int, int]) -> tuple[memoryview, np.ndarray]:
            return T.concat_buffer(render(order[int(starts[chunk[0]]): int(ends[chunk[1] - 1])]))

        # Arrow kernels release the GIL: render the next chunks on the other core while writing this one
        with ThreadPoolExecutor(max_workers=RENDER_THREADS) as pool:
            pending = [pool.submit(rendered, c) for c in chunks[:RENDER_THREADS]]
            for i, (g, h) in enumerate(chunks):
                data, off = pending[i].result()
                pending[i] = None  # free the chunk once written
                if i + RENDER_THREADS < len(chunks):
                    pending.append(pool.submit(rendered, chunks[i + RENDER_THREADS]))
                a = int(starts[g])
                for f in range(g, h):
                    s, e = int(starts[f]) - a, int(ends[f]) - a
                    body = bytes(data[int(off[s]): int(off[e])])
                    day, k = int(d_sorted[starts[f]]), int(k_sorted[starts[f]])
                    name = name_of(day, k)
                    enc = encoding_of(k)
                    for folder_day, transform in (specials or {}).get((day, k), [(day, None)]):
                        content = transform(body) if transform else body
                        self.write_file(source, folder_day, name, encode(header + content, enc))
                    rows = defect[order[int(starts[f]): int(ends[f])]]
                    for j in np.flatnonzero(rows):
                        self.malformed.append(
                            (source, self.cal.date_str(day), name, int(j) + first_line, DEFECTS[int(rows[j])]))
