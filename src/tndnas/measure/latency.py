"""Inference latency of an evaluation network, predicted from a per-piece latency table (ms).

The latency of every piece of the evaluation network (:mod:`tndnas.spaces.darts.pieces`) is
measured once on the device that matters -- the deployment device if it runs PyTorch, or the
search machine -- and stored as a JSON table (``tndnas latency-table``).  A genotype's latency
is then predicted as the sum of its pieces' latencies: microseconds a lookup, so the search
can put latency into its reward (the ``latency_ms`` cost) without timing a network per sample.
This is the lookup-table method of hardware-aware NAS; the sum ignores what a whole network
adds or saves beyond its pieces (caches, kernel-launch overlap), so ``tndnas latency-table
--check N`` times N random networks end to end and reports how well the sum ranks and
matches them.

Latency here is inference of one batch of ``batch_size`` images, the median of
``torch.utils.benchmark.Timer.blocked_autorange``, run by a backend
(:mod:`tndnas.measure.latency_backends`): eager PyTorch (``module.eval()``,
``torch.inference_mode()``, BatchNorm not folded) or ONNX Runtime.
"""

from __future__ import annotations

import dataclasses
import json
import math
import statistics
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import torch
from torch import nn

from ..config import ConfigError
from ..macro import Macro
from .latency_backends import get_latency_backend
from .pieces import PieceTable

FORMAT = "tndnas-latency-table"
VERSION = 1
MACRO_FIELDS = tuple(f.name for f in dataclasses.fields(Macro))  # what a table was measured for


class LatencyTableError(ConfigError):
    """A latency table that is missing, malformed, or made for another network or op set."""


def _describe(macro: Macro) -> str:
    return (
        f"{macro.channels} channels x {macro.layers} cells, {macro.steps} steps, "
        f"{macro.in_channels}x{macro.image_size}x{macro.image_size} inputs, {macro.num_classes} classes"
    )


class LatencyTable(PieceTable):
    """Per-piece forward latency (ms) of the final network of one :class:`Macro`; a space's
    subclass says what the pieces of a genotype are (:class:`~tndnas.spaces.darts.latency.DartsLatencyTable`).

    Made by measuring (:meth:`measure_space`, or lazily by :meth:`latency_ms`) on ``device``,
    or read from a file (:meth:`load`); a table read from a file only looks up, and a piece it
    lacks is an error naming the piece.
    """

    zero = (0.0,)

    def __init__(
        self,
        macro: Macro,
        *,
        device: str | torch.device = "cpu",
        batch_size: int = 1,
        threads: int | None = None,
        channels_last: bool = False,
        min_run_time: float = 0.05,
        backend: str = "torch",
    ):
        super().__init__(macro)
        get_latency_backend(backend)  # an unknown name stops here, in one sentence
        self.backend = backend
        self.device = torch.device(device)
        self.batch_size = batch_size
        self.threads = threads or torch.get_num_threads()
        self.channels_last = channels_last
        self.min_run_time = min_run_time
        self._empty_calls: dict[tuple[int, ...], float] = {}  # ms per input shape, this round
        self.source: str | None = None  # the file it was read from
        # latency_ms = scale * (sum of pieces) + offset_ms, fitted on networks timed whole
        # (tndnas latency-table --calibrate); none: the plain sum
        self.calibration: dict[str, Any] | None = None
        self.info: dict[str, Any] = {}  # where it was measured (filled by tndnas latency-table)

    # ------------------------------------------------------------------ measuring
    def _runner(self, module: nn.Module, shape: tuple[int, ...]) -> Callable[[], Any]:
        """``run()``: one inference forward of ``module`` on a batch of ``shape``, prepared once
        (for ONNX Runtime: exported and loaded once), warmed up."""
        module = module.eval().to(self.device)
        x = torch.randn((self.batch_size, *shape[1:]), device=self.device)
        if self.channels_last and x.dim() == 4:
            module = module.to(memory_format=torch.channels_last)
            x = x.contiguous(memory_format=torch.channels_last)
        run = get_latency_backend(self.backend).runner(module, x, self.threads)
        with torch.inference_mode():
            for _ in range(3):  # warm-up: allocator, kernel selection
                run()
        return run

    def _time_run(self, run: Callable[[], Any], min_run_time: float | None = None) -> float:
        """Median milliseconds of ``run()``."""
        from torch.utils.benchmark import Timer

        timer = Timer(stmt="run()", globals={"run": run}, num_threads=self.threads)
        with torch.inference_mode():
            t = timer.blocked_autorange(min_run_time=min_run_time or self.min_run_time)
        return t.median * 1e3

    def _timed(
        self, module: nn.Module, shape: tuple[int, ...], min_run_time: float | None = None
    ) -> float:
        """Median milliseconds of one inference forward of ``module`` on a batch of ``shape``."""
        return self._time_run(self._runner(module, shape), min_run_time)

    def _empty_call_ms(self, shape: tuple[int, ...]) -> float:
        """A backend call that computes nothing, on an input of ``shape``: timed once per shape
        and round (many pieces share a shape)."""
        if shape not in self._empty_calls:
            self._empty_calls[shape] = self._timed(nn.Identity(), shape)
        return self._empty_calls[shape]

    def measure(self, module: nn.Module, shape: tuple[int, ...]) -> tuple[float]:
        ms = self._timed(module, shape)
        if get_latency_backend(self.backend).one_call:  # less the fixed cost of a call
            ms = max(ms - self._empty_call_ms(shape), 0.0)
        return (ms,)

    def _call_ms(self) -> float:
        """One backend call per network (``Backend.one_call``), else nothing: the ``call`` piece."""
        if not get_latency_backend(self.backend).one_call:
            return 0.0
        m = self.macro
        shape = (1, m.in_channels, m.image_size, m.image_size)
        if "call" not in self.pieces and self.source is None:  # measured as is, nothing less
            self.pieces["call"] = (self._empty_call_ms(shape),)
        return self.piece("call", nn.Identity, shape)[0]

    def piece(
        self, key: str, build: Callable[[], nn.Module], shape: tuple[int, ...]
    ) -> tuple[float, ...]:
        """As :meth:`PieceTable.piece`; a table read from a file only looks up."""
        if self.source is not None and key not in self.pieces:
            raise LatencyTableError(
                f"the latency table {self.source} has no entry for the piece '{key}' (an op or "
                "shape it was not measured for); measure one for this search's op sets and "
                "target network with tndnas latency-table."
            )
        return super().piece(key, build, shape)

    def measure_space(self, ops: Mapping[str, Sequence[str]], rounds: int = 1) -> None:
        """Measure every piece any genotype over ``ops`` can use; with ``rounds`` > 1 every
        piece is measured once per round, the rounds one after another, and its median kept,
        so that a machine whose speed drifts during the measurement shifts all pieces alike."""
        if self.source is not None or rounds <= 1:
            super().measure_space(ops)
            self._call_ms()
            return
        seen: dict[str, list[float]] = {}
        for _ in range(rounds):
            self._forget()
            super().measure_space(ops)
            self._call_ms()
            for k, v in self.pieces.items():
                seen.setdefault(k, []).append(v[0])
        self._forget()
        self.pieces = {k: (statistics.median(v),) for k, v in seen.items()}

    def _forget(self) -> None:
        """Drop every measured piece and every sum made from them."""
        self.pieces = {}
        self._empty_calls = {}
        self.clear_sums()

    def pieces_ms(self, genotype: Any) -> float:
        """The sum of the pieces of the final network of ``genotype``, ms (uncalibrated)."""
        return self.total(genotype)[0] + self._call_ms()

    def latency_ms(self, genotype: Any) -> float:
        """Predicted inference latency of the final network of ``genotype`` at the table's
        macro (:meth:`network`), ms (auxiliary head excluded: it does not run in inference):
        the sum of its pieces, calibrated when the table holds a calibration."""
        ms = self.pieces_ms(genotype)
        if self.calibration:
            ms = self.calibration["scale"] * ms + self.calibration["offset_ms"]
        return ms

    def network_runner(self, genotype: Any) -> Callable[[], Any]:
        """``run()``: one inference forward of the built final network (:meth:`network`), built
        (and exported) once and warmed up, for :meth:`time_block`."""
        m = self.macro
        return self._runner(self.network(genotype), (1, m.in_channels, m.image_size, m.image_size))

    def reference_runner(self) -> Callable[[], Any]:
        """``run()``: a fixed workload whose time tracks the machine's speed while networks are
        timed whole (one 3x3 convolution at the network's width and input size)."""
        m = self.macro
        with torch.random.fork_rng(devices=[]):  # its weights do not move the run's stream
            conv = nn.Conv2d(m.channels, m.channels, 3, padding=1)
        return self._runner(conv, (1, m.channels, m.image_size, m.image_size))

    def time_block(self, run: Callable[[], Any], runs: int) -> float:
        """Milliseconds per call of ``runs`` consecutive calls of ``run()`` (on the table's
        threads; a GPU is synchronized before and after)."""
        cuda = self.device.type == "cuda"
        threads = torch.get_num_threads()
        torch.set_num_threads(self.threads)
        try:
            with torch.inference_mode():
                if cuda:
                    torch.cuda.synchronize(self.device)
                start = time.perf_counter()
                for _ in range(runs):
                    run()
                if cuda:
                    torch.cuda.synchronize(self.device)
                return (time.perf_counter() - start) * 1e3 / runs
        finally:
            torch.set_num_threads(threads)

    def measure_network(self, genotype: Any, min_run_time: float | None = None) -> float:
        """Measured inference latency of the built final network (:meth:`network`), ms, as the
        pieces are measured (median of blocks of repeated runs for ``min_run_time`` seconds,
        default the table's).  Several networks to compare: time them together with
        :func:`~tndnas.objectives.latency_check.time_networks`."""
        return self._time_run(self.network_runner(genotype), min_run_time)

    # ------------------------------------------------------------------ files
    def to_dict(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "version": VERSION,
            "space": self.space,
            "unit": "ms",
            "macro": {f: getattr(self.macro, f) for f in MACRO_FIELDS},
            "batch_size": self.batch_size,
            "threads": self.threads,
            "channels_last": self.channels_last,
            "backend": self.backend,
            "dtype": "float32",
            "info": self.info,
            "calibration": self.calibration,
            "pieces": {k: v[0] for k, v in sorted(self.pieces.items())},
        }

    @classmethod
    def load(cls, path: str | Path, expect: Macro | None = None) -> LatencyTable:
        """Read a table written by ``tndnas latency-table``; with ``expect``, refuse a table
        measured for another network."""
        path = Path(path)
        try:
            data = json.loads(path.read_text())
        except FileNotFoundError:
            raise LatencyTableError(
                f"latency table {path} does not exist; measure one with tndnas latency-table "
                f"--out {path} (same preset and target as the search)."
            ) from None
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
            raise LatencyTableError(
                f"latency table {path} cannot be read ({err}); measure it again with tndnas latency-table."
            ) from None
        if not isinstance(data, dict) or data.get("format") != FORMAT:
            raise LatencyTableError(
                f'{path} is not a tndnas latency table (no "format": "{FORMAT}"); '
                "make one with tndnas latency-table."
            )
        space = data.get("space", "darts")
        if space != cls.space:
            raise LatencyTableError(
                f"latency table {path} was measured for the search space '{space}', not "
                f"'{cls.space}'; measure one for this search with tndnas latency-table."
            )
        if data.get("version") != VERSION:
            raise LatencyTableError(
                f"latency table {path} has version {data.get('version')!r}, this tndnas reads "
                f"version {VERSION}; measure it again with tndnas latency-table."
            )
        try:
            macro = Macro(**{f: data["macro"][f] for f in MACRO_FIELDS})
            pieces = data["pieces"]
            bad = [k for k, v in pieces.items() if not _is_ms(v)]
            table = cls(
                macro,
                batch_size=int(data["batch_size"]),
                threads=int(data["threads"]),
                channels_last=bool(data["channels_last"]),
                backend=str(data.get("backend", "torch")),
            )
        except (KeyError, TypeError, ValueError, AttributeError) as err:
            raise LatencyTableError(
                f"latency table {path} is malformed ({type(err).__name__}: {err}); "
                "measure it again with tndnas latency-table."
            ) from None
        if bad:
            raise LatencyTableError(
                f"latency table {path} has {len(bad)} entries that are not finite, non-negative "
                f"milliseconds (first: '{bad[0]}'); measure it again with tndnas latency-table."
            )
        if expect is not None and not table.fits(expect):
            raise LatencyTableError(
                f"latency table {path} was measured for {_describe(macro)}, but this run's "
                f"target network has {_describe(expect)}; measure a table for the target with "
                "tndnas latency-table (same preset and --set options)."
            )
        table.calibration = _calibration(data.get("calibration"), path)
        table.pieces = {k: (float(v),) for k, v in pieces.items()}
        table.info = dict(data.get("info") or {})
        table.source = str(path)
        return table

    def check_covers(self, ops: Mapping[str, Sequence[str]]) -> None:
        """Raise :class:`LatencyTableError` unless every genotype over ``ops`` can be looked up."""
        self.measure_space(ops)


def _calibration(data: Any, path: Path) -> dict[str, Any] | None:
    """A table's calibration as read from its file: none, or a positive finite ``scale`` and a
    finite ``offset_ms``."""
    if data is None:
        return None
    ok = isinstance(data, dict) and all(
        isinstance(data.get(k), (int, float)) and math.isfinite(data[k])
        for k in ("scale", "offset_ms")
    )
    if not ok or data["scale"] <= 0:
        raise LatencyTableError(
            f'latency table {path} has a malformed "calibration" (it needs a positive "scale" '
            'and a finite "offset_ms"); remove it, or calibrate again with tndnas latency-table.'
        )
    return dict(data)


def _is_ms(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) and v >= 0


def rank_correlation(a: list[float], b: list[float]) -> float:
    """Spearman's rank correlation of two equally long lists (ties broken by position)."""
    if len(a) != len(b) or len(a) < 2:
        raise ValueError("rank_correlation needs two lists of the same length, at least 2")
    ra = torch.tensor(a).argsort().argsort().double()
    rb = torch.tensor(b).argsort().argsort().double()
    ra, rb = ra - ra.mean(), rb - rb.mean()
    return float((ra * rb).sum() / (ra.norm() * rb.norm()))
