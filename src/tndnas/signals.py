"""Termination signals as exceptions: what schedulers, ``timeout`` and ``torchrun`` send.

Python ends a process on SIGTERM or SIGHUP at once, without running ``finally`` blocks, so a run
stopped that way would leave ``run.json`` at ``running`` and a sweep's jobs running on as
orphans.  Inside :func:`signals_as_interrupts` those signals raise :class:`Terminated` instead,
a :class:`KeyboardInterrupt` (so every path that handles Ctrl-C handles them too): the run records
``interrupted`` with the signal's name, children are stopped, and the command exits with
128 + the signal's number, as a shell reports a process killed by it.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["Terminated", "deferred", "ignore_signals", "signals_as_interrupts"]

#: the signals turned into :class:`Terminated` (SIGINT is Python's KeyboardInterrupt already)
HANDLED = (signal.SIGTERM, signal.SIGHUP)


class Terminated(KeyboardInterrupt):
    """The process was asked to stop by a signal (SIGTERM, SIGHUP)."""

    def __init__(self, signum: int):
        self.signum = signum
        super().__init__(f"stopped by {signal.Signals(signum).name}")

    @property
    def exit_code(self) -> int:
        return 128 + self.signum


_deferring = 0  # depth of deferred() blocks in progress
_pending: int | None = None  # a signal that came during one, raised when the last one ends


def _raise(signum: int, frame: object) -> None:
    global _pending
    # once: a second signal while the first is being handled must not interrupt the clean-up
    for sig in HANDLED:
        signal.signal(sig, signal.SIG_IGN)
    if _deferring:
        _pending = signum
        return
    raise Terminated(signum)


@contextmanager
def deferred() -> Iterator[None]:
    """Within the block a termination signal is held, then raised as :class:`Terminated` when
    the block ends: a file being written whole (a checkpoint, weights) is finished first,
    instead of the signal turning into a failed write."""
    global _deferring, _pending
    _deferring += 1
    try:
        yield
    finally:
        _deferring -= 1
    if not _deferring and _pending is not None:
        signum, _pending = _pending, None
        raise Terminated(signum)


@contextmanager
def signals_as_interrupts() -> Iterator[None]:
    """Within the block, SIGTERM and SIGHUP raise :class:`Terminated` in the main thread (a
    no-op outside the main thread, where Python cannot install handlers)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    before = {sig: signal.getsignal(sig) for sig in HANDLED}
    for sig in HANDLED:
        if before[sig] is not signal.SIG_IGN:  # `nohup` asked for SIGHUP to be ignored: keep it
            signal.signal(sig, _raise)
    try:
        yield
    finally:
        for sig, handler in before.items():
            signal.signal(sig, handler)


def ignore_signals() -> None:
    """From now on (to the end of :func:`signals_as_interrupts`) SIGTERM and SIGHUP are
    ignored: the process is reporting or recording how it ends, which a signal must not cut
    short.  Only tndnas's own handlers are replaced: outside :func:`signals_as_interrupts`
    (tndnas used as a library) the program's handlers are left alone."""
    if threading.current_thread() is threading.main_thread():
        for sig in HANDLED:
            if signal.getsignal(sig) is _raise:
                signal.signal(sig, signal.SIG_IGN)
