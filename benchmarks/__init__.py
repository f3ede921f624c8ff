"""Benchmark scripts: each ``python -m benchmarks.NAME --help`` says what it measures."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any


def run_script(main: Callable[[], Any]) -> int:
    """A benchmark's command-line entry: ``main()``'s result, or for the user's input (a wrong
    key, a missing file, a run directory already in use) one line on stderr and exit status 2,
    as the ``tndnas`` commands do."""
    from tndnas.errors import TndnasError
    from tndnas.runtime.records import first_line

    try:
        result = main()
    except (TndnasError, FileNotFoundError) as err:
        sys.stderr.write(f"{Path(sys.argv[0]).name}: error: {first_line(err)}\n")
        return 2
    return result if isinstance(result, int) else 0
