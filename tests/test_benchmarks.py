"""The benchmark scripts stay runnable (tiny sizes; the figures themselves are in BENCHMARKS.md)."""

import json
from pathlib import Path

import pytest

from benchmarks.search_step import main as search_step


def test_search_step_benchmark_runs_and_reports_every_ratio(tmp_path, capsys):
    out = tmp_path / "bench.json"
    res = search_step(["--preset", "quick", "--stage", "2", "--batch", "8", "--repeats", "1", "--samples", "2",
                       "--memory-stage", "1", "--checkpoint", "--json", str(out)])  # fmt: skip
    saved = json.loads(out.read_text())
    assert saved["channels_last"] is True and saved["compile"] is False  # the preset's, as searched
    for key in ("alpha_update_speedup", "cost_lookup_speedup", "sampled_weight_step_speedup", "mixed_step_s",
                "sampled_step_s", "alpha_update_s", "alpha_update_naive_s", "mixed_step_peak_memory_mb"):  # fmt: skip
        assert saved[key] > 0, key
    assert res["candidates"] == {"normal": 6, "reduce": 4}  # stage 2 of quick: 10-4 and 6-2 left
    assert "alpha_update_speedup" in capsys.readouterr().out


def test_a_failed_memory_child_says_why():
    import subprocess

    from benchmarks.search_step import why_failed

    killed = subprocess.CompletedProcess([], -9, "", "")
    assert (
        why_failed(killed)
        == "the measuring process was killed by SIGKILL: out of memory, most likely"
    )
    failed = subprocess.CompletedProcess(
        [], 1, "", "Traceback ...\nRuntimeError: no kernel image\n"
    )
    assert why_failed(failed).endswith("status 1: RuntimeError: no kernel image")


def test_search_loop_benchmark_projects_from_the_real_loop(tmp_path, capsys):
    from benchmarks.search_loop import main as search_loop

    out = tmp_path / "loop.json"
    res = search_loop(["--preset", "quick", "--device", "cpu", "--steps", "1", "--set", "space.channels=4",
                       "--set", "policy.samples=2", "--set", "policy.eval_images=64", "--set", "policy.arch_batch_size=32",
                       "--json", str(out)])  # fmt: skip
    saved = json.loads(out.read_text())
    assert saved == json.loads(json.dumps(res))
    assert [s["stage"] for s in saved["stages"]] == [1, 2, 3]
    for s in saved["stages"]:
        assert (
            s["steps"] == 1 and s["weight_step_s"] > 0 and s["alpha_step_s"] > 0 and s["eval_s"] > 0
        )
    # quick on digits: 1437 training images, half of them for the weights -> 718 // 64 = 11 steps
    assert saved["steps_per_epoch"] == 11
    assert saved["projected_total_s"] > sum(s["eval_s"] for s in saved["stages"])
    assert "projected whole quick search" in capsys.readouterr().out


def test_gpu_smoke_script_runs_its_checks_on_the_cpu(tmp_path):
    from benchmarks.gpu_smoke import main as gpu_smoke

    out = tmp_path / "smoke.json"
    # what only this script checks: its search and its exact resume. Sampled mode is searched by
    # test_learning's noise control, train and ONNX export by test_train (in-process, not two
    # more interpreters); `--checks` still runs them here on request
    argv = ["--device", "cpu", "--json", str(out), "--train-steps", "2", "--no-plots",
            "--checks", "search,resume"]  # fmt: skip
    assert gpu_smoke(argv) == 0
    res = json.loads(out.read_text())
    assert set(res) == {"search", "resume"}
    assert res["resume"]["same_genotype"] and res["resume"]["same_metrics"]  # exact on the CPU


def test_search_loop_interrupted_reports_the_finished_stages(tmp_path, monkeypatch):
    """When its time limit stops the loop (SIGINT), the stages that finished are still reported."""
    import benchmarks.search_loop as loop
    import tndnas.search.epoch as alg

    real, calls = alg.weight_step, {"n": 0}

    def stopping(*a, **k):
        calls["n"] += 1
        if calls["n"] == 10:  # stage 2's first epoch: stage 1 (4 epochs x 2 steps) is complete
            raise KeyboardInterrupt
        return real(*a, **k)

    monkeypatch.setattr(alg, "weight_step", stopping)
    out = tmp_path / "loop.json"
    res = loop.main(["--preset", "quick", "--device", "cpu", "--steps", "2", "--set", "space.channels=4",
                     "--set", "policy.samples=2", "--set", "policy.eval_images=64", "--json", str(out)])  # fmt: skip
    assert res["interrupted"] and [s["stage"] for s in res["stages"]] == [1]
    assert res["projected_total_s"] is None
    assert json.loads(out.read_text())["stages"][0]["weight_step_s"] > 0


def test_memory_estimate_benchmark_compares_estimate_and_measured_peak(tmp_path, capsys):
    from benchmarks.memory_estimate import main as memory_estimate

    out = tmp_path / "mem.json"
    res = memory_estimate(
        ["--preset", "quick", "--batch", "8", "--stages", "3", "--json", str(out)]
    )
    saved = json.loads(out.read_text())
    assert saved == json.loads(json.dumps(res))
    assert [r["stage"] for r in saved["stages"]] == [3]  # one child process per stage
    for r in saved["stages"]:
        assert r["estimate_mb"] > 0 and r["measured_mb"] > 0
        assert r["estimate_over_measured"] == r["estimate_mb"] / r["measured_mb"]
    assert saved["stages"][0]["candidates"] == {"normal": 3, "reduce": 2}  # 10-4-3, 6-2-2
    assert "measured" in capsys.readouterr().out


def test_nb201_search_benchmark_scores_its_searches(tmp_path, capsys):
    """The weight-sharing benchmark of NAS-Bench-201 runs its searches, looks the found cells up
    and ranks random cells in the final supernet (a generated table, digits, a tiny schedule)."""
    import csv
    import itertools

    from benchmarks.nb201_search import main as nb201_search
    from tndnas.spaces.nb201 import NB201_OPS, Nb201Genotype

    table = tmp_path / "t.csv"
    with open(table, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["CIFAR10TestAccuracy200Epochs", "ArchitectureString"])
        for cell in itertools.product(NB201_OPS, repeat=6):
            w.writerow([50 + 5 * cell.count("nor_conv_3x3"), Nb201Genotype(cell).cell_string()])
    out = tmp_path / "r.json"
    argv = ["--table", str(table), "--seeds", "1", "--kendall-cells", "8", "--kendall-images",
            "64", "--out", str(tmp_path / "runs"), "--json", str(out),
            "--set", "dataset.name=digits", "--set", "space.channels=4", "--set", "target.layers=5",
            "--set", "weights.max_steps_per_epoch=2", "--set", "policy.eval_images=64",
            "--set", "stages=[{layers: 5, epochs: 2, pretrain_epochs: 1}]", "--curve-every", "1", "--recalibrate", "2",
            "--top-check", "20"]  # fmt: skip
    assert nb201_search(argv) == 0
    res = json.loads(out.read_text())
    assert [r["seed"] for r in res["runs"]] == [0]
    for r in res["runs"]:
        assert 50 <= r["test_accuracy"] <= 80 and 1 <= r["rank"] <= 15625
        assert -1 <= r["kendall_tau"] <= 1 and r["cells"] == 8
        # the curve: tau after each epoch, the last one the final supernet's
        assert [p["epoch"] for p in r["curve"]] == [1, 2]
        assert r["curve"][-1]["tau"] == round(r["kendall_tau"], 4)
        assert 0 < r["curve"][0]["seconds"] < r["curve"][1]["seconds"]
        assert -1 <= r["kendall_tau_recalibrated"] <= 1
        # the top check: best of the 1/5/10/20 most probable cells, the table's best 100 cells
        top = r["top_check"]
        assert set(top["best_of_k"]) == {"1", "5", "10", "20"}
        assert all(50 <= a <= 80 for a in top["best_of_k"].values())
        assert 0 <= top["random100_in_supernet"] <= 100 and -1 <= top["top100_tau"] <= 1
        assert top["top_check_images"] == 128
    assert "Kendall tau" in capsys.readouterr().out


def test_latency_accuracy_benchmark_reports_what_users_count(tmp_path, capsys):
    from benchmarks.latency_accuracy import main as latency_accuracy

    from .tiny import TINY_SEARCH

    out = tmp_path / "acc.json"
    argv = ["--preset", "quick", "--backends", "torch", "--batches", "2", "--calibrate", "4", "--check", "3",
            "--extra", "--min-time 0.001 --check-time 0.01 --rounds 1", "--json", str(out),
            *[a for s in TINY_SEARCH for a in ("--set", s)]]  # fmt: skip
    rows = latency_accuracy(argv)
    assert json.loads(out.read_text()) == rows and len(rows) == 1
    row = rows[0]
    assert row["batch"] == 2 and row["networks"] == 3 and row["calibration"]["networks"] == 4
    assert 0 <= row["within_10pct"] <= 1 and 0 <= row["uncalibrated_within_10pct"] <= 1
    assert "within 10 %" in capsys.readouterr().out


def test_nb201_latency_columns_give_every_cell_a_latency_bench_tabular_reads(tmp_path):
    import csv

    from benchmarks.nb201_latency_columns import main as columns
    from tndnas.tabular_benchmark.space import load_tabular_space

    out = tmp_path / "lat.csv"
    report = columns(["--batch", "2", "--min-time", "0.001", "--rounds", "1", "--out", str(out)])
    rows = list(csv.DictReader(out.open()))
    assert len(rows) == report["cells"] == 15625 and report["pieces"] == 22
    assert all(float(r["latency_ms"]) > 0 for r in rows)
    assert 0 < report["ms_min"] < report["ms_median"] < report["ms_max"]
    # keyed by cell string: bench-tabular reads it as a cost of the same cells
    table = tmp_path / "t.csv"
    with table.open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["acc", "ArchitectureString"])
        w.writerows([(90.0, r["ArchitectureString"]) for r in rows])
    space = load_tabular_space(table, "acc", [f"{out}:latency_ms"])
    assert len(space.costs[f"{out}:latency_ms"]) == 15625


def test_latency_budget_benchmark_times_the_found_network_against_its_budget(tmp_path, capsys):
    from benchmarks.latency_budget import main as latency_budget

    from .tiny import TINY

    out = tmp_path / "budget.json"
    argv = ["--preset", "quick", "--budgets", "1.0", "--time", "0.01", "--json", str(out),
            "--table-flags", "--min-time 0.001 --rounds 1 --calibrate 3 --check-time 0.01",
            *[a for s in TINY for a in ("--set", s)]]  # fmt: skip
    rows = latency_budget(argv)
    assert json.loads(out.read_text()) == rows and len(rows) == 1
    row = rows[0]
    assert row["budget_ms"] > 0 and row["measured_ms"] > 0 and row["predicted_ms"] > 0
    assert row["measured_over_budget"] == pytest.approx(row["measured_ms"] / row["budget_ms"])
    assert "x the budget" in capsys.readouterr().out


def test_op_kernels_benchmark_times_both_pools(tmp_path, capsys):
    from benchmarks.op_kernels import main as op_kernels

    out = tmp_path / "k.json"
    argv = ["--batch", "2", "--shapes", "4x8", "--threads", "1", "--repeats", "3", "--steps", "10",
            "--json", str(out)]  # fmt: skip
    assert op_kernels(argv) == 0
    res = json.loads(out.read_text())
    assert [r["channels_last"] for r in res["rows"]] == [True, False]
    for r in res["rows"]:
        for layer in ("pool", "bn"):
            for kind in ("forward", "train"):
                ratio = r[f"{layer}_torch_{kind}_ms"] / r[f"{layer}_ours_{kind}_ms"]
                assert r[f"{layer}_{kind}_ratio"] == ratio > 0
    for what in ("weight_step", "scoring_10_paths"):
        r = res["steps"][what]
        assert r["ratio"] == r["torch"] / r["ours"] > 0
    assert "forward+backward" in capsys.readouterr().out


def test_a_benchmark_given_bad_input_says_so_in_one_line(tmp_path):
    """Every script's entry: the user's input (a missing table, a wrong key) is one line, status 2."""
    import subprocess
    import sys

    root = Path(__file__).resolve().parents[1]
    missing = subprocess.run(
        [sys.executable, "-m", "benchmarks.nb201_search", "--table", str(tmp_path / "no.csv")],
        cwd=root, capture_output=True, text=True,
    )  # fmt: skip
    assert missing.returncode == 2, missing.stderr
    assert missing.stderr.splitlines() == [
        f"nb201_search.py: error: results table {tmp_path / 'no.csv'} does not exist; "
        "pass the NAS-Bench-201 CSV with --table"
    ]

    from benchmarks import run_script
    from tndnas.config import ConfigError

    def fails() -> int:
        raise ConfigError("weights.nope is not a key; see docs/configuration.md.")

    assert run_script(fails) == 2
    assert run_script(lambda: {"figures": 1}) == 0
    assert run_script(lambda: 3) == 3
