"""The weight-step memory estimate made before a search, and the refusal it leads to."""

import json

import pytest
import torch

import tndnas.search.memory_plan as memory_plan
from tndnas.cli import main
from tndnas.macro import Macro
from tndnas.op_sets import resolve_op_set
from tndnas.search import search
from tndnas.search.memory_plan import MemoryCheckError
from tndnas.spaces.darts.memory import probe_supernet
from tndnas.spaces.darts.supernet import Supernet

from .tiny import TINY, tiny

FULL = {ct: [list(resolve_op_set(f"tnd-{ct}"))] * 14 for ct in ("normal", "reduce")}


def _saved_bytes(net, x, weights) -> int:
    """Bytes of the distinct non-parameter storages a real forward saves for backward."""
    params = {p.untyped_storage().data_ptr() for p in net.parameters()}
    seen = {}

    def pack(t):
        st = t.untyped_storage()
        if st.data_ptr() not in params:
            seen[st.data_ptr()] = st.nbytes()
        return t

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        net(x, weights)
    return sum(seen.values())


@pytest.mark.parametrize("kept", [8, 4, 2])
def test_estimate_bounds_what_a_real_stage_saves(kept):
    """Whatever ops a stage keeps, the estimate is at least what its forward saves, and not
    wildly more; the weights term is three copies of the kept ops' parameters at most."""
    macro = Macro(channels=4, layers=5, num_classes=10, in_channels=3, image_size=16)
    probe = probe_supernet(FULL, macro)
    gen = torch.Generator().manual_seed(kept)
    batch = 8
    est = probe.estimate({"normal": kept, "reduce": min(kept, 5)}, batch)
    for _ in range(3):  # several random choices of the surviving candidates
        cand = {}
        for ct, n in (("normal", kept), ("reduce", min(kept, 5))):
            ops = FULL[ct][0]
            cand[ct] = [[ops[i] for i in sorted(torch.randperm(len(ops), generator=gen)[:n].tolist())]
                        for _ in range(14)]  # fmt: skip
        torch.manual_seed(0)
        net = Supernet(cand, macro).train()
        w = {ct: torch.full((14, len(cand[ct][0])), 1 / len(cand[ct][0])) for ct in cand}
        real = _saved_bytes(net, torch.randn(batch, 3, 16, 16), w)
        assert real <= est.activations <= 3 * real
        params = sum(p.numel() * p.element_size() for p in net.parameters())
        assert 3 * params <= est.weights
    # fewer candidates, less memory; checkpointing keeps less than all cells' activations
    assert (
        probe.estimate({"normal": 2, "reduce": 2}, batch).total
        < probe.estimate({"normal": 8, "reduce": 5}, batch).total
    )
    plain = probe.estimate({"normal": kept, "reduce": min(kept, 5)}, batch)
    ckpt = probe.estimate({"normal": kept, "reduce": min(kept, 5)}, batch, checkpoint=True)
    assert ckpt.activations < plain.activations and ckpt.weights == plain.weights
    sampled = probe.estimate({"normal": kept, "reduce": min(kept, 5)}, batch, sampled=True)
    assert sampled.activations <= plain.activations
    # linear in the batch size
    twice = probe.estimate({"normal": kept, "reduce": min(kept, 5)}, 2 * batch)
    assert twice.activations == 2 * plain.activations


def test_bf16_probe_halves_most_activations():
    macro = Macro(channels=4, layers=3, num_classes=10, in_channels=3, image_size=16)
    kept = {"normal": 8, "reduce": 5}
    fp32 = probe_supernet(FULL, macro).estimate(kept, 32).activations
    bf16 = probe_supernet(FULL, macro, amp=True).estimate(kept, 32).activations
    assert 0.4 * fp32 < bf16 < 0.8 * fp32


@pytest.mark.xdist_group("tiny_run")  # one worker runs the shared search once
def test_search_records_its_estimate_and_refuses_what_cannot_fit(
    tmp_path, monkeypatch, capsys, tiny_run
):
    info = json.loads((tiny_run / "run.json").read_text())
    est = info["memory_estimate"]
    assert [r["stage"] for r in est] == [0, 1]
    assert est[0]["candidates"] == {"normal": 10, "reduce": 6}  # the quick preset's op sets
    assert est[1]["candidates"] == {"normal": 6, "reduce": 4}  # after dropping 4 and 2
    assert all(
        r["total_mb"] > 0 and r["total_mb"] == r["weights_mb"] + r["activations_mb"] for r in est
    )

    # a machine with 1 MiB left: the run stops before writing anything, naming the fix
    monkeypatch.setattr(memory_plan, "available_memory_bytes", lambda device: 2**20)
    with pytest.raises(MemoryCheckError, match=r"stage 0 \(stages.0; .* weights.checkpoint=true"):
        search(tiny(), tmp_path / "small", progress=False, plots=False)
    assert not (tmp_path / "small" / "run.json").exists()
    argv = ["search", "--preset", "quick", "--out", str(tmp_path / "cli"), "--no-progress"]
    for item in TINY:
        argv += ["--set", item]
    capsys.readouterr()
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "needs about" in err and "weights.memory_check=warn" in err
    # warn: the same words as a warning, and the search runs
    one = "stages=[{layers: 3, epochs: 1, pretrain_epochs: 0}]"
    summary = search(
        tiny("weights.memory_check=warn", one), tmp_path / "warn", progress=False, plots=False
    )
    assert summary["params"] > 0
    assert "tndnas: warning: stage 0 (stages.0; " in capsys.readouterr().err
    # ignore: no estimate at all
    search(tiny("weights.memory_check=ignore", one), tmp_path / "off", progress=False, plots=False)
    assert json.loads((tmp_path / "off" / "run.json").read_text())["memory_estimate"] == []


def test_dry_run_prints_the_plan_and_writes_nothing(tmp_path, monkeypatch, capsys):
    argv = ["search", "--preset", "quick", "--out", str(tmp_path / "dry"), "--dry-run"]
    for item in TINY:
        argv += ["--set", item]
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert "config ok: digits" in out and "nothing written" in out
    rows = [line.split() for line in out.splitlines() if line.strip()[:1].isdigit()]
    assert [r[0] for r in rows] == ["0", "1"] and all(r[-1] == "yes" for r in rows)
    assert not (tmp_path / "dry").exists()
    monkeypatch.setattr(memory_plan, "available_memory_bytes", lambda device: 2**20)
    assert main(argv) == 2
    captured = capsys.readouterr()
    assert "NO" in captured.out and captured.err.count("\n") == 1 and "needs about" in captured.err
    assert not (tmp_path / "dry").exists()
    assert main(["search", "--resume", str(tmp_path), "--dry-run"]) == 2
    assert "drop --resume" in capsys.readouterr().err


def test_probe_leaves_the_callers_random_state_alone():
    """A resumed search estimates memory after restoring its generators: the probe must not move them."""
    torch.manual_seed(123)
    before = torch.get_rng_state()
    probe_supernet(FULL, Macro(channels=4, layers=3, num_classes=10, in_channels=3, image_size=16))
    assert torch.equal(torch.get_rng_state(), before)


def test_memory_plan_fixes_and_modes(tmp_path, monkeypatch):
    from tndnas.search.algorithm import Search

    plain = Search(tiny(), tmp_path / "a").memory_plan(
        0, Search(tiny(), tmp_path / "a").initial_candidates
    )
    s_ck = Search(tiny("weights.checkpoint=true"), tmp_path / "b")
    ck = s_ck.memory_plan(0, s_ck.initial_candidates)
    assert ck[0]["total_mb"] < plain[0]["total_mb"]
    # between the two: the fix offered is checkpointing, with its estimate
    between = (ck[0]["total_mb"] + plain[0]["total_mb"]) / 2 * 2**20
    monkeypatch.setattr(memory_plan, "available_memory_bytes", lambda device: int(between))
    s = Search(tiny(), tmp_path / "c")
    problem = s.memory_plan(0, s.initial_candidates)[0]["problem"]
    assert "set weights.checkpoint=true (about" in problem and "--resume" not in problem
    # resumed: the fix is an edit of the run's config.yaml
    problem = s.memory_plan(0, s.initial_candidates, resume=True)[0]["problem"]
    assert f"in {tmp_path / 'c' / 'config.yaml'}, which --resume reads" in problem
    # too small even with checkpointing: it is not offered as the fix
    monkeypatch.setattr(memory_plan, "available_memory_bytes", lambda device: 2**20)
    problem = s.memory_plan(0, s.initial_candidates)[0]["problem"]
    assert "(even weights.checkpoint=true needs about" in problem
    # sampled mode is never checkpointed: the flag does not lower its estimate
    sam = [
        Search(tiny("weights.mode=sampled", f"weights.checkpoint={c}"), tmp_path / "d")
        for c in ("false", "true")
    ]
    totals = [[r["total_mb"] for r in x.memory_plan(0, x.initial_candidates)] for x in sam]
    assert totals[0] == totals[1] and totals[0][0] < plain[0]["total_mb"]


def test_dry_run_follows_memory_check(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(memory_plan, "available_memory_bytes", lambda device: 2**20)
    argv = ["search", "--preset", "quick", "--out", str(tmp_path / "dry"), "--dry-run"]
    for item in TINY:
        argv += ["--set", item]
    assert main([*argv, "--set", "weights.memory_check=warn"]) == 0
    assert "tndnas: warning: stage 0 (stages.0; " in capsys.readouterr().err
    assert main([*argv, "--set", "weights.memory_check=ignore"]) == 0
    assert "would start without this check" in capsys.readouterr().out


def test_memory_share_from_the_environment(monkeypatch):
    from tndnas.config import ConfigError
    from tndnas.runtime import MEMORY_SHARE_ENV, MemoryShare, memory_share

    monkeypatch.delenv(MEMORY_SHARE_ENV, raising=False)
    assert memory_share() is None
    monkeypatch.setenv(MEMORY_SHARE_ENV, "3:3000")
    share = memory_share()
    assert share == MemoryShare(3, 3000) and share.bytes_each(torch.device("cpu")) == 1000
    assert MemoryShare(2).bytes_each(torch.device("cpu")) is None  # no pool given, not a GPU
    assert memory_share() == MemoryShare(*map(int, share.encode().split(":")))
    monkeypatch.setenv(MEMORY_SHARE_ENV, "2::3")  # two jobs on each of three GPUs
    assert memory_share() == MemoryShare(2, None, 3)
    for bad in ("0", "two", "2:lots", "-1", "2::0", "2:1:1:1"):
        monkeypatch.setenv(MEMORY_SHARE_ENV, bad)
        with pytest.raises(ConfigError, match=f"{MEMORY_SHARE_ENV}=.* is malformed.*unset it"):
            memory_share()


def test_a_sweep_job_must_fit_its_share(tmp_path, monkeypatch):
    """Each job of a sweep passes the check alone; together they would not fit."""
    from tndnas.runtime import MEMORY_SHARE_ENV, MemoryShare
    from tndnas.search.algorithm import Search

    s = Search(tiny(), tmp_path / "a")
    alone = s.memory_plan(0, s.initial_candidates)
    largest = max(r["total_mb"] for r in alone) * 2**20
    assert all(r["fits"] and r["sweep_jobs_sharing"] is None for r in alone)
    # three jobs at once, memory for two of them: each is told to run at most 2 at once
    monkeypatch.setenv(MEMORY_SHARE_ENV, MemoryShare(3, int(2.5 * largest)).encode())
    shared = s.memory_plan(0, s.initial_candidates)
    assert shared[-1]["sweep_jobs_sharing"] == 3 and not all(r["fits"] for r in shared)
    problem = next(r["problem"] for r in shared if r["problem"])
    assert "this sweep runs 3 jobs at once on cpu" in problem
    assert "run at most 2 at once (tndnas sweep --jobs 2)" in problem
    assert problem.count(".") >= 1 and "\n" not in problem
    # two GPUs, three jobs at once on each, memory for two per GPU: four jobs in all
    monkeypatch.setenv(MEMORY_SHARE_ENV, MemoryShare(3, int(2.5 * largest), 2).encode())
    problem = next(r["problem"] for r in s.memory_plan(0, s.initial_candidates) if r["problem"])
    assert "run at most 2 at once per GPU (tndnas sweep --jobs 4)" in problem
    # enough for all three: no problem
    monkeypatch.setenv(MEMORY_SHARE_ENV, MemoryShare(3, int(3.5 * largest)).encode())
    assert all(r["fits"] and r["problem"] is None for r in s.memory_plan(0, s.initial_candidates))


def test_memory_shares_of_sweep_slots(monkeypatch):
    import tndnas.runtime
    from tndnas.runtime import MemoryShare
    from tndnas.sweep import _child_env, memory_shares

    monkeypatch.setattr(tndnas.runtime, "available_memory_bytes", lambda device: 8000)
    assert memory_shares([None], "cpu", []) == [None]
    assert memory_shares([None] * 4, "cpu", []) == [MemoryShare(4, 8000)] * 4
    assert memory_shares([None] * 2, "auto", []) == [MemoryShare(2, 8000)] * 2  # no GPU here
    # two GPUs, three slots: the two slots on GPU 0 share it, GPU 1 has its slot to itself
    assert memory_shares(["0", "1", "0"], "auto", ["0", "1"]) == [
        MemoryShare(2, None, 2),
        None,
        MemoryShare(2, None, 2),
    ]
    assert memory_shares([None] * 2, "auto", ["0"]) == [MemoryShare(2)] * 2  # one GPU, shared
    monkeypatch.setenv("TNDNAS_MEMORY_SHARE", "9")
    assert _child_env(None, 2, MemoryShare(2, 8000))["TNDNAS_MEMORY_SHARE"] == "2:8000:1"
    assert "TNDNAS_MEMORY_SHARE" not in _child_env(None, 1, None)
