"""The NAS-Bench-201 space: cell strings, exact costs, the final network and the supernet, a
search and training through it, and the results-table lookup (on tables the tests write)."""

from __future__ import annotations

import csv
import itertools
import json
import random

import pytest
import torch

from tndnas.cli import main
from tndnas.macro import Macro, MacroError
from tndnas.measure.flops import count_flops, count_parameters
from tndnas.spaces import get_space, load_genotype
from tndnas.spaces.base import GenotypeError
from tndnas.spaces.nb201 import (
    NB201_OPS,
    Nb201CostTable,
    Nb201Genotype,
    Nb201Network,
    Nb201Supernet,
    parse_cell_string,
)
from tndnas.spaces.nb201.table import Nb201TableError, read_nb201_table

from .tiny import TINY_SEARCH

BEST = "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_1x1~2|"
ALL_CELLS = list(itertools.product(NB201_OPS, repeat=6))


def test_cell_strings_round_trip_and_errors_are_one_sentence():
    ops = parse_cell_string(BEST)
    assert ops == ("nor_conv_3x3", "nor_conv_3x3", "nor_conv_3x3", "skip_connect",
                   "nor_conv_3x3", "nor_conv_1x1")  # fmt: skip
    for cell in random.Random(0).sample(ALL_CELLS, 200):
        g = Nb201Genotype(cell)
        assert parse_cell_string(g.cell_string()) == cell
        assert load_genotype_from_json(g) == g
    for bad, needle in [
        ("|nor_conv_3x3~0|", "has 1 nodes"),
        (BEST.replace("nor_conv_1x1~2", "conv_5x5~2"), "unknown op 'conv_5x5'"),
        (BEST.replace("~2", "~3"), "is not op~source"),
        (BEST.replace("|skip_connect~0|", "|skip_connect~1|"), "lists input 1 twice"),
        (BEST.replace("|nor_conv_1x1~2|", "|"), "needs 3 inputs"),
    ]:
        with pytest.raises(GenotypeError, match=needle) as err:
            parse_cell_string(bad)
        assert "\n" not in str(err.value)


def load_genotype_from_json(g: Nb201Genotype) -> Nb201Genotype:
    from tndnas.spaces import genotype_from_dict

    return genotype_from_dict(json.loads(g.to_json()))


@pytest.mark.parametrize("layers, size", [(5, 8), (8, 16)])
def test_cost_table_equals_the_built_network(layers, size):
    """Exact params and FLOPs from the table, for random cells, equal those of the network."""
    macro = Macro(channels=4, layers=layers, num_classes=10, in_channels=3, image_size=size)
    table = Nb201CostTable(macro)
    for cell in [("none",) * 6, ("nor_conv_3x3",) * 6, *random.Random(1).sample(ALL_CELLS, 6)]:
        g = Nb201Genotype(cell)
        net = Nb201Network(g, macro)
        cost = table.cost(g)
        assert cost.params == count_parameters(net)
        assert cost.flops == count_flops(net, (1, 3, size, size)) and cost.macs * 2 == cost.flops


def test_published_network_sizes():
    """At the published width and depth (16 channels, 5 cells per stage, CIFAR-10) the largest
    cell has 1.53 M parameters and the best one 1.07 M and 153.27 M multiply-adds, as the
    benchmark reports (its "FLOPs" are multiply-adds)."""
    table = Nb201CostTable(Macro(channels=16, layers=17, num_classes=10, image_size=32))
    assert table.cost(Nb201Genotype(("nor_conv_3x3",) * 6)).params == 1_531_546
    best = table.cost(Nb201Genotype(parse_cell_string(BEST)))
    assert best.params == 1_073_466 and round(best.macs / 1e6, 2) == 153.27


def test_network_shape_errors_and_supernet_paths():
    with pytest.raises(MacroError, match="3 N \\+ 2 layers"):
        Nb201Network(Nb201Genotype(parse_cell_string(BEST)), Macro(channels=4, layers=6))
    macro = Macro(channels=4, layers=5, num_classes=10, in_channels=1, image_size=8)
    cands = {"normal": [list(NB201_OPS)] * 6}
    net = Nb201Supernet(cands, macro).eval()
    x = torch.randn(2, 1, 8, 8)
    torch.manual_seed(0)
    # one-hot mixed weights are the sampled path (the mixed forward skips 'none' exactly)
    path = {"normal": [3, 1, 4, 0, 2, 3]}
    onehot = torch.zeros(6, 5)
    onehot[range(6), path["normal"]] = 1.0
    assert torch.allclose(net(x, {"normal": onehot}), net.forward_path(x, path), atol=1e-6)
    other = net.forward_path(x, {"normal": [0, 0, 0, 0, 0, 1]})
    assert not torch.allclose(other, net.forward_path(x, path))
    # the sampled path's network has the final network's op at every edge
    g = get_space("nb201").path_genotype(cands, path, None)
    assert g.ops == ("nor_conv_3x3", "skip_connect", "avg_pool_3x3", "none", "nor_conv_1x1",
                     "nor_conv_3x3")  # fmt: skip


def test_search_train_export_of_the_nb201_space(tmp_path, capsys):
    """A search of the space on digits writes a NAS-Bench-201 genotype; train, export, info and
    the table lookup take it."""
    run = tmp_path / "run"
    stages = ("stages=[{layers: 5, epochs: 2, pretrain_epochs: 1, drop: {normal: 2}, costs: [{cost: "
              "params, ref: 0.02, beta: -0.3}]}]")  # fmt: skip
    sets = [
        *TINY_SEARCH,
        "space.name=nb201",
        "space.normal_ops=nb201",
        "weights.mode=sampled",
        stages,
    ]
    argv = ["search", "--preset", "quick", "--out", str(run), "--no-progress", "--no-plots",
            *[a for s in sets for a in ("--set", s)]]  # fmt: skip
    assert main(argv) == 0
    data = json.loads((run / "genotype.json").read_text())
    assert data["space"] == "nb201" and parse_cell_string(data["cell"])
    first = json.loads((run / "alpha" / "stage0_epoch000.json").read_text())
    assert list(first) == ["stage", "epoch", "normal"] and len(first["normal"]["ops"]) == 6
    geno = load_genotype(run)
    (drawn,) = get_space("nb201").draw(geno, tmp_path)
    assert geno.cell_string() in drawn.read_text()
    assert isinstance(geno, Nb201Genotype) and sum(o in NB201_OPS for o in geno.ops) == 6
    summary = json.loads((run / "summary.json").read_text())
    assert summary["costs"]["params"] == pytest.approx(summary["params"] / 1e6)

    train = tmp_path / "train"
    sets = ["channels=4", "layers=5", "auxiliary=false", "drop_path=0", "max_steps_per_epoch=2"]
    argv = ["train", "--genotype", str(run), "--preset", "quick", "--epochs", "1", "--out",
            str(train), "--no-progress", *[a for s in sets for a in ("--set", s)]]  # fmt: skip
    assert main(argv) == 0
    assert json.loads((train / "summary.json").read_text())["params"] == (
        Nb201CostTable(Macro(4, 5, 10, 1, 8)).cost(geno).params
    )
    onnx = tmp_path / "m.onnx"
    assert (
        main(["export", str(run), "--weights", str(train / "weights_last.pt"), "--out", str(onnx)])
        == 0
    )
    capsys.readouterr()
    # the aux head of the quick train preset is refused in one sentence
    bad = ["train", "--genotype", str(run), "--preset", "quick", "--out", str(tmp_path / "t2")]
    assert main(bad) == 2
    assert "no auxiliary head; set auxiliary=false" in capsys.readouterr().err


def write_table(path, cells, acc=None, columns=("CIFAR10TestAccuracy200Epochs",)):
    acc = acc or (lambda i, cell: 50.0 + 5.0 * cell.count("nor_conv_3x3") + 1e-6 * i)
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow([*columns, "ArchitectureString"])
        for i, cell in enumerate(cells):
            w.writerow([*(acc(i, cell) for _ in columns), Nb201Genotype(cell).cell_string()])
    return path


def test_table_lookup_and_its_errors(tmp_path, capsys):
    cells = list(ALL_CELLS)
    random.Random(2).shuffle(cells)
    table = write_table(tmp_path / "t.csv", cells)
    best = max(range(len(cells)), key=lambda i: (cells[i].count("nor_conv_3x3"), i))
    cell = Nb201Genotype(cells[best]).cell_string()
    assert main(["nb201", cell, "--table", str(table), "--json"]) == 0
    res = json.loads(capsys.readouterr().out)
    assert res["rank"]["CIFAR10TestAccuracy200Epochs"] == 1 and res["row"] == best + 2
    assert res["cells_in_table"] == 15625 and res["params"] == 1_531_546
    # shuffled rows and no index column: the benchmark index cannot be told, and is not made up
    assert res["index"] is None
    assert main(["nb201", cell, "--table", str(table)]) == 0
    assert (
        f"index: unknown: the rows of {table} are not in benchmark order" in capsys.readouterr().out
    )
    # an index column gives it whatever the order of the rows
    indexed = tmp_path / "indexed.csv"
    lines = table.read_text().splitlines()
    number = {c: i for i, c in enumerate(ALL_CELLS)}
    indexed.write_text("\n".join([lines[0] + ",index"] + [f"{row},{number[c]}" for row, c in
                                                         zip(lines[1:], cells)]) + "\n")  # fmt: skip
    assert main(["nb201", cell, "--table", str(indexed), "--json"]) == 0
    res = json.loads(capsys.readouterr().out)
    assert res["index"] == number[cells[best]] and list(res["accuracy"]) == [
        "CIFAR10TestAccuracy200Epochs"
    ]
    # rows in benchmark order (its cell 0 first): the row is the index
    from tndnas.spaces.nb201.table import CELL_0

    first = parse_cell_string(CELL_0)
    ordered = write_table(tmp_path / "ordered.csv", [first, *[c for c in cells if c != first]])
    assert read_nb201_table(ordered).benchmark_index(cells[best]) == [
        first,
        *[c for c in cells if c != first],
    ].index(cells[best])
    worst = Nb201Genotype(
        cells[min(range(len(cells)), key=lambda i: (cells[i].count("nor_conv_3x3"), i))]
    )
    assert main(["nb201", worst.cell_string(), "--table", str(table)]) == 0
    assert "rank 15625 of 15625" in capsys.readouterr().out

    # a byte-order mark is read as one; a ragged row and a non-ASCII digit are one sentence
    bom = tmp_path / "bom.csv"
    bom.write_text(table.read_text(), encoding="utf-8-sig")
    assert read_nb201_table(bom).row(cells[best]) == best
    with pytest.raises(GenotypeError, match="is not op~source"):
        parse_cell_string(BEST.replace("~2", "~\u00b2"))
    for text, needle in [
        ("ragged", "has a different number of fields"),
        ("short", "has 100 cells, but the NAS-Bench-201 space has 15625"),
        ("column", "has no column 'ArchitectureString'"),
        ("cell", "unknown op 'conv_9x9'"),
        ("twice", "twice"),
    ]:
        bad = tmp_path / f"{text}.csv"
        if text == "ragged":
            bad.write_text("acc,ArchitectureString\n1.0," + cell + ",extra\n")
        elif text == "short":
            write_table(bad, cells[:100])
        elif text == "column":
            bad.write_text("acc,arch\n1.0,x\n")
        elif text == "cell":
            bad.write_text(
                "acc,ArchitectureString\n1.0,|conv_9x9~0|+|none~0|none~1|+|none~0|none~1|none~2|\n"
            )
        else:
            write_table(bad, [cells[0], *cells[:-1]])
        with pytest.raises(Nb201TableError, match=needle):
            read_nb201_table(bad)
        assert main(["nb201", cell, "--table", str(bad)]) == 2
        err = capsys.readouterr().err
        assert needle.split("'")[0] in err and err.count("\n") == 1
