"""The benchmark scripts stay runnable (tiny sizes; the figures themselves are in BENCHMARKS.md)."""

import json

from benchmarks.search_step import main as search_step


def test_search_step_benchmark_runs_and_reports_every_ratio(tmp_path, capsys):
    out = tmp_path / "bench.json"
    res = search_step(["--preset", "quick", "--stage", "2", "--batch", "8", "--repeats", "1", "--samples", "2",
                       "--memory-stage", "1", "--channels-last", "--checkpoint", "--json", str(out)])  # fmt: skip
    saved = json.loads(out.read_text())
    for key in ("alpha_update_speedup", "cost_lookup_speedup", "sampled_weight_step_speedup", "mixed_step_s",
                "sampled_step_s", "alpha_update_s", "alpha_update_naive_s", "mixed_step_peak_memory_mb"):  # fmt: skip
        assert saved[key] > 0, key
    assert res["candidates"] == {"normal": 6, "reduce": 4}  # stage 2 of quick: 10-4 and 6-2 left
    assert "alpha_update_speedup" in capsys.readouterr().out
