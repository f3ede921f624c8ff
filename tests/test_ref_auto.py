"""P chosen for the user: ``ref: auto`` (the median cost of random networks), ``tndnas info
--costs`` (the spread P is chosen from), and budgets that cannot bind or cannot be met."""

from __future__ import annotations

import json
import re
import statistics

import pytest
import yaml

from tndnas.cli import main
from tndnas.config import ConfigError
from tndnas.search import search
from tndnas.search.algorithm import Search
from tndnas.search.setup import cost_spread

from .tiny import tiny

AUTO = "stages.*.costs.0.ref=auto"


def test_ref_auto_is_the_median_of_random_networks_and_is_recorded(tmp_path, capsys):
    run = tmp_path / "auto"
    summary = search(tiny(AUTO), run, progress=False, plots=False)
    s = Search(tiny(AUTO), tmp_path / "again")  # a resume resolves the same P
    spread = cost_spread(s.cfg, s.space.candidate_ops(s.cfg.space), s.target,
                         {"params": s.costs["params"]}, s.cost_ctx)["params"]  # fmt: skip
    median = statistics.median(spread)
    assert [r["ref"] for r in summary["refs"]] == [median, median]  # both stages' terms
    assert all(r["cost"] == "params" and r["networks"] == 256 for r in summary["refs"])
    assert [st.costs[0].ref for st in s.cfg.stages] == [median, median]
    assert json.loads((run / "run.json").read_text())["refs"] == summary["refs"]
    saved = yaml.safe_load((run / "config.yaml").read_text())
    assert [st["costs"][0]["ref"] for st in saved["stages"]] == ["auto", "auto"]  # as given
    assert spread[0] < median < spread[-1]
    # tndnas info --costs RUN: the spread, and the P this run chose
    capsys.readouterr()
    assert main(["info", "--costs", str(run)]) == 0
    out = capsys.readouterr().out
    assert "costs of 256 random networks of space 'darts'" in out
    assert out.count(f"(this run's: {median:.4g})") == 2


def test_info_costs_of_a_preset_says_where_each_p_falls(capsys):
    assert main(["info", "--costs", "quick"]) == 0
    out = capsys.readouterr().out
    row = next(line for line in out.splitlines() if line.strip().startswith("params"))
    quantiles = [float(v) for v in re.findall(r"[\d.]+", row.split(")", 1)[1])]
    assert len(quantiles) == 5 and quantiles == sorted(quantiles)
    assert out.count("P = auto, beta = -0.3: the median, chosen when the search starts") == 3
    assert main(["info", "--costs", "quick", "--set", "stages.0.costs.0.ref=0.05"]) == 0
    assert "P = 0.05, beta = -0.3: above 0% of the random networks" in capsys.readouterr().out
    assert main(["info", "--costs", "quick", "--set", "stages.0.costs.0.ref=100"]) == 0
    assert "P = 100, beta = -0.3: above 100% of the random networks" in capsys.readouterr().out
    assert main(["info", "--costs", "no-such-thing"]) == 2
    assert "--costs takes a search preset" in capsys.readouterr().err


def test_a_budget_that_cannot_bind_or_cannot_be_met_is_said_once(tmp_path, capsys):
    budget = "stages.*.costs.0.beta_below=0"
    Search(tiny(budget, "stages.*.costs.0.ref=5.0"), tmp_path / "a")
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith(
        "tndnas: warning: stages.0.costs.0, stages.1.costs.0:"
    )
    assert "holds for every one of 256 random networks" in err[0] and "will not bind" in err[0]
    Search(tiny(budget, "stages.*.costs.0.ref=0.001"), tmp_path / "b")
    assert "holds for none of 256 random networks" in capsys.readouterr().err
    Search(tiny(budget, AUTO), tmp_path / "c")  # the median binds: nothing to say
    assert capsys.readouterr().err == ""


def test_a_ref_that_is_neither_a_number_nor_auto_is_one_sentence():
    with pytest.raises(ConfigError, match=r"stages.0.costs.0.ref='median' is invalid; give a"):
        tiny("stages.0.costs.0.ref=median")
