"""docs/api.md's Python block runs as printed (in a temporary folder)."""

from __future__ import annotations

import json
import re
from pathlib import Path


def test_the_api_page_runs_as_printed(tmp_path, monkeypatch, capsys):
    page = (Path(__file__).parents[1] / "docs" / "api.md").read_text()
    (code,) = re.findall(r"```python\n(.*?)```", page, re.S)
    monkeypatch.chdir(tmp_path)
    exec(compile(code, "docs/api.md", "exec"), {"__name__": "api_doc"})
    out = capsys.readouterr().out
    assert "8 5 [{'normal': 0.4, 'reduce': 0.34}" in out  # the target set, the preset's drops
    summary = json.loads((tmp_path / "runs" / "api-search" / "summary.json").read_text())
    assert summary["refs"] and summary["refs"][0]["ref"] > 0
    family = json.loads((tmp_path / "runs" / "api-family" / "summary.json").read_text())
    assert [m["beta"] for m in family["family"]] == [-0.1, -1.5]
    trained = json.loads((tmp_path / "runs" / "api-train" / "summary.json").read_text())
    assert (trained["channels"], trained["layers"]) == (8, 5) and trained["test_error"] < 100


def test_tndnas_search_is_callable_after_its_package_is_imported(tmp_path):
    """`import tndnas.search.algorithm` makes `tndnas.search` the package: it still searches."""
    import tndnas
    import tndnas.search.algorithm  # noqa: F401 - what any other import of the package does

    from .tiny import tiny

    assert callable(tndnas.search)
    summary = tndnas.search(tiny("stages.*.epochs=1", "stages.*.pretrain_epochs=0"),
                            tmp_path / "r", progress=False, plots=False)  # fmt: skip
    assert (tmp_path / "r" / "summary.json").exists() and summary["genotype"]
