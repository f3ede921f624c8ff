"""One process per run directory: an OS-level lock that the kernel releases when its holder
exits or dies, so a killed run never leaves a stale lock behind."""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import TracebackType

from ..signals import ignore_signals
from .records import RunDirError, first_line, mark_run

LOCK_NAME = ".lock"


class RunLock:
    """``with RunLock(run_dir):`` -- held for the whole run; a second process on the same
    directory is refused in one sentence that names the holder's PID."""

    def __init__(self, run_dir: str | os.PathLike, command: str, enabled: bool = True):
        self.path = Path(run_dir) / LOCK_NAME
        self.command = command
        self.enabled = enabled  # False: a process that is not rank 0 (rank 0 locks for all)
        self._fd: int | None = None

    @property
    def held(self) -> bool:
        return self._fd is not None

    def acquire(self) -> None:
        if not self.enabled or self.held:
            return
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 64, 0).decode(errors="replace").strip() or "unknown"
            os.close(fd)
            raise RunDirError(
                f"{self.path.parent} is in use by another tndnas process (PID {holder}); wait "
                f"for it to finish or stop it, then run tndnas {self.command} again."
            ) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, str(os.getpid()).encode(), 0)
        self._fd = fd

    def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)  # closing the descriptor releases the lock
            self._fd = None

    def __enter__(self) -> RunLock:
        self.acquire()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        err: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.release()


@contextmanager
def locked_run(
    run_dir: str | os.PathLike, command: str, run_info: str | os.PathLike, enabled: bool = True
) -> Iterator[RunLock]:
    """The lock of a run, to ``acquire()`` once its directory exists; when the body ends, the
    run's ``run.json`` records how (``finished``, or ``failed``/``interrupted`` with the
    reason) -- only if this process held the lock, so a refused second process never touches
    the run it was refused."""
    lock = RunLock(run_dir, command, enabled)
    try:
        yield lock
    except BaseException as err:
        ignore_signals()  # the run is ending: a SIGTERM now (torchrun's) must not cut its record
        if lock.held:
            stopped = isinstance(err, KeyboardInterrupt)
            mark_run(run_info, "interrupted" if stopped else "failed", first_line(err))
        elif not enabled:
            _record_for_a_lost_main(run_dir, command, run_info, err)
        raise
    else:
        if lock.held:
            mark_run(run_info, "finished")
    finally:
        lock.release()


def _record_for_a_lost_main(
    run_dir: str | os.PathLike, command: str, run_info: str | os.PathLike, err: BaseException
) -> None:
    """A process that is not rank 0 and lost its peers: if rank 0 is gone too (its lock is
    free), record in ``run.json`` how the run ended, as rank 0 would have."""
    from .distributed import PeerLostError

    if not isinstance(err, PeerLostError) or not Path(run_info).exists():
        return
    lock = RunLock(run_dir, command)
    try:
        lock.acquire()
    except (RunDirError, OSError):  # rank 0 holds it (it records the end itself), or no folder
        return
    try:
        mark_run(run_info, "failed", first_line(err))
    finally:
        lock.release()
