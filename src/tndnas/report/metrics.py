"""The metrics log of a search run: one JSON object per line (``metrics.jsonl``).

Every record has a ``"kind"`` field (``"alpha"``, ``"epoch"``, ``"stage"``; see
:mod:`tndnas.report.plots` for the fields each kind carries).  The writer is append-only
and flushes every line, so a killed run leaves at most one partial final line, which
:func:`read_metrics` skips.  On resume, :meth:`MetricsLog.truncate_to` drops the records
written after the checkpoint that is being resumed.
"""

from __future__ import annotations

import json
import math
import os
import sys
import warnings
from pathlib import Path
from typing import Any

from ..atomic_write import atomic_file
from ..run_files import METRICS_FILE


def _plain(obj: Any) -> Any:
    """``obj`` as plain JSON types: numpy/torch scalars and arrays become numbers and lists,
    non-finite floats become ``null``."""
    if obj is None or isinstance(obj, (bool, str)):
        return obj
    if isinstance(obj, int):
        return int(obj)
    if isinstance(obj, float):
        return float(obj) if math.isfinite(obj) else None
    if isinstance(obj, dict):
        return {str(k): _plain(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_plain(v) for v in obj]
    if isinstance(obj, os.PathLike):
        return os.fspath(obj)
    if hasattr(obj, "tolist"):  # numpy scalars/arrays, torch tensors
        return _plain(obj.tolist())
    raise TypeError(
        f"metrics record holds a {type(obj).__name__} ({obj!r}); "
        "write numbers, strings, lists or dicts (convert it first)."
    )


class MetricsLog:
    """Append-only JSON-lines writer for ``metrics.jsonl``."""

    def __init__(self, path: str | os.PathLike):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._tail_checked = False

    def write(self, record: dict) -> None:
        """Append ``record`` as one line and flush it.

        Floats are written as plain JSON numbers (NaN/inf as ``null``); numpy and torch
        values are converted.  If the file ends in a partial line (a run killed while
        writing), that fragment is dropped first so the new record starts on its own line.
        """
        if not isinstance(record, dict):
            raise TypeError(f"a metrics record is a dict, got {type(record).__name__}")
        line = json.dumps(_plain(record), separators=(", ", ": "), allow_nan=False)
        if not self._tail_checked:
            self._drop_partial_tail()
            self._tail_checked = True
        with open(self.path, "a", encoding="utf-8") as f:
            f.write(line + "\n")
            f.flush()

    def count(self) -> int:
        """Number of complete (newline-terminated) lines in the file; 0 if it does not exist."""
        if not self.path.exists():
            return 0
        n = 0
        with open(self.path, "rb") as f:
            for chunk in iter(lambda: f.read(1 << 20), b""):
                n += chunk.count(b"\n")
        return n

    def truncate_to(self, n_lines: int) -> int:
        """Keep the first ``n_lines`` complete lines (all of them if there are fewer); returns
        how many were kept.

        Any partial final line is dropped too.  The file is replaced atomically (a temporary
        file in the same directory, then ``os.replace``).
        """
        if n_lines < 0:
            raise ValueError(f"truncate_to needs n_lines >= 0, got {n_lines}")
        kept: list[bytes] = []
        if self.path.exists():
            with open(self.path, "rb") as f:
                for raw in f:
                    if len(kept) >= n_lines or not raw.endswith(b"\n"):
                        break
                    kept.append(raw)
        self._atomic_write(b"".join(kept))
        self._tail_checked = True
        return len(kept)

    def resume_at(self, n_lines: int) -> None:
        """:meth:`truncate_to` for a resume at a checkpoint that counted ``n_lines`` records;
        fewer in the file (deleted or cut short) is said in one warning: they are lost."""
        kept = self.truncate_to(n_lines)
        if kept < n_lines:
            print(f"tndnas: warning: {self.path} holds {kept} of the {n_lines} records the "
                  "checkpoint counted (deleted or cut short): those are lost, so the plots and "
                  "the summary will lack them; the run goes on.", file=sys.stderr)  # fmt: skip

    def _drop_partial_tail(self) -> None:
        if not self.path.exists() or self.path.stat().st_size == 0:
            return
        with open(self.path, "rb") as f:
            f.seek(-1, os.SEEK_END)
            if f.read(1) == b"\n":
                return
        self.truncate_to(self.count())

    def _atomic_write(self, data: bytes) -> None:
        with atomic_file(self.path, "wb", fsync=True) as f:
            f.write(data)


class NoLog:
    """A :class:`MetricsLog` that writes nothing: the log of a process that is not rank 0."""

    def write(self, record: dict) -> None:
        pass

    def count(self) -> int:
        return 0

    def truncate_to(self, n_lines: int) -> int:
        return n_lines

    def resume_at(self, n_lines: int) -> None:
        pass


def read_metrics(path: str | os.PathLike) -> list[dict]:
    """All records of a metrics file (or of ``<run_dir>/metrics.jsonl``), in file order.

    A final line that does not parse (a run killed mid-write) is skipped silently; an
    unparsable line elsewhere, or a line that is not a JSON object, is skipped with a
    warning.  A missing file gives an empty list.
    """
    path = Path(path)
    if path.is_dir():
        path = path / METRICS_FILE
    if not path.exists():
        return []
    lines = path.read_text(encoding="utf-8", errors="replace").split("\n")
    while lines and not lines[-1].strip():
        lines.pop()
    records: list[dict] = []
    skipped: list[int] = []  # line numbers
    for i, line in enumerate(lines):
        if not line.strip():
            continue
        last = i == len(lines) - 1
        try:
            rec = json.loads(line)
        except json.JSONDecodeError:
            if not last:
                skipped.append(i + 1)
            continue
        if not isinstance(rec, dict):
            skipped.append(i + 1)
            continue
        records.append(rec)
    if skipped:  # one warning for the file, however many lines are damaged
        lines_text = (
            f"line {skipped[0]}"
            if len(skipped) == 1
            else f"{len(skipped)} lines (first: {skipped[0]})"
        )
        warnings.warn(f"{path}: {lines_text} skipped, not a JSON object each", stacklevel=2)
    return records
