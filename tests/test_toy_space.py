"""A third search space, with its own cell type, added by one plug-in module and one
registration (tests/plugins/chainspace.py): its latency table is measured, a latency-budgeted
search shrinks and derives it, and the found network trains and exports, with no edit of
tndnas."""

from __future__ import annotations

import json
from pathlib import Path

import yaml

from tests.tiny import TINY_SEARCH
from tndnas.cli import main

PLUGIN = str(Path(__file__).parent / "plugins" / "chainspace.py")
SETS = [*TINY_SEARCH, "space.name=toy-chain", "space.ops=conv_3x3,skip_connect,max_pool_3x3",
        "target.channels=4", "target.layers=3"]  # fmt: skip


def _sets(*extra: str) -> list[str]:
    return [a for s in [*SETS, *extra] for a in ("--set", s)]


def test_a_plugin_space_with_its_own_cell_type_is_searched_trained_and_exported(tmp_path, capsys):
    table = tmp_path / "latency.json"
    argv = ["--plugin", PLUGIN, "latency-table", "--preset", "quick", *_sets(), "--rounds", "1",
            "--min-time", "0.002", "--out", str(table)]  # fmt: skip
    assert main(argv) == 0
    data = json.loads(table.read_text())
    assert data["space"] == "toy-chain" and data["macro"]["channels"] == 4
    assert {"op conv_3x3 4c stride1 8px", "op max_pool_3x3 4c stride1 8px", "stem 4c"} <= set(
        data["pieces"]
    )
    assert "op conv_1x1 4c stride1 8px" not in data["pieces"]  # not among space.ops

    run = tmp_path / "search"
    stages = ("stages=[{layers: 3, epochs: 2, pretrain_epochs: 1, drop: {block: 2}, costs: "
              "[{cost: latency_ms, ref: 1.0, beta: -0.3}]}, {layers: 3, epochs: 2, "
              "pretrain_epochs: 0, costs: [{cost: latency_ms, ref: 1.0, beta: -0.3}]}]")  # fmt: skip
    argv = ["--plugin", PLUGIN, "search", "--preset", "quick", "--out", str(run), "--no-progress",
            *_sets(stages, f"reward.latency_table={table}")]  # fmt: skip
    assert main(argv) == 0
    alpha = [json.loads((run / "alpha" / f"stage{k}_epoch001.json").read_text()) for k in (0, 1)]
    # the space's own key (space.ops) gave 3 candidates; the drop of Eq. 11 left one
    assert [len(alpha[k]["block"]["ops"][0]) for k in (0, 1)] == [3, 1]
    saved = yaml.safe_load((run / "config.yaml").read_text())["space"]
    assert saved == {
        "ops": "conv_3x3,skip_connect,max_pool_3x3",
        "name": "toy-chain",
        "channels": 4,
    }
    updates = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    updates = [r for r in updates if r.get("kind") == "alpha"]
    assert updates and all(r["costs_mean"]["latency_ms"] > 0 for r in updates)
    geno = json.loads((run / "genotype.json").read_text())
    assert geno["space"] == "toy-chain" and len(geno["block"]) == 3
    assert (run / "plots" / "block.txt").exists()  # the space draws its own cells

    train = tmp_path / "train"
    argv = ["train", "--genotype", str(run), "--preset", "quick", "--epochs", "1", "--out",
            str(train), "--no-progress", "--set", "channels=4", "--set", "layers=3", "--set",
            "max_steps_per_epoch=2"]  # fmt: skip
    assert main(argv) == 0  # the plug-in comes back from the search run's config
    summary = json.loads((train / "summary.json").read_text())
    assert summary["params"] > 0
    onnx = tmp_path / "chain.onnx"
    argv = ["export", str(run), "--weights", str(train / "weights_last.pt"), "--out", str(onnx)]
    assert main(argv) == 0 and onnx.stat().st_size > 0
    capsys.readouterr()
