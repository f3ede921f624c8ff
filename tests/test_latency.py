"""The latency table: its pieces are exactly the network's operations, its files, the
``latency_ms`` cost in a search, and ``tndnas latency-table``."""

import json
import random
import re
import unittest.mock
import zlib
from collections import Counter

import pytest
import torch
from torch.utils._python_dispatch import TorchDispatchMode

from tndnas.cli import main
from tndnas.config import ConfigError
from tndnas.macro import Macro
from tndnas.measure.latency import LatencyTableError, rank_correlation
from tndnas.op_sets import resolve_op_set
from tndnas.search import search
from tndnas.spaces.darts.genotype import Genotype, edge_pairs
from tndnas.spaces.darts.latency import DartsLatencyTable, random_genotypes
from tndnas.spaces.darts.network import EvalNetwork
from tndnas.spaces.darts.pieces import DartsPieces

from .conftest import random_genotype
from .tiny import TINY, tiny

MACRO = Macro(channels=4, layers=5, num_classes=7, in_channels=3, image_size=12)
OPS = {"normal": list(resolve_op_set("tnd-normal")), "reduce": list(resolve_op_set("tnd-reduce"))}


class _Record(TorchDispatchMode):
    """Counts every tensor operation run under it, by name and output shape."""

    def __init__(self):
        super().__init__()
        self.ops = Counter()

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        out = func(*args, **(kwargs or {}))
        shape = tuple(out.shape) if isinstance(out, torch.Tensor) else None
        self.ops[(str(func), shape)] += 1
        return out


def _recorded(module: torch.nn.Module, shape) -> Counter:
    module.eval()
    x = torch.zeros(*shape)
    with torch.no_grad(), _Record() as rec:
        module(x)
    return rec.ops


def _summary(ops: Counter) -> tuple[int, int, int]:
    """(operations, elements written, a checksum of the (operation, shape) multiset): sums of
    these are equal only for the same operations."""
    count = sum(ops.values())
    elements = sum(n * torch.Size(s).numel() for (_, s), n in ops.items() if s is not None)
    check = sum(n * zlib.crc32(repr(k).encode()) for k, n in ops.items())
    return count, elements, check


class OpCountTable(DartsPieces):
    """Measures a piece by the tensor operations it runs."""

    zero = (0, 0, 0)

    def measure(self, module, shape):
        return _summary(_recorded(module, shape))


def _network_ops(g: Genotype, macro: Macro) -> tuple[int, int, int]:
    shape = (1, macro.in_channels, macro.image_size, macro.image_size)
    return _summary(_recorded(_Logits(EvalNetwork(g, macro)), shape))


class _Logits(torch.nn.Module):
    def __init__(self, net):
        super().__init__()
        self.net = net

    def forward(self, x):
        return self.net(x)[0]


def test_pieces_are_exactly_the_networks_operations():
    """Every tensor operation of the evaluation network's inference forward -- stem,
    preprocessing, ops, the additions of multi-input nodes, concatenations, classifier -- is in
    exactly one piece, on random genotypes and extreme in-degrees."""
    table = OpCountTable(MACRO)
    rng = random.Random(0)
    full = tuple(("sep_conv_3x3", s, d) for s, d in edge_pairs())  # node 5: in-degree 5
    deep = (("conv_1x1", 1, 2), ("conv_3x3", 2, 3), ("skip_connect", 3, 4), ("dil_conv_5x5", 4, 5))
    genotypes = [
        Genotype(full, deep),
        Genotype(deep, full),
        Genotype((("skip_connect", 0, 2),), full),
    ]
    genotypes += [
        random_genotype(rng, OPS["normal"], OPS["reduce"], p_edge=p) for p in (0.3, 0.6, 0.9) * 3
    ]
    for g in genotypes:
        assert table.total(g) == _network_ops(g, MACRO), g


def test_measured_table_predicts_the_sum_of_its_pieces_and_round_trips(tmp_path):
    table = DartsLatencyTable(MACRO, min_run_time=0.001)
    table.measure_space(OPS)
    assert len(table.pieces) > 20 and all(v[0] > 0 for v in table.pieces.values())
    genotypes = random_genotypes(OPS, MACRO.steps, 5, seed=1)
    predicted = [table.latency_ms(g) for g in genotypes]
    assert all(p > 0 for p in predicted)
    path = tmp_path / "lat.json"
    path.write_text(json.dumps(table.to_dict()))
    loaded = DartsLatencyTable.load(path, expect=MACRO)
    assert [loaded.latency_ms(g) for g in genotypes] == predicted
    loaded.check_covers(OPS)
    assert loaded.measure_network(genotypes[0]) > 0  # the same device can still time networks
    # a table measured on a narrower op set cannot answer for a wider one: named, not measured
    small = DartsLatencyTable(MACRO, min_run_time=0.001)
    small.measure_space({"normal": ["skip_connect", "none"], "reduce": ["max_pool_3x3"]})
    path.write_text(json.dumps(small.to_dict()))
    with pytest.raises(
        LatencyTableError,
        match=r"has no entry for the piece 'op sep_conv_3x3 .*tndnas latency-table",
    ):
        DartsLatencyTable.load(path).check_covers(OPS)


@pytest.mark.parametrize(
    "content, message",
    [
        (None, "does not exist; measure one with tndnas latency-table"),
        ("{not json", "cannot be read"),
        ('{"pieces": {}}', "is not a tndnas latency table"),
        ('{"format": "tndnas-latency-table", "version": 9}', "has version 9"),
        ('{"format": "tndnas-latency-table", "version": 1, "macro": {}}', "is malformed"),
    ],
)
def test_bad_latency_files_are_named(tmp_path, content, message):
    path = tmp_path / "lat.json"
    if content is not None:
        path.write_text(content)
    with pytest.raises(LatencyTableError, match=message):
        DartsLatencyTable.load(path)


def test_wrong_network_and_bad_values_are_refused(tmp_path):
    table = DartsLatencyTable(MACRO, min_run_time=0.001)
    table.measure_space({"normal": ["skip_connect"], "reduce": ["max_pool_3x3"]})
    data = table.to_dict()
    path = tmp_path / "lat.json"
    path.write_text(json.dumps(data))
    other = Macro(channels=8, layers=5, num_classes=7, in_channels=3, image_size=12)
    with pytest.raises(
        LatencyTableError, match=r"measured for 4 channels x 5 cells.* has 8 channels"
    ):
        DartsLatencyTable.load(path, expect=other)
    first = next(iter(data["pieces"]))
    for bad in (-1.0, "fast", float("nan")):
        data["pieces"][first] = bad
        path.write_text(json.dumps(data))
        with pytest.raises(LatencyTableError, match="not finite, non-negative milliseconds"):
            DartsLatencyTable.load(path)
    assert issubclass(LatencyTableError, ConfigError)  # one line and status 2 from the CLI


def test_rank_correlation():
    assert rank_correlation([1, 2, 3, 4], [10, 20, 30, 40]) == pytest.approx(1.0)
    assert rank_correlation([1, 2, 3, 4], [4, 3, 2, 1]) == pytest.approx(-1.0)
    assert -1 < rank_correlation([1, 2, 3, 4], [2, 1, 4, 3]) < 1


def _table_args(out):
    argv = [
        "latency-table",
        "--preset",
        "quick",
        "--min-time",
        "0.001",
        "--check-time",
        "0.01",
        "--rounds",
        "2",
        "--out",
        str(out),
    ]
    for item in TINY:
        argv += ["--set", item]
    return argv


def test_latency_table_command_and_a_latency_search(tmp_path, capsys):
    table = tmp_path / "tables" / "lat.json"
    figures = tmp_path / "check.json"
    assert main([*_table_args(table), "--check", "3", "--check-json", str(figures)]) == 0
    out = capsys.readouterr().out
    for words in ("pieces measured", "within 10 %", "worst", "FLOPs': ", "the even rounds' against the odd",
                  "reward.latency_table="):  # fmt: skip
        assert words in out
    data = json.loads(table.read_text())
    assert data["macro"]["channels"] == 8 and data["macro"]["layers"] == 5  # TINY's target
    # the spread of random networks and a command to paste as printed, P at their median
    spread = re.search(r"random networks of the space: ([\d.]+) / ([\d.]+) / ([\d.]+) ms", out)
    low, median, high = (float(v) for v in spread.groups())
    assert 0 < low <= median <= high
    hint = re.search(
        r"--set 'stages\.\*\.costs\.0\.cost=latency_ms' --set 'stages\.\*\.costs\.0\.ref=([\d.]+)'",
        out,
    )
    assert hint and float(hint.group(1)) == median
    pasted = tiny(f"reward.latency_table={table}", "stages.*.costs.0.cost=latency_ms",
                  f"stages.*.costs.0.ref={hint.group(1)}")  # fmt: skip
    assert all(st.costs[0].ref == median for st in pasted.stages)
    check = data["info"]["check"]
    assert check == json.loads(figures.read_text()) and data["info"]["device"] == "cpu"
    nets = check["networks"]
    assert len(nets) == 3 and all(len(n["rounds_ms"]) == 10 and n["flops"] > 0 for n in nets)
    ratios = [n["predicted_ms"] / n["measured_ms"] for n in nets]
    assert check["within_10pct"] == sum(abs(r - 1) <= 0.1 for r in ratios) / 3
    assert check["worst_predicted_over_measured"] in ratios
    assert -1 <= check["flops_rank_correlation"] <= 1 and -1 <= check["rank_correlation"] <= 1
    cal = data["calibration"]  # fitted on 10 other networks timed whole, by default
    assert cal["networks"] == 10 and cal["scale"] > 0 and "calibrated on 10 networks" in out
    # a search whose reward is latency: it records the table and the final network's latency
    one = "stages=[{layers: 3, epochs: 1, pretrain_epochs: 0, costs: [{cost: latency_ms, ref: 20.0, beta: -0.5}]}]"
    cfg = tiny(f"reward.latency_table={table}", one)
    summary = search(cfg, tmp_path / "run", progress=False, plots=False)
    loaded = DartsLatencyTable.load(table)
    from tndnas.spaces.darts.genotype import genotype_from_dict

    final = genotype_from_dict(summary["genotype"])
    assert summary["latency_ms"] == pytest.approx(loaded.latency_ms(final))
    assert loaded.latency_ms(final) == pytest.approx(
        cal["scale"] * loaded.pieces_ms(final) + cal["offset_ms"]
    )
    assert (
        json.loads((tmp_path / "run" / "latency_table.json").read_text())["pieces"]
        == data["pieces"]
    )
    alpha = [
        json.loads(line) for line in (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()
    ]
    means = [r["costs_mean"]["latency_ms"] for r in alpha if r["kind"] == "alpha"]
    assert means and all(m > 0 for m in means)
    info = json.loads((tmp_path / "run" / "run.json").read_text())
    assert info["latency_table"]["file"] == str(table) and info["latency_table"]["device"] == "cpu"
    # --resume reads the run's copy: the original may be gone
    table.unlink()
    again = search(cfg, tmp_path / "run", resume=True, progress=False, plots=False)
    assert again["latency_ms"] == summary["latency_ms"]
    with pytest.raises(LatencyTableError, match="does not exist"):
        search(cfg, tmp_path / "new", progress=False, plots=False)  # a new run needs the file


def test_latency_cost_without_a_table_stops_before_anything_is_written(tmp_path, capsys):
    with pytest.raises(ConfigError, match="reward.latency_table is not set; measure a table"):
        search(
            tiny("stages.0.costs.0.cost=latency_ms"), tmp_path / "run", progress=False, plots=False
        )
    assert not (tmp_path / "run").exists()
    argv = [
        "search",
        "--preset",
        "quick",
        "--out",
        str(tmp_path / "r"),
        "--set",
        "reward.latency_table=nope.json",
    ]
    for item in TINY:
        argv += ["--set", item]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "latency table nope.json does not exist" in err
    assert (
        main(
            [
                "latency-table",
                "--preset",
                "quick",
                "--batch",
                "0",
                "--out",
                str(tmp_path / "x.json"),
            ]
        )
        == 2
    )
    assert "--batch=0 is invalid" in capsys.readouterr().err


class _Ones(DartsPieces):
    """Every piece measures 1: a genotype's total is the number of pieces it adds up."""

    zero = (0,)

    def measure(self, module, shape):
        return (1,)


def test_rounds_keep_each_pieces_median():
    class Steady(DartsLatencyTable):
        def measure(self, module, shape):
            return (10.0,)

    speeds = iter([1.0, 3.0, 0.5])  # a machine slow in the second round, fast in the third
    one_round = DartsPieces.measure_space

    def drifting_round(self, ops):
        factor = next(speeds)
        one_round(self, ops)
        self.pieces = {k: (v[0] * factor,) for k, v in self.pieces.items()}

    t = Steady(MACRO)
    with unittest.mock.patch.object(DartsPieces, "measure_space", drifting_round):
        t.measure_space({"normal": ["conv_1x1"], "reduce": ["max_pool_3x3"]}, rounds=3)
    assert {v[0] for v in t.pieces.values()} == {10.0}  # the median of 10, 30 and 5
    g = Genotype((("conv_1x1", 0, 2),), (("max_pool_3x3", 1, 2),))
    assert t.latency_ms(g) == pytest.approx(10.0 * _Ones(MACRO).total(g)[0])


def test_info_predicts_latency_for_the_network_the_table_was_measured_for(tmp_path, capsys):
    digits = Macro(channels=4, layers=5, num_classes=10, in_channels=1, image_size=8)
    table = DartsLatencyTable(digits, min_run_time=0.001)
    table.measure_space({ct: list(resolve_op_set("darts")) for ct in ("normal", "reduce")})
    path = tmp_path / "lat.json"
    path.write_text(json.dumps(table.to_dict()))
    argv = [
        "info",
        "darts-v2",
        "--dataset",
        "digits",
        "--layers",
        "5",
        "--latency-table",
        str(path),
    ]
    assert main([*argv, "--widths", "4,6", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    from tndnas.spaces.darts.genotype import load_genotype

    assert rows[0]["latency_ms"] == pytest.approx(table.latency_ms(load_genotype("darts-v2")))
    assert rows[1]["latency_ms"] is None  # 6 channels: not the network it was measured for
    assert main([*argv, "--widths", "4,6"]) == 0
    assert "latency (ms)" in capsys.readouterr().out
    assert main([*argv, "--channels", "6"]) == 2
    err = capsys.readouterr().err
    assert "pass --channels 4 (or include 4 in --widths), --layers 5 and --dataset digits." in err


def test_onnxruntime_backend_pays_one_call_per_network(tmp_path, capsys):
    """ONNX Runtime runs a whole network in one call: each piece is measured less an empty
    call on its input, and the table adds one call per network."""
    pytest.importorskip("onnxruntime")  # the export extra; the test extra installs it
    ops = {"normal": ["skip_connect", "conv_1x1"], "reduce": ["max_pool_3x3"]}
    table = DartsLatencyTable(MACRO, min_run_time=0.001, backend="onnxruntime")
    table.measure_space(ops)
    assert table.pieces["call"][0] > 0 and all(v[0] >= 0 for v in table.pieces.values())
    g = Genotype((("conv_1x1", 0, 2), ("skip_connect", 1, 2)), (("max_pool_3x3", 0, 2),))
    assert table.latency_ms(g) == pytest.approx(table.total(g)[0] + table.pieces["call"][0])
    assert table.measure_network(g) > 0  # the built network runs in ONNX Runtime too
    data = table.to_dict()
    assert data["backend"] == "onnxruntime"
    path = tmp_path / "ort.json"
    path.write_text(json.dumps(data))
    assert DartsLatencyTable.load(path).latency_ms(g) == pytest.approx(table.latency_ms(g))
    del data["pieces"]["call"]  # a table without its call piece is named, not guessed
    path.write_text(json.dumps(data))
    with pytest.raises(LatencyTableError, match="no entry for the piece 'call'"):
        DartsLatencyTable.load(path).latency_ms(g)
    # the command refuses what the backend would silently ignore, and unknown backends
    out = str(tmp_path / "x.json")
    assert main(["latency-table", "--backend", "onnxruntime", "--channels-last", "--out", out]) == 2
    assert "drop --device and --channels-last" in capsys.readouterr().err
    assert main(["latency-table", "--backend", "tflite", "--out", out]) == 2
    assert "latency backend" in capsys.readouterr().err


def test_latency_tables_are_refused_for_a_space_without_latency_pieces(tmp_path, capsys):
    """A space that has no latency pieces refuses a latency table in one sentence, in the
    search (reward.latency_table) and in tndnas latency-table."""
    from tndnas.cli import main
    from tndnas.run_files import SearchRunFiles
    from tndnas.search.setup import latency_table
    from tndnas.spaces import SearchSpace, register_space

    register_space("test-no-pieces", SearchSpace(), overwrite=True)
    with pytest.warns(UserWarning, match="the 'test-no-pieces' space does not have"):
        cfg = tiny("space.name=test-no-pieces", f"reward.latency_table={tmp_path / 't.json'}")
    with pytest.raises(LatencyTableError, match="'test-no-pieces' has no latency pieces"):
        latency_table(cfg, SearchRunFiles(tmp_path / "run"), {}, None, {}, resume=False)
    argv = ["latency-table", "--preset", "quick", "--set", "space.name=test-no-pieces",
            "--check", "0", "--out", str(tmp_path / "t.json")]  # fmt: skip
    assert main(argv) == 2 and not (tmp_path / "t.json").exists()
    err = capsys.readouterr().err  # a warning: the quick preset's DARTS keys are ignored
    errors = [line for line in err.splitlines() if line.startswith("tndnas: error:")]
    assert len(errors) == 1 and "has no latency pieces" in errors[0]
    assert all(line.startswith("tndnas: ") for line in err.splitlines())


def test_calibration_fit_and_what_a_table_file_may_hold(tmp_path):
    from tndnas.measure.latency import LatencyTableError
    from tndnas.objectives.latency_check import fit_calibration

    sums = [10.0, 20.0, 40.0, 80.0, 120.0]
    fit = fit_calibration(sums, [1.3 * x + 2.0 for x in sums])  # what the pieces miss, exactly
    assert fit["scale"] == pytest.approx(1.3) and fit["offset_ms"] == pytest.approx(2.0)
    assert fit_calibration([10.0, 20.0], [12.0, 26.0]) == {"scale": 1.25, "offset_ms": 0.0}
    macro = Macro(channels=4, layers=3, num_classes=10, in_channels=1, image_size=8)
    table = DartsLatencyTable(macro)
    table.pieces = {"call": (0.0,)}
    data = table.to_dict()
    for bad in ({"scale": 0.0, "offset_ms": 1.0}, {"scale": 1.2}, "fast"):
        (tmp_path / "t.json").write_text(json.dumps({**data, "calibration": bad}))
        with pytest.raises(LatencyTableError, match='malformed "calibration"'):
            DartsLatencyTable.load(tmp_path / "t.json")


def test_a_table_measured_elsewhere_is_imported_from_its_pieces_csv(tmp_path, capsys):
    """--pieces-csv lists what to measure on another device; --import-csv makes the table of
    those measurements, and refuses one made for another network or with a piece missing."""
    import csv

    sets = [a for s in TINY for a in ("--set", s)]
    listing = tmp_path / "pieces.csv"
    assert main(["latency-table", "--preset", "quick", *sets, "--pieces-csv", str(listing)]) == 0
    rows = list(csv.DictReader(listing.open()))
    assert rows and all(r["latency_ms"] == "" and r["input_shape"].startswith("1x") for r in rows)
    ms = {r["piece"]: 0.01 * (i + 1) for i, r in enumerate(rows)}  # what the device measured
    filled = tmp_path / "filled.csv"
    with filled.open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(
            ["piece", "input_shape", "latency_ms", "device_note"]
        )  # extra columns are kept out
        w.writerows([r["piece"], r["input_shape"], ms[r["piece"]], "npu"] for r in rows)
    out = tmp_path / "imported.json"
    argv = ["latency-table", "--preset", "quick", *sets, "--import-csv", str(filled),
            "--device-name", "phone", "--out", str(out)]  # fmt: skip
    assert main(argv) == 0
    table = DartsLatencyTable.load(out)
    assert table.info["device_name"] == "phone" and {k: v[0] for k, v in table.pieces.items()} == ms
    from tndnas.spaces import load_genotype

    g = load_genotype("darts-v2")
    table_here = DartsLatencyTable(table.macro)
    table_here.pieces = {k: (v,) for k, v in ms.items()}
    assert (
        table.latency_ms(g) == pytest.approx(table_here.latency_ms(g)) and table.latency_ms(g) > 0
    )
    capsys.readouterr()
    # a row missing, another network's pieces, a value that is not milliseconds: one sentence each
    short = tmp_path / "short.csv"
    short.write_text("\n".join(filled.read_text().splitlines()[:-1]) + "\n")
    wider = [a.replace("target.channels=8", "target.channels=16") for a in argv]
    text = filled.read_text().splitlines()
    bad = tmp_path / "bad.csv"
    bad.write_text(
        "\n".join([text[0], text[1].replace(str(ms[rows[0]["piece"]]), "fast"), *text[2:]])
    )
    for args, words in (
        ([a.replace(str(filled), str(short)) for a in argv], "lacks 1 piece(s) this network needs"),
        (wider, "does not have"),
        ([a.replace(str(filled), str(bad)) for a in argv], "is not a finite, non-negative number"),
    ):
        assert main(args) == 2
        err = capsys.readouterr().err
        assert words in err and err.count("\n") == 1, err


def test_networks_timed_whole_are_interleaved_so_a_drifting_machine_times_them_alike():
    """The machine's speed drifts 2x during the timing; 20 identical networks timed one after
    another would differ by that drift.  Interleaved over rounds they come out within a few
    percent of each other, and with the reference workload's correction alike."""
    from tndnas.objectives.latency_check import summarize, time_networks

    class DriftingTable:
        calls = 0

        def network_runner(self, genotype):
            return "network"

        def reference_runner(self):
            return "reference"

        def time_block(self, run, runs):
            self.calls += 1  # every block a little slower: 2x by the end
            return (10.0 if run == "network" else 1.0) * (1 + self.calls / 440)

    timing = time_networks(DriftingTable(), list(range(20)), seconds=1.0, rounds=10, seed=3)
    assert len(timing.rounds) == 10 and all(len(row) == 20 for row in timing.rounds)
    assert max(timing.uncorrected[-1]) / min(timing.uncorrected[0]) > 1.8  # the drift, 2x
    figures = summarize([15.0] * 20, timing)
    measured = [n["measured_ms"] for n in figures["networks"]]
    uncorrected = [n["uncorrected_ms"] for n in figures["networks"]]
    assert 1.01 < max(uncorrected) / min(uncorrected) < 1.06  # interleaved: all see the drift
    assert max(measured) / min(measured) < 1.001  # corrected by the reference's speed
    assert figures["repeat_within_10pct"] == 1.0 and figures["rounds"] == 10
