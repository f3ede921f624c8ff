"""Every `tndnas` command line printed in the README and docs/ is one the CLI accepts: its
flags parse, and for search, sweep and train its preset and `--set` keys load (a renamed flag or
config key in the docs fails here). Lines that are synopses (`[--flag ...]`) or elided (`...`)
are left out; what the commands then do is tested elsewhere (docs/datasets.md and docs/api.md run
as printed: tests/test_data.py, tests/test_api_doc.py)."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest

from tndnas.cli import build_parser
from tndnas.config import load_search_config, load_train_config

ROOT = Path(__file__).parents[1]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]


def _command_lines() -> list[tuple[str, str]]:
    """(page, command line after `tndnas`) of every printed tndnas command."""
    found = []
    for page in PAGES:
        for block in re.findall(r"```(?:bash)?\n(.*?)```", page.read_text(), re.S):
            for line in block.replace("\\\n", " ").splitlines():
                line = re.split(r" [>|] ", line.split(" # ")[0].strip())[0]
                m = re.match(r"^(?:\$ )?(?:\.venv/bin/)?tndnas (.*)$", line)
                if m and "[--" not in line and "..." not in line:
                    found.append((page.name, m.group(1)))
    return found


LINES = _command_lines()


def test_the_docs_print_enough_commands_to_check():
    assert len(LINES) >= 25, LINES  # the pattern still finds the pages' commands


@pytest.mark.parametrize(
    ("page", "line"), LINES, ids=[f"{p}:{i}" for i, (p, _) in enumerate(LINES)]
)
def test_a_printed_command_parses_and_its_config_loads(page, line):
    argv = shlex.split(line)
    args = build_parser().parse_args(argv)  # SystemExit (status 2) on a stale flag
    if args.command not in ("search", "sweep", "train") or getattr(args, "config", None):
        return
    if args.plugins or getattr(args, "resume", None):  # a plug-in of the reader's, a run of theirs
        return
    sets = list(getattr(args, "overrides", []))
    if args.command == "train":
        load_train_config(preset=args.preset or "quick", overrides=sets)
    else:
        load_search_config(preset=args.preset or "quick", overrides=sets)
