"""Metrics log, run-directory plots and cell diagrams (tndnas.report)."""

from __future__ import annotations

import json
import math
import shutil
import stat
from pathlib import Path

import numpy as np
import pytest

from tndnas.report import MetricsLog, read_metrics
from tndnas.report.plots import edge_labels, plot_run
from tndnas.spaces.darts.diagram import cell_dot_source, draw_cell
from tndnas.spaces.darts.genotype import Genotype, edge_pairs

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"

NORMAL_OPS = [
    "none",
    "skip_connect",
    "sep_conv_3x3",
    "sep_conv_5x5",
    "sep_conv_7x7",
    "dil_conv_3x3",
    "dil_conv_5x5",
    "conv_1x1",
    "conv_3x3",
    "conv_3x1_1x3",
]
REDUCE_OPS = [
    "none",
    "skip_connect",
    "avg_pool_3x3",
    "max_pool_3x3",
    "max_pool_5x5",
    "max_pool_7x7",
]

GENOTYPE = {
    "format": "tndnas-genotype/1",
    # node 4 (intermediate "2") only receives 'none': it is dead and must not be drawn
    "normal": [
        ["sep_conv_3x3", 0, 2],
        ["skip_connect", 1, 2],
        ["dil_conv_3x3", 1, 3],
        ["none", 0, 4],
        ["conv_3x3", 2, 5],
        ["sep_conv_5x5", 3, 5],
    ],
    "reduce": [
        ["max_pool_3x3", 0, 2],
        ["max_pool_3x3", 1, 2],
        ["skip_connect", 2, 3],
        ["avg_pool_3x3", 1, 4],
        ["max_pool_5x5", 3, 5],
    ],
}


def assert_png(path: Path) -> None:
    assert path.exists(), f"{path} was not written"
    data = path.read_bytes()
    assert data[:8] == PNG_MAGIC, f"{path} is not a PNG"
    assert len(data) > 1024, f"{path} is suspiciously small ({len(data)} bytes)"


def make_run(root: Path, *, alpha_files: bool = True, genotypes: bool = True) -> Path:
    """A synthetic 2-stage run: stage 0 with the full op sets (3 epochs, the first one
    pretraining without alpha updates), stage 1 with fewer ops per edge (2 epochs); in stage 1
    the normal cell keeps a different op list on each edge."""
    rng = np.random.default_rng(0)
    run = root / "run"
    run.mkdir()
    log = MetricsLog(run / "metrics.jsonl")
    stage_epochs = {0: 3, 1: 2}
    updates_per_epoch = 6
    for stage, n_epochs in stage_epochs.items():
        update = 0
        for epoch in range(n_epochs):
            pretrain = stage == 0 and epoch == 0
            if not pretrain:
                for u in range(updates_per_epoch):
                    acc = 0.4 + 0.05 * stage + 0.01 * update + 0.02 * rng.random()
                    rec = {
                        "kind": "alpha",
                        "stage": stage,
                        "epoch": epoch,
                        "step": u * 4,
                        "update": update,
                        "reward_mean": acc - 0.1,
                        "reward_max": acc - 0.05,
                        "baseline": acc - 0.12,
                        "acc_max": acc + 0.05,
                        "acc_mean": acc,
                        "costs_mean": {
                            "params": np.float32(2.5 - 0.3 * stage - 0.01 * update),
                            "flops": 350.0 - 30 * stage + 2 * update - 10 * rng.random(),
                        },
                        "entropy": 2.0 - 0.05 * update - 0.5 * stage,
                    }
                    if update % 4 == 0:
                        rec["argmax_acc"] = acc + 0.02
                    log.write(rec)
                    update += 1
            log.write(
                {
                    "kind": "epoch",
                    "stage": stage,
                    "epoch": epoch,
                    "train_loss": 2.0 - 0.2 * (stage * 3 + epoch),
                    "train_acc": 0.3 + 0.05 * (stage * 3 + epoch),
                    "arch_acc_supernet": 0.28 + 0.05 * (stage * 3 + epoch),
                    "arch_acc_argmax": None if pretrain else 0.3 + 0.04 * (stage * 3 + epoch),
                    "seconds": 12.5 + epoch,
                    "peak_memory_mb": 900.0 + 10 * stage,
                    "lr": 0.025,
                }
            )
            if alpha_files:
                snap = {"stage": stage, "epoch": epoch}
                for ct, full in (("normal", NORMAL_OPS), ("reduce", REDUCE_OPS)):
                    if stage == 0:
                        ops = [list(full) for _ in range(14)]
                    elif ct == "normal":  # K = 5, a different subset on each edge
                        ops = [[full[(e + j) % len(full)] for j in range(5)] for e in range(14)]
                    else:  # K = 3, the same subset on every edge
                        ops = [["skip_connect", "max_pool_3x3", "avg_pool_3x3"] for _ in range(14)]
                    alpha = rng.normal(scale=0.5 + epoch, size=(14, len(ops[0])))
                    snap[ct] = {"alpha": alpha.tolist(), "ops": ops}
                (run / "alpha").mkdir(exist_ok=True)
                (run / "alpha" / f"stage{stage}_epoch{epoch:03d}.json").write_text(json.dumps(snap))
        log.write(
            {
                "kind": "stage",
                "stage": stage,
                "seconds": 100.0 * (stage + 1),
                "costs": {"params": 2.4 - 0.3 * stage, "flops": 340.0 - 30 * stage},
                "genotype": GENOTYPE,
            }
        )
        if genotypes:
            (run / f"genotype_stage{stage}.json").write_text(json.dumps(GENOTYPE))
    if genotypes:
        (run / "genotype.json").write_text(json.dumps(GENOTYPE))
    return run


METRIC_PLOTS = ["accuracy.png", "cost.png", "reward.png", "epochs.png"]
ALPHA_PLOTS = [
    "argmax_ops_normal.png",
    "argmax_ops_reduce.png",
    "alpha_stage0.png",
    "alpha_stage1.png",
]
CELL_PLOTS = ["cell_normal.png", "cell_reduce.png"]


@pytest.fixture
def no_graphviz(monkeypatch):
    monkeypatch.setattr(shutil, "which", lambda name, *a, **k: None)


@pytest.mark.filterwarnings("error")
def test_plot_run_full(tmp_path, no_graphviz):
    run = make_run(tmp_path)
    written = plot_run(run)
    for name in METRIC_PLOTS + ALPHA_PLOTS + CELL_PLOTS:
        assert_png(run / "plots" / name)
        assert run / "plots" / name in written
    for p in written:
        assert_png(p)
    assert sorted(written) == sorted((run / "plots").glob("*.png"))


def test_plot_run_metrics_only(tmp_path):
    run = make_run(tmp_path, alpha_files=False, genotypes=False)
    # without genotype files the cell diagrams come from the last stage record; drop those too
    lines = (run / "metrics.jsonl").read_text().splitlines()
    kept = [ln for ln in lines if json.loads(ln)["kind"] != "stage"]
    (run / "metrics.jsonl").write_text("\n".join(kept) + "\n")
    written = plot_run(run)
    for name in METRIC_PLOTS:
        assert_png(run / "plots" / name)
    names = {p.name for p in written}
    assert not names & set(ALPHA_PLOTS + CELL_PLOTS)


def test_plot_run_sparse_and_corrupt_data(tmp_path, no_graphviz):
    """No argmax accuracies, no epoch records, a truncated alpha file, a killed log."""
    run = make_run(tmp_path, genotypes=False)
    lines = (run / "metrics.jsonl").read_text().splitlines()
    recs = [json.loads(ln) for ln in lines]
    recs = [{k: v for k, v in r.items() if k != "argmax_acc"} for r in recs if r["kind"] != "epoch"]
    text = "".join(json.dumps(r) + "\n" for r in recs) + '{"kind": "alpha", "stage": 1, "acc'
    (run / "metrics.jsonl").write_text(text)
    for f in (run / "alpha").glob("stage0_*.json"):
        f.unlink()
    bad = run / "alpha" / "stage1_epoch001.json"
    bad.write_text(bad.read_text()[:100])
    with pytest.warns(UserWarning, match="unreadable alpha file"):
        written = plot_run(run)
    names = {p.name for p in written}
    assert {"accuracy.png", "cost.png", "reward.png", "alpha_stage1.png"} <= names
    assert not names & {"epochs.png", "alpha_stage0.png"}
    # the cell diagrams fall back on the genotype in the last stage record
    assert {"cell_normal.png", "cell_reduce.png"} <= names


def test_plot_run_empty_dir(tmp_path):
    assert plot_run(tmp_path) == []
    with pytest.raises(FileNotFoundError):
        plot_run(tmp_path / "missing")


def test_read_metrics_skips_truncated_last_line(tmp_path):
    path = tmp_path / "metrics.jsonl"
    log = MetricsLog(path)
    for i in range(3):
        log.write({"kind": "alpha", "update": i, "acc_max": 0.5 + i / 10})
    with open(path, "a") as f:
        f.write('{"kind": "alpha", "update": 3, "acc_m')  # killed mid-write
    recs = read_metrics(path)
    assert [r["update"] for r in recs] == [0, 1, 2]
    assert read_metrics(tmp_path) == recs  # a run directory works too
    assert read_metrics(tmp_path / "nothing.jsonl") == []


def test_read_metrics_warns_on_corrupt_middle_line(tmp_path):
    path = tmp_path / "metrics.jsonl"
    path.write_text('{"kind": "epoch", "epoch": 0}\nnot json\n{"kind": "epoch", "epoch": 1}\n')
    with pytest.warns(UserWarning, match="metrics.jsonl: line 2 skipped"):
        recs = read_metrics(path)
    assert [r["epoch"] for r in recs] == [0, 1]
    path.write_text("x\n" * 30 + '{"kind": "epoch", "epoch": 0}\n')
    with pytest.warns(UserWarning, match=r"30 lines \(first: 1\) skipped") as seen:
        read_metrics(path)
    assert len(seen) == 1  # one warning for the file, not one per line


def test_write_plain_json_numbers(tmp_path):
    log = MetricsLog(tmp_path / "sub" / "metrics.jsonl")
    log.write(
        {
            "kind": "alpha",
            "a": np.float32(0.25),
            "b": np.int64(3),
            "c": float("nan"),
            "d": np.arange(3),
            "e": math.inf,
            "f": True,
        }
    )
    line = (tmp_path / "sub" / "metrics.jsonl").read_text()
    assert line.endswith("\n") and line.count("\n") == 1
    rec = json.loads(line)
    assert rec == {
        "kind": "alpha",
        "a": 0.25,
        "b": 3,
        "c": None,
        "d": [0, 1, 2],
        "e": None,
        "f": True,
    }
    assert "NaN" not in line and "Infinity" not in line
    with pytest.raises(TypeError):
        log.write({"x": object()})


def test_truncate_to_keeps_exactly_n_lines(tmp_path):
    path = tmp_path / "metrics.jsonl"
    log = MetricsLog(path)
    assert log.count() == 0
    for i in range(10):
        log.write({"kind": "epoch", "epoch": i})
    assert log.count() == 10
    log.truncate_to(4)
    assert log.count() == 4
    assert [r["epoch"] for r in read_metrics(path)] == [0, 1, 2, 3]
    # appending continues after the kept lines
    log.write({"kind": "epoch", "epoch": 99})
    assert [r["epoch"] for r in read_metrics(path)] == [0, 1, 2, 3, 99]
    # more lines than there are keeps all complete lines and drops a partial one
    with open(path, "a") as f:
        f.write('{"kind": "ep')
    log.truncate_to(100)
    assert log.count() == 5 and path.read_text().endswith("\n")
    log.truncate_to(0)
    assert path.read_text() == "" and log.count() == 0
    assert [p.name for p in tmp_path.iterdir()] == ["metrics.jsonl"]  # no temp files left
    with pytest.raises(ValueError):
        log.truncate_to(-1)


def test_write_after_killed_run_starts_a_fresh_line(tmp_path):
    path = tmp_path / "metrics.jsonl"
    path.write_text('{"kind": "epoch", "epoch": 0}\n{"kind": "epo')
    log = MetricsLog(path)
    log.write({"kind": "epoch", "epoch": 1})
    assert [r["epoch"] for r in read_metrics(path)] == [0, 1]
    assert log.count() == 2


def test_edge_labels_follow_supernet_order():
    labels = edge_labels(14)
    assert labels[:5] == ["0->2", "1->2", "0->3", "1->3", "2->3"]
    assert labels == [f"{i}->{j}" for i, j in edge_pairs()]
    assert edge_labels(7) == [f"edge {e}" for e in range(7)]


def test_draw_cell_without_graphviz(tmp_path, no_graphviz):
    geno = Genotype(
        normal=tuple(tuple(e) for e in GENOTYPE["normal"]),
        reduce=tuple(tuple(e) for e in GENOTYPE["reduce"]),
    )
    for ct in ("normal", "reduce"):
        out = draw_cell(geno, ct, tmp_path / "d" / f"{ct}.png")
        assert out == tmp_path / "d" / f"{ct}.png"
        assert_png(out)
    # a dict and a JSON path are accepted too
    assert_png(draw_cell(GENOTYPE, "normal", tmp_path / "from_dict.png"))
    (tmp_path / "g.json").write_text(json.dumps(GENOTYPE))
    assert_png(draw_cell(tmp_path / "g.json", "reduce", tmp_path / "from_path.png"))
    with pytest.raises(ValueError):
        draw_cell(geno, "middle", tmp_path / "x.png")


def test_draw_cell_falls_back_when_dot_fails(tmp_path, monkeypatch):
    fake = tmp_path / "dot"
    fake.write_text("#!/bin/sh\necho 'dot: broken install' >&2\nexit 1\n")
    fake.chmod(fake.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setattr(shutil, "which", lambda name, *a, **k: str(fake))
    with pytest.warns(UserWarning, match="graphviz dot failed"):
        out = draw_cell(GENOTYPE, "normal", tmp_path / "cell.png")
    assert_png(out)


def test_dot_source_has_only_live_edges_and_nodes():
    src = cell_dot_source(GENOTYPE, "normal")
    assert "n4 " not in src and "-> n4" not in src  # the dead node 4
    assert "none" not in src
    for op, i, j in GENOTYPE["normal"]:
        if op != "none":
            assert f'n{i} -> n{j} [label="{op}"' in src
    assert src.count("-> out") == 3  # live intermediate nodes 2, 3, 5
    assert src.strip().startswith("digraph") and src.strip().endswith("}")


def test_every_cost_of_the_run_gets_a_panel(tmp_path):
    """cost.png has one panel per cost the run logged (params, FLOPs, a reward's latency_ms);
    the params_mean/flops_mean records of older runs are read as the same costs."""
    from PIL import Image

    from tndnas.report.metric_plots import cost_names_logged, derived_costs, sampled_costs

    run = make_run(tmp_path, alpha_files=False, genotypes=False)
    lines = [json.loads(ln) for ln in (run / "metrics.jsonl").read_text().splitlines()]
    assert "cost.png" in {p.name for p in plot_run(run)}
    two_panels = Image.open(run / "plots" / "cost.png").size
    for r in lines:
        if r["kind"] == "alpha":
            r["costs_mean"]["latency_ms"] = 10.0 - 0.05 * r["update"]
    (run / "metrics.jsonl").write_text("".join(json.dumps(r) + "\n" for r in lines))
    alpha = [r for r in read_metrics(run / "metrics.jsonl") if r["kind"] == "alpha"]
    assert cost_names_logged(alpha) == ["params", "flops", "latency_ms"]
    plot_run(run)
    three_panels = Image.open(run / "plots" / "cost.png").size
    assert three_panels[0] == two_panels[0] and three_panels[1] > 1.3 * two_panels[1]
    old = {"params_mean": 1.5, "flops_mean": 20.0, "costs_mean": {"latency_ms": 3.0}}
    assert sampled_costs(old) == {"params": 1.5, "flops": 20.0, "latency_ms": 3.0}
    assert derived_costs({"params_m": 1.4, "flops_m": 19.0}) == {"params": 1.4, "flops": 19.0}
