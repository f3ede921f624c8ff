"""``tndnas`` commands in child processes of their own (they can be killed, they can be ranks
of a group) without the seconds a fresh interpreter spends importing torch.  The child runs
:func:`tndnas.cli.main` and exits with its status.

Children come from a fork server (``multiprocessing``'s ``forkserver``) that has imported
tndnas once: a single-threaded process, so every fork is safe.  Forking the test process
itself is not: a pytest-xdist worker runs threads of its own (execnet's), and a fork copies
the locks those threads hold, which hung a child now and then; a process whose torch ran on
several threads would hang in its first parallel region too."""

from __future__ import annotations

import multiprocessing
import os
import sys
from pathlib import Path


def _run(argv: list[str], env: dict[str, str], log: str | None) -> None:
    os.environ.update(env)
    if "OMP_NUM_THREADS" in env:  # as a fresh interpreter would read it
        import torch

        torch.set_num_threads(int(env["OMP_NUM_THREADS"]))
    if log is not None:  # the child's stdout and stderr, for the test to read
        fd = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        os.dup2(fd, 1), os.dup2(fd, 2)
        # the test runner may have replaced sys.stdout and sys.stderr: write to the file itself
        sys.stdout = open(1, "w", buffering=1, closefd=False)  # noqa: SIM115
        sys.stderr = open(2, "w", buffering=1, closefd=False)  # noqa: SIM115
    import faulthandler

    faulthandler.dump_traceback_later(150, exit=True)  # a hung child shows where, and ends
    from tndnas.cli import main

    code = main(argv)
    sys.stdout.flush(), sys.stderr.flush()
    # at once: the exit handlers a fork inherits belong to the test process, not to this one
    os._exit(code)


_CONTEXT = None


def _context():
    """The fork server's context, its server started (importing tndnas) on first use."""
    global _CONTEXT
    if _CONTEXT is None:
        _CONTEXT = multiprocessing.get_context("forkserver")
        _CONTEXT.set_forkserver_preload(["tndnas.cli", "tests.forked"])
    return _CONTEXT


def start(argv: list[str], env: dict[str, str] | None = None, log: Path | None = None):
    """A started child running ``tndnas <argv>`` with ``env`` added to its environment."""
    proc = _context().Process(
        target=_run, args=(argv, env or {}, None if log is None else str(log))
    )
    proc.start()
    return proc


def run(argv: list[str], env: dict[str, str] | None = None, log: Path | None = None) -> int:
    """``tndnas <argv>`` in a forked child, to its end: its exit status."""
    proc = start(argv, env, log)
    proc.join()
    return proc.exitcode


def wait(proc, seconds: float, what: str) -> int:
    """Wait for ``proc`` to end (the event), at most ``seconds`` as a backstop; a child still
    running then is killed and the test fails naming ``what`` it waited for.  Its exit status."""
    import pytest

    proc.join(timeout=seconds)
    if proc.exitcode is None:
        proc.kill()
        proc.join()
        pytest.fail(f"gave up after {seconds:.0f} s waiting for {what} (pid {proc.pid})")
    return proc.exitcode
