"""Regenerate the transcripts the docs quote, by running their commands (``make docs-figures``).

    python -m benchmarks.docs_figures [--only NAME,...] [--nb201-table FILE.csv] [--root DIR]
                                      [--work DIR] [--list]

A page marks each generated transcript with ``<!-- figure: NAME -->`` on the line above its
fenced block.  For every such block this script runs the recipe NAME (below: the commands a user
types, in a scratch folder, with the set-up a recipe needs made first and not shown), replaces
the block's body with what the commands printed (standard output and errors, as a terminal
shows them), and writes one line under the block saying which machine made it, when, at which
commit and in how many seconds.  Nothing in those blocks is typed by hand.

Recipes that need something this machine may lack (the NAS-Bench-201 table) are skipped with a
message when it is not given; ``--only`` runs some recipes (their set-up included).  The scratch
folder (``--work``) is emptied first: every figure comes from this run's commands.  A stamp's
seconds are the recipe's own commands (a set-up several recipes share is not counted);
``test-suite`` runs ``make test`` in this checkout.  A whole run
takes about 20 minutes on 2 CPU cores (the latency check and the test suite are most of it):
run it alone, as the timings it prints are the machine's.
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import shlex
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import torch

ROOT = Path(__file__).parents[1]
MARKER = re.compile(r"^<!-- figure: (?P<name>[\w-]+) -->$")
STAMP = "<sub>Made by `make docs-figures`"


def _env() -> dict[str, str]:
    """The commands' environment: this one, less a thread count (a sweep shares the cores out
    among its jobs itself, as it does for a user who sets none)."""
    env = {k: v for k, v in os.environ.items() if k != "OMP_NUM_THREADS"}
    return {**env, "COLUMNS": "200"}


@dataclass
class Context:
    """Where recipes run: a scratch folder shared by all of them (set-ups are made once)."""

    work: Path
    nb201_table: Path | None = None
    made: set[str] = field(default_factory=set)
    setup_seconds: float = 0.0  # spent on shared set-ups: left out of a recipe's own seconds

    def run(self, command: str, show: bool = True, ok: tuple[int, ...] = (0,)) -> str:
        """Run one ``tndnas ...`` command line as typed (this checkout's CLI) in the scratch
        folder; returns ``$ command`` and its output when ``show``."""
        argv = shlex.split(command)
        proc = subprocess.run([sys.executable, "-m", "tndnas.cli", *argv[1:]], cwd=self.work,
                              capture_output=True, text=True, env=_env())  # fmt: skip
        output = proc.stdout + proc.stderr
        if proc.returncode not in ok:
            raise SystemExit(
                f"docs-figures: '{command}' exited {proc.returncode}:\n{output[-3000:]}"
            )
        return f"$ {command}\n{output.rstrip()}" if show else ""

    def once(self, name: str, command: str) -> None:
        """A set-up step several recipes share, run the first time one needs it."""
        if name not in self.made:
            start = time.perf_counter()
            self.run(command, show=False)
            self.made.add(name)
            self.setup_seconds += time.perf_counter() - start


def _quick_search(ctx: Context) -> None:
    """The walk-through's search, as ``make demo`` runs it."""
    ctx.once("quick", "tndnas search --preset quick --out runs/quick")


def _latency_quick(ctx: Context) -> None:
    ctx.once("latency-quick", "tndnas latency-table --preset quick --out runs/latency-quick.json")


def info_pdarts(ctx: Context) -> str:
    return ctx.run("tndnas info pdarts --widths 16,24,36")


def info_latency(ctx: Context) -> str:
    _quick_search(ctx)
    _latency_quick(ctx)
    return ctx.run("tndnas info runs/quick --widths 8,16 --latency-table runs/latency-quick.json")


def dry_run(ctx: Context) -> str:
    # exit status 2: a stage does not fit on this machine, which is what the page shows
    return ctx.run(
        "tndnas search --preset paper-c10 --dataset synthetic-cifar10 --dry-run", ok=(0, 2)
    )


def latency_check(ctx: Context) -> str:
    return ctx.run(
        "tndnas latency-table --preset paper-c10 --check 100 --check-time 2 --out lat-c10.json"
    )


def sweep(ctx: Context) -> str:
    return ctx.run(
        "tndnas sweep --preset quick --betas 0,-0.5,-2 --jobs 2 --train-epochs 10 --out runs/sweep"
    )


def widths(ctx: Context) -> str:
    _quick_search(ctx)
    return ctx.run(
        "tndnas train --genotype runs/quick --preset quick --widths 8,16,24 --epochs 1 --out runs/family"
    )


def nb201_lookup(ctx: Context) -> str | None:
    if ctx.nb201_table is None:
        return None
    table = (
        ctx.work / ctx.nb201_table.name
    )  # the page shows the file's name, not this machine's path
    if not table.exists():
        table.symlink_to(ctx.nb201_table.resolve())
    cell = "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_1x1~2|"
    return ctx.run(f"tndnas nb201 '{cell}' --table {table.name}")


def demo(ctx: Context) -> str:
    """``make demo``'s search, run here on its own (not a shared set-up): what its summary says
    (the progress bar is not shown)."""
    import json

    start = time.perf_counter()
    ctx.run("tndnas search --preset quick --out runs/demo", show=False)
    seconds = time.perf_counter() - start
    summary = json.loads((ctx.work / "runs/demo/summary.json").read_text())
    stages, target = summary["stages"], summary["target_network"]
    return "\n".join([
        "$ make demo        # tndnas search --preset quick --out runs/quick (here --out runs/demo)",
        f"search {summary['seconds_total']:.0f} s of stages, {seconds:.0f} s for the whole command",
        "alpha entropy at each stage's end, of its maximum: "
        + " / ".join(f"{s['entropy_end_ratio']:.3f}" for s in stages),
        "ranking check, tau between two halves of the architecture data: "
        + " / ".join(f"{s['ranking_tau']:.2f}" for s in stages),
        f"found network ({target['channels']} channels x {target['layers']} cells): "
        f"{summary['params']:,} params, {summary['flops']:,} FLOPs per image",
    ])  # fmt: skip


def test_suite(ctx: Context) -> str:
    """``make test`` in this checkout: its last line and minutes."""
    start = time.perf_counter()
    proc = subprocess.run(["make", "test"], cwd=ROOT, capture_output=True, text=True, env=_env())
    minutes = (time.perf_counter() - start) / 60
    lines = proc.stdout.strip().splitlines()
    if proc.returncode or not lines:
        raise SystemExit(f"docs-figures: make test failed:\n{(proc.stdout + proc.stderr)[-3000:]}")
    return f"$ make test        # ruff, the import contracts, then pytest\n{lines[-1]} ({minutes:.1f} min in all)"


#: name -> recipe: returns the block's new text, or None when it cannot run here (skipped).
RECIPES: dict[str, Callable[[Context], str | None]] = {
    "info-pdarts": info_pdarts,
    "info-latency": info_latency,
    "dry-run": dry_run,
    "latency-check": latency_check,
    "sweep": sweep,
    "widths": widths,
    "nb201-lookup": nb201_lookup,
    "demo": demo,
    "test-suite": test_suite,
}


def figures_in(root: Path) -> list[tuple[Path, int, str]]:
    """Every ``<!-- figure: NAME -->`` block of README.md and docs/*.md: (page, line index of
    the marker, NAME)."""
    found = []
    for page in [root / "README.md", *sorted((root / "docs").glob("*.md"))]:
        if not page.exists():
            continue
        for i, line in enumerate(page.read_text().split("\n")):
            if m := MARKER.match(line.strip()):
                found.append((page, i, m.group("name")))
    return found


def machine() -> str:
    """This machine in a few words: CPU model, cores, memory, torch and its device."""
    model = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().split("\n"):
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory = ""
    try:
        meminfo = Path("/proc/meminfo").read_text().split("\n")
        kib = int(next(ln for ln in meminfo if ln.startswith("MemTotal")).split()[1])
        memory = f", {kib / 2**20:.0f} GiB"
    except (OSError, StopIteration, ValueError):
        pass
    gpu = f", {torch.cuda.get_device_name()}" if torch.cuda.is_available() else ", no GPU"
    return f"{model}, {os.cpu_count()} cores{memory}{gpu}, torch {torch.__version__}"


def _commit() -> str:
    try:
        out = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True
        )
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=ROOT,
                               capture_output=True, text=True).stdout.strip()  # fmt: skip
        return out.stdout.strip() + (" with local changes" if dirty else "")
    except OSError:
        return "unknown"


def replace_block(page: Path, marker_line: int, text: str, stamp: str) -> None:
    """The fenced block under the marker gets ``text``; the stamp line under it is replaced (or
    added)."""
    lines = page.read_text().split("\n")
    start = marker_line + 1
    end = next((j for j in range(start + 1, len(lines)) if lines[j].startswith("```")), None)
    if start >= len(lines) or not lines[start].startswith("```") or end is None:
        raise SystemExit(f"docs-figures: {page}:{marker_line + 1}: the figure marker must stand "
                         "just above a fenced block with its closing fence")  # fmt: skip
    after = end + 1  # the blank line and the stamp under the block, if there
    stamped = after + 1 < len(lines) and lines[after + 1].startswith(STAMP)
    keep_from = after + 2 if stamped else after
    new = [lines[start], *text.split("\n"), "```", "", stamp]
    if keep_from < len(lines) and lines[keep_from].strip():
        new.append("")  # the stamp is a paragraph of its own
    lines[start:keep_from] = new
    page.write_text("\n".join(lines))


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--only", default=None, help="comma-separated recipe names (default: all)")
    p.add_argument("--nb201-table", type=Path, default=os.environ.get("NB201_TABLE"),
                   help="the NAS-Bench-201 table (CSV) for the nb201-lookup figure (env NB201_TABLE)")  # fmt: skip
    p.add_argument("--root", type=Path, default=ROOT, help="the checkout whose pages are rewritten")
    p.add_argument(
        "--work", type=Path, default=ROOT / "runs" / "docs-figures", help="scratch folder"
    )
    p.add_argument("--list", action="store_true", help="list the pages' figures and exit")
    args = p.parse_args(argv)
    found = figures_in(args.root)
    unknown = sorted({name for _, _, name in found if name not in RECIPES})
    if unknown:
        raise SystemExit(
            f"docs-figures: no recipe for figure(s) {', '.join(unknown)}; known: {', '.join(RECIPES)}"
        )
    wanted = set(args.only.split(",")) if args.only else set(RECIPES)
    if bad := sorted(wanted - set(RECIPES)):
        raise SystemExit(
            f"docs-figures: unknown recipe(s) {', '.join(bad)}; known: {', '.join(RECIPES)}"
        )
    if args.list:
        for page, line, name in found:
            print(f"{page.relative_to(args.root)}:{line + 1}: {name}")
        return 0
    if args.work.exists():  # every figure from this run's commands, none read back
        shutil.rmtree(args.work)
    args.work.mkdir(parents=True)
    ctx = Context(args.work.resolve(), args.nb201_table)
    where, commit = machine(), _commit()
    done: dict[str, tuple[str, str]] = {}
    for page, line, name in reversed(found):  # from the end: earlier line numbers stay valid
        if name not in wanted:
            continue
        if name not in done:
            start, setups = time.perf_counter(), ctx.setup_seconds
            text = RECIPES[name](ctx)
            seconds = time.perf_counter() - start - (ctx.setup_seconds - setups)
            if text is None:
                print(f"{name}: skipped (needs the NAS-Bench-201 table: --nb201-table FILE)")
                done[name] = ("", "")
                continue
            when = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
            stamp = f"{STAMP} ({name}) on {where}, {when}, commit {commit}, {seconds:.0f} s.</sub>"
            done[name] = (text, stamp)
            print(f"{name}: {seconds:.0f} s")
        text, stamp = done[name]
        if text:
            replace_block(page, line, text, stamp)
    return 0


if __name__ == "__main__":
    from benchmarks import run_script

    raise SystemExit(run_script(main))
