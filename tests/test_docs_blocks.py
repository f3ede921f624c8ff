"""Every fenced block of the README and docs/ is accounted for: it runs here, in the order the
page prints it, at a tiny size (searches, sweeps and trainings shrunk by ``--set``; everything
else as printed), or the line above it says why not in an HTML comment:

    <!-- not run: a synopsis -->                 usage lines, not a command
    <!-- not run: needs a GPU (hours) -->         any reason, in words
    <!-- run by tests/test_api_doc.py -->         another test runs it as printed
    <!-- figure: NAME -->                         a transcript make docs-figures writes
    <!-- file: my_ops.py -->                      written to that file, for the blocks after it

and one line of a block that runs can end in ``# not run: why``.
A block added without a marker runs, so a page cannot gain an example that does not work.
Transcripts (``$ tndnas ...`` and its output) are written by ``make docs-figures``, which runs
their commands (a machine's figures, not checked here), and listings are marked."""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass
from pathlib import Path

import pytest

from tndnas.cli import main

from .tiny import TINY

ROOT = Path(__file__).parents[1]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
MARKER = re.compile(
    r"^<!-- (not run: (?P<why>.+?)|run by (?P<test>tests/\S+\.py)|figure: (?P<figure>[\w-]+)"
    r"|file: (?P<file>[\w.-]+)) -->$"
)

#: what makes each command tiny: added before the page's own arguments (its --set come later
#: and win), so the page's settings are the ones tested
#: the tiny stages with the quick preset's kind of drops, shares of the candidates: a page's own
#: op set of 3 ops (docs/extending.md) fits them as it fits the preset
DOCS_TINY = [s.replace("{normal: 4, reduce: 2}", "{normal: 0.4, reduce: 0.34}")
             .replace("{normal: 3, reduce: 2}", "{normal: 0.5, reduce: 0.5}") for s in TINY]  # fmt: skip
assert DOCS_TINY != TINY  # the drops above are still the ones TINY sets
TINY_ARGS = {
    "search": [a for s in DOCS_TINY for a in ("--set", s)],
    "sweep": [a for s in DOCS_TINY for a in ("--set", s)],
    "train": ["--epochs", "1", "--set", "max_steps_per_epoch=2"],
    # the tiny searches' target network, timed briefly, no whole networks timed to check it
    "latency-table": ["--min-time", "0.001", "--rounds", "1", "--check", "0",
                      *(a for s in TINY if s.startswith("target.") for a in ("--set", s))],
}  # fmt: skip


@dataclass
class Block:
    page: str
    line: int  # 1-based line of the opening fence
    lang: str
    body: str
    marker: re.Match | None

    @property
    def id(self) -> str:
        return f"{self.page}:{self.line}"


def _blocks() -> list[Block]:
    found = []
    for page in PAGES:
        lines = page.read_text().split("\n")
        i = 0
        while i < len(lines):
            m = re.match(r"^```(\w*)\s*$", lines[i])
            if not m:
                i += 1
                continue
            j = i + 1
            while not lines[j].startswith("```"):
                j += 1
            marker = MARKER.match(lines[i - 1].strip()) if i else None
            name = str(page.relative_to(ROOT))
            found.append(Block(name, i + 1, m.group(1), "\n".join(lines[i + 1 : j]), marker))
            i = j + 1
    return found


BLOCKS = _blocks()
RUN = [b for b in BLOCKS if b.marker is None]
FILES = [b for b in BLOCKS if b.marker is not None and b.marker.group("file")]


def test_every_block_runs_or_says_why_not():
    assert len(BLOCKS) >= 40  # the pattern still finds the pages' blocks
    for b in BLOCKS:
        if b.marker is not None and b.marker.group("test"):
            test = ROOT / b.marker.group("test")
            assert test.is_file(), f"{b.id}: {test} does not exist"
            assert Path(b.page).name in test.read_text(), f"{b.id}: {test} never reads the page"
    from benchmarks.docs_figures import RECIPES

    for b in BLOCKS:  # a transcript: written by benchmarks/docs_figures.py (make docs-figures)
        if b.marker is not None and b.marker.group("figure"):
            assert b.marker.group("figure") in RECIPES, f"{b.id}: no docs-figures recipe"
    for b in RUN:
        assert b.lang == "bash", (
            f"{b.id}: a {b.lang or 'plain'} block without a marker; mark it "
            "(<!-- not run: why -->) or make it a bash block of tndnas commands"
        )


def _commands(body: str) -> list[tuple[list[str], str | None]]:
    """The block's commands (continuation lines joined, comments dropped), each with the file
    its standard output is redirected to (``> FILE``), if any."""
    out = []
    for line in body.replace("\\\n", " ").split("\n"):
        line = line.strip()
        if not line or line.startswith("#") or "# not run:" in line:  # a line marked so
            continue
        argv = shlex.split(line, comments=True)
        assert argv[0] in ("tndnas", ".venv/bin/tndnas"), (
            f"'{line}' is not a tndnas command; mark the block (<!-- not run: why -->)"
        )
        redirect = argv[-1] if len(argv) > 2 and argv[-2] == ">" else None
        out.append((argv[1:-2] if redirect else argv[1:], redirect))
    return out


def _tiny(argv: list[str]) -> list[str]:
    """``argv`` with its command's tiny settings inserted after the command's name."""
    i = 0
    while argv[i].startswith("--"):  # global options before the command (--plugin FILE)
        i += 2
    return [*argv[: i + 1], *TINY_ARGS.get(argv[i], []), *argv[i + 1 :]]


PAGES_TO_RUN = sorted({b.page for b in RUN + FILES})


@pytest.mark.xdist_group("docs-blocks")
@pytest.mark.parametrize("page", PAGES_TO_RUN)
def test_a_pages_blocks_run_in_order_at_a_tiny_size(page, tmp_path, monkeypatch, capsys):
    """A page's unmarked blocks, in order, in one folder (a run the walk-through makes is the
    one its next command reads)."""
    monkeypatch.chdir(tmp_path)
    for block in (b for b in BLOCKS if b.page == page and (b in RUN or b in FILES)):
        if block in FILES:  # a file the page's next commands use (a plug-in)
            Path(block.marker.group("file")).write_text(block.body + "\n")
            continue
        for argv, redirect in _commands(block.body):
            code = main(_tiny(argv))
            out = capsys.readouterr()
            assert code == 0, f"{block.id}: tndnas {shlex.join(argv)} failed: {out.err[-2000:]}"
            if redirect:
                Path(redirect).write_text(out.out)


def test_docs_figures_rewrites_a_transcript_from_its_commands(tmp_path, capsys):
    """make docs-figures replaces a marked block with what its commands print now, and stamps
    it with machine, date and commit; text around it stays; an unknown figure is refused."""
    from benchmarks.docs_figures import STAMP
    from benchmarks.docs_figures import main as docs_figures

    (tmp_path / "docs").mkdir()
    page = tmp_path / "docs" / "p.md"
    page.write_text("before\n\n<!-- figure: info-pdarts -->\n```\nstale figures\n```\n\nafter\n")
    argv = ["--root", str(tmp_path), "--work", str(tmp_path / "work"), "--only", "info-pdarts"]
    assert docs_figures(argv) == 0
    text = page.read_text()
    assert (
        "stale figures" not in text and text.startswith("before\n") and text.endswith("\nafter\n")
    )
    assert "$ tndnas info pdarts --widths 16,24,36\n" in text and "3,433,798" in text
    assert text.count(STAMP) == 1 and "cores" in text and "torch " in text
    assert docs_figures(argv) == 0  # again: the stamp is replaced, not added
    assert page.read_text().count(STAMP) == 1
    page.write_text("<!-- figure: no-such-recipe -->\n```\n```\n")
    with pytest.raises(SystemExit, match="no recipe for figure"):
        docs_figures(argv)
