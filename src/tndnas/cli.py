"""The ``tndnas`` command."""

from __future__ import annotations

import argparse
import os
import sys
import warnings
from collections.abc import Sequence
from typing import NoReturn

from . import __version__
from .commands import (
    bench_tabular,
    config,
    export,
    info,
    latency,
    nb201,
    plot,
    search,
    sweep,
    train,
)
from .commands.options import NEGATIVE_NUMBER
from .errors import TndnasError
from .plugins import env_plugins, plugin_scope, run_plugins


def _out_of_memory(err: BaseException) -> bool:
    """Whether ``err`` says that memory ran out (a tensor too large for the device or the host)."""
    text = str(err).lower()
    return isinstance(err, MemoryError) or any(
        w in text for w in ("out of memory", "can't allocate memory", "cannot allocate memory")
    )


class OneLineParser(argparse.ArgumentParser):
    """Command-line mistakes in one line (no usage block), pointing at the command's --help."""

    def error(self, message: str) -> NoReturn:
        # one prefix: the command is named by the help it points to
        self.exit(2, f"tndnas: error: {message}; see `{self.prog} --help`.\n")


def build_parser() -> argparse.ArgumentParser:
    parser = OneLineParser(
        prog="tndnas",
        description="Multi-objective neural architecture search (TND-NAS): REINFORCE over a progressive supernet.",
    )
    parser.add_argument("--version", action="version", version=f"tndnas {__version__}")
    parser.add_argument(
        "--plugin",
        dest="plugins",
        action="append",
        default=[],
        metavar="MODULE",
        help="import a module (or .py file) that registers ops, op sets, costs or datasets "
        "before the command runs; repeatable; recorded in the run's config",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for module in (info, search, plot, train, export, sweep, latency, nb201, bench_tabular, config):
        module.add_parser(sub)
    for command in sub.choices.values():  # '--betas -0.1,-2', '--seed -4': values, every command
        command._negative_number_matcher = NEGATIVE_NUMBER
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "run", None):
        parser.print_help()
        return 2
    with warnings.catch_warnings():
        warnings.showwarning = _one_line_warning
        code = _run(args)
    if int(os.environ.get("WORLD_SIZE", "1") or 1) > 1:  # a torchrun rank: its work is done
        from .runtime.distributed import leave_now

        # and written (or it stopped: a lost peer, a signal); the interpreter's teardown of
        # torch.distributed's C++ state can abort (SIGABRT) or hang, so a rank ends here, its
        # output flushed
        leave_now(code)
    return code


def _one_line_warning(message, category, filename, lineno, file=None, line=None) -> None:
    """A warning as one line, as the command's other messages are (not file, line and source)."""
    print(f"tndnas: warning: {message}", file=sys.stderr if file is None else file)


def _run(args: argparse.Namespace) -> int:
    from .signals import Terminated, signals_as_interrupts

    # the handlers stay while an error is reported: SIGTERM then (torchrun sends it when a peer
    # fails) ends the report in one line too, instead of killing the process mid-sentence
    with signals_as_interrupts():
        try:
            return _run_and_report(args)
        except Terminated as err:  # also one that came while another error was reported
            print(f"tndnas: {err}", file=sys.stderr)
            return err.exit_code


def _run_and_report(args: argparse.Namespace) -> int:
    from .signals import Terminated, ignore_signals

    try:
        # plug-ins: the environment's, --plugin's, and those recorded by the runs the command reads
        runs = [getattr(args, attr) for attr in getattr(args, "reads_runs", ())]
        recorded = [p for run in runs if run for p in run_plugins(run)]
        with plugin_scope([*env_plugins(), *args.plugins, *recorded]):
            return int(args.run(args) or 0)
    except (TndnasError, FileNotFoundError) as err:  # the user's input: one line, status 2
        from .runtime.records import first_line

        ignore_signals()  # one report: a SIGTERM now (torchrun's, after a lost peer) adds none
        msg = first_line(err)
        # one write: under torchrun other processes share this stream, and the line stays whole
        sys.stderr.write(f"tndnas: error: {msg}\n")
        sys.stderr.flush()
        return 2  # a torchrun rank then leaves at once (main): no clean-up of a broken group
    except Terminated:
        raise  # reported by _run
    except KeyboardInterrupt:
        print("tndnas: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # output piped into e.g. `head`, which stopped reading
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())  # no second error when Python flushes stdout
        return 141  # as a process killed by SIGPIPE
    except (MemoryError, RuntimeError) as err:  # torch.OutOfMemoryError is a RuntimeError
        from .runtime.records import first_line

        if not _out_of_memory(err):
            raise
        print(f"tndnas: error: out of memory ({first_line(err)[:160]}); use a smaller width "
              "(channels), depth (layers) or batch, or a device with more memory.",
              file=sys.stderr)  # fmt: skip
        return 2
    except OSError as err:  # a path that is not a folder, not writable, a full disk ...
        where = f"{err.filename}: " if err.filename else ""
        print(f"tndnas: error: {where}{err.strerror or err}; choose a path you can read or "
              "write (a folder, on a disk with free space) and run the command again.",
              file=sys.stderr)  # fmt: skip
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
