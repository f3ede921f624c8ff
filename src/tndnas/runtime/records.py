"""What every run records and how it writes it: the environment, atomic JSON, run-folder errors."""

from __future__ import annotations

import json
import math
import os
import platform
import sys
import tempfile
from pathlib import Path
from typing import Any

import torch

from ..atomic_write import write_text_atomic
from ..errors import TndnasError


class RunDirError(TndnasError, RuntimeError):
    """A run directory that cannot be used as asked; the message says what to do."""


def first_line(err: BaseException) -> str:
    """The first line of an exception's message, or its type's name when it has none: what a
    one-sentence report of it shows."""
    text = str(err).strip()
    return text.splitlines()[0] if text else type(err).__name__


def _finite(obj: Any) -> Any:
    """``obj`` with every non-finite float (NaN, infinity) as None: strict JSON."""
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, dict):
        return {k: _finite(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_finite(v) for v in obj]
    return obj


def write_json_atomic(path: str | os.PathLike, obj: Any) -> None:
    """Strict JSON (NaN and infinity written as null) into a temporary file beside ``path``,
    then renamed over it; a failed write leaves neither a partial file nor the temporary one."""
    write_text_atomic(path, json.dumps(_finite(obj), indent=1, allow_nan=False) + "\n")


def read_finished_summary(path: Path, command: str) -> dict:
    """The ``summary.json`` of a finished run (what ``--resume`` of it returns); a damaged one
    is one sentence saying how to have it written again."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, ValueError):
        data = None
    if not isinstance(data, dict):
        raise RunDirError(
            f"{path} is damaged (not a JSON object); delete it and run tndnas {command} "
            f"--resume {path.parent} to write it again from the run's last checkpoint."
        )
    return data


def _cpu_model() -> str:
    """The CPU's model name (Linux: /proc/cpuinfo), else what the platform module says."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def environment(device: torch.device) -> dict[str, Any]:
    """Versions and device of this process (recorded with every run)."""
    import numpy

    from .. import __version__

    env = {
        "tndnas": __version__,
        "python": sys.version.split()[0],
        "torch": torch.__version__,
        "numpy": numpy.__version__,
        "platform": platform.platform(),
        "device": str(device),
        "cpu": _cpu_model(),
        "cpu_threads": torch.get_num_threads(),
    }
    if device.type == "cuda":
        env["gpu"] = torch.cuda.get_device_name(device)
        env["cuda"] = torch.version.cuda
    return env


def read_run_info(path: str | os.PathLike) -> dict:
    """A run's ``run.json`` as a dict; empty when the file is not there or cannot be read."""
    try:
        info = json.loads(Path(path).read_text())
    except (OSError, ValueError):
        return {}
    return info if isinstance(info, dict) else {}


def mark_run(path: str | os.PathLike, status: str, reason: str | None = None) -> None:
    """Record a run's ``status`` (``running``, ``finished``, ``failed``) and the ``reason`` it
    failed in its ``run.json``; nothing when the file is not there or cannot be read."""
    info = read_run_info(path)
    if not info:
        return
    info["status"] = status
    info.pop("failure", None)
    if reason is not None:
        info["failure"] = reason
    write_json_atomic(path, info)


def check_writable(path: str | os.PathLike, flag: str) -> None:
    """Before long work: refuse, in one sentence, an output file ``path`` (given as ``flag``)
    that could not be written at the end -- a folder, or a place that cannot be written."""
    path = Path(path)
    if path.is_dir():
        raise RunDirError(f"{flag} {path} is a folder; give the name of the file to write.")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=path.parent, prefix=f".{path.name}.", suffix=".probe"):
            pass
    except OSError as err:
        raise RunDirError(
            f"{flag} {path} cannot be written ({err.strerror or err}); choose a folder you "
            "can write."
        ) from None


def check_figure_path(path: str | os.PathLike, flag: str) -> None:
    """Before long work: refuse a figure file ``path`` (given as ``flag``) whose format the
    plotting library cannot write, or that could not be written."""
    from matplotlib.figure import Figure

    kinds = Figure().canvas.get_supported_filetypes()
    suffix = Path(path).suffix.lstrip(".").lower()
    if suffix not in kinds:
        raise RunDirError(
            f"{flag} {path}: '{suffix or '(no suffix)'}' is not a figure format matplotlib "
            f"writes; end the name with one of {', '.join('.' + k for k in sorted(kinds))}."
        )
    check_writable(path, flag)
