"""Latency tables of the NAS-Bench-201 space: pieces that add up to the built network, the
latency-table command, a search with a latency reward, and tables of the wrong space refused."""

from __future__ import annotations

import itertools
import json
import random

import pytest

from tndnas.cli import main
from tndnas.macro import Macro
from tndnas.measure.latency import LatencyTableError
from tndnas.spaces import get_space, read_latency_table
from tndnas.spaces.darts.latency import DartsLatencyTable
from tndnas.spaces.nb201 import NB201_OPS, Nb201Genotype, Nb201LatencyTable, Nb201Network
from tndnas.spaces.nb201.latency import Nb201Pieces

from .test_latency import _Logits, _recorded, _summary
from .tiny import TINY_SEARCH

MACRO = Macro(channels=4, layers=8, num_classes=7, in_channels=3, image_size=12)


class OpCount(Nb201Pieces):
    """Measures a piece by the tensor operations it runs."""

    zero = (0, 0, 0)

    def measure(self, module, shape):
        return _summary(_recorded(module, shape))


def test_pieces_are_exactly_the_networks_operations():
    """Every tensor operation of the network's inference forward -- stem, reduction blocks,
    ops, additions, the zeros of nodes without input, head -- is in exactly one piece."""
    table = OpCount(MACRO)
    rng = random.Random(0)
    cells = [("none",) * 6, ("nor_conv_3x3",) * 6, ("none", "none", "skip_connect") + ("none",) * 3]
    cells += [tuple(rng.choice(NB201_OPS) for _ in range(6)) for _ in range(12)]
    shape = (1, MACRO.in_channels, MACRO.image_size, MACRO.image_size)
    for ops in cells:
        g = Nb201Genotype(ops)
        assert table.total(g) == _summary(_recorded(_Logits(Nb201Network(g, MACRO)), shape)), ops


def _argv(out, *extra):
    sets = [*TINY_SEARCH, "space.name=nb201", "space.normal_ops=nb201", *extra]
    return ["latency-table", "--preset", "quick", "--min-time", "0.001", "--check-time", "0.01",
            "--rounds", "1", "--out", str(out), *[a for s in sets for a in ("--set", s)]]  # fmt: skip


def test_table_command_search_and_info_for_nb201(tmp_path, capsys):
    table = tmp_path / "nb201.json"
    assert main([*_argv(table), "--check", "4"]) == 0
    out = capsys.readouterr().out
    assert "the nb201 target network" in out and "rank correlation" in out
    data = json.loads(table.read_text())
    assert data["space"] == "nb201" and data["macro"]["steps"] == 3
    assert len(data["info"]["check"]["networks"]) == 4
    loaded = read_latency_table(table)
    assert isinstance(loaded, Nb201LatencyTable)
    # the table covers every cell: predictions are positive and grow with a conv added
    cells = [Nb201Genotype(c) for c in itertools.islice(itertools.product(NB201_OPS, repeat=6), 0, None, 997)]  # fmt: skip
    assert all(loaded.latency_ms(g) > 0 for g in cells)
    base = Nb201Genotype(("skip_connect",) * 6)
    more = Nb201Genotype(("nor_conv_3x3",) + ("skip_connect",) * 5)
    assert loaded.latency_ms(more) > loaded.latency_ms(base)

    # a search of the space with a latency reward
    run = tmp_path / "run"
    stage = ("stages=[{layers: 5, epochs: 1, pretrain_epochs: 0, costs: [{cost: latency_ms, "
             "ref: 1.0, beta: -0.3}]}]")  # fmt: skip
    sets = [*TINY_SEARCH, "space.name=nb201", "space.normal_ops=nb201", "weights.mode=sampled",
            f"reward.latency_table={table}", stage]  # fmt: skip
    argv = ["search", "--preset", "quick", "--out", str(run), "--no-progress", "--no-plots",
            *[a for s in sets for a in ("--set", s)]]  # fmt: skip
    assert main(argv) == 0
    summary = json.loads((run / "summary.json").read_text())
    final = get_space("nb201").genotype_from_dict(summary["genotype"], "summary")
    assert summary["latency_ms"] == pytest.approx(loaded.latency_ms(final))
    records = [json.loads(x) for x in (run / "metrics.jsonl").read_text().splitlines()]
    assert all(r["costs_mean"]["latency_ms"] > 0 for r in records if r["kind"] == "alpha")
    # info predicts the latency of the found cell at the table's network
    capsys.readouterr()
    argv = ["info", str(run), "--dataset", "digits", "--channels", "8", "--layers", "5",
            "--latency-table", str(table), "--json"]  # fmt: skip
    assert main(argv) == 0
    row = json.loads(capsys.readouterr().out)
    assert row["latency_ms"] == pytest.approx(summary["latency_ms"])


def test_tables_of_another_space_or_network_are_refused(tmp_path, capsys):
    nb = Nb201LatencyTable(MACRO, min_run_time=0.001)
    nb.measure_space({"normal": list(NB201_OPS)})
    path = tmp_path / "nb.json"
    path.write_text(json.dumps(nb.to_dict()))
    with pytest.raises(LatencyTableError, match="for the search space 'nb201', not 'darts'"):
        DartsLatencyTable.load(path)
    other = Macro(channels=8, layers=8, num_classes=7, in_channels=3, image_size=12)
    with pytest.raises(LatencyTableError, match="was measured for 4 channels"):
        Nb201LatencyTable.load(path, expect=other)
    # the search's space.steps does not matter to this space's tables
    assert Nb201LatencyTable.load(path, expect=Macro(4, 8, 7, 3, 12, steps=4)).fits(MACRO)
    # a DARTS genotype asked of an nb201 table, in info: one sentence
    argv = ["info", "darts-v2", "--channels", "4", "--layers", "8", "--latency-table", str(path)]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert "measured for the search space 'nb201', but the genotype is of 'darts'" in err
    assert err.count("\n") == 1
