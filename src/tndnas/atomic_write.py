"""Files written whole or not at all: a temporary file beside the target, renamed over it."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

from .signals import deferred


@contextmanager
def atomic_file(path: str | os.PathLike, mode: str = "w", fsync: bool = False) -> Iterator[IO[Any]]:
    """``with atomic_file(path, "wb") as f:`` -- ``f`` is a temporary file in ``path``'s folder,
    renamed over ``path`` when the block ends (``fsync``: forced to disk first); a process killed
    or failing mid-write leaves the old file (or none), never a partial one, and no temporary
    file."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with deferred():  # SIGTERM mid-write: the file is finished first, then the run stops
            with os.fdopen(fd, mode, **({} if "b" in mode else {"encoding": "utf-8"})) as f:
                yield f
                if fsync:
                    f.flush()
                    os.fsync(f.fileno())
            os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_text_atomic(path: str | os.PathLike, text: str) -> None:
    """``text`` into ``path`` whole or not at all (:func:`atomic_file`)."""
    with atomic_file(path) as f:
        f.write(text)
