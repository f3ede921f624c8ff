"""Scoring with ops replayed from graphs (policy.cuda_graphs), checked on the CPU by emulation.

The emulation runs the same static buffers, copies and cache as the CUDA graphs, with each op run
directly into its static output buffer; the GPU check is benchmarks/gpu_smoke.py.
"""

import json
import shutil

import pytest
import torch

from tndnas.cli import main
from tndnas.config import ConfigError
from tndnas.search import op_graphs as og
from tndnas.search import search
from tndnas.search.op_graphs import OpGraphs
from tndnas.search.scoring import batch_statistics, score_paths
from tndnas.search.weight_step import weight_step
from tndnas.spaces.darts.supernet import SearchCell

from .test_space import _random_path, _supernet
from .tiny import tiny


def _logits(net, x, paths, graphs=None):
    with torch.no_grad(), batch_statistics(net):
        if graphs is None:
            return net.forward_paths(x, paths)
        graphs.check()
        return net.forward_paths(x, paths, graphs)


@pytest.mark.parametrize("channels_last", [False, True])
def test_replayed_ops_give_the_same_logits_bit_for_bit(channels_last):
    torch.manual_seed(2)
    net = _supernet(layers=5)
    x = torch.randn(6, 3, 16, 16)
    if channels_last:
        net = net.to(memory_format=torch.channels_last)
        x = x.contiguous(memory_format=torch.channels_last)
    gen = torch.Generator().manual_seed(4)
    paths = [_random_path(net, gen) for _ in range(10)]
    graphs = OpGraphs(emulate=True)
    plain = _logits(net, x, paths)
    for _ in range(2):  # first call captures, second only replays
        replayed = _logits(net, x, paths, graphs)
        for a, b in zip(plain, replayed):
            assert torch.equal(a, b)
    # only multi-layer ops were captured, each once per input shape
    captured = {key[0] for key in graphs._replays}
    modules = {id(m): m for m in net.modules()}
    assert captured and all(og._layers(modules[i]) >= og.MIN_LAYERS for i in captured)
    assert graphs.captures == len(graphs)
    assert not any(isinstance(modules[i], SearchCell) for i in captured)


def test_replay_reads_the_weights_after_an_sgd_step():
    torch.manual_seed(3)
    net = _supernet(layers=3)
    x, y = torch.randn(8, 3, 16, 16), torch.randint(0, 10, (8,))
    gen = torch.Generator().manual_seed(5)
    paths = [_random_path(net, gen) for _ in range(4)]
    graphs = OpGraphs(emulate=True)
    before = _logits(net, x, paths, graphs)
    opt = torch.optim.SGD(net.parameters(), lr=0.5, momentum=0.9)
    weight_step(net, opt, x, y, 5.0, path=paths[0])
    weight_step(net, opt, x, y, 5.0, path=paths[1])
    n = graphs.captures
    after = _logits(net, x, paths, graphs)
    assert graphs.captures == n  # updated in place: nothing captured again
    assert not torch.equal(before[0], after[0])
    for a, b in zip(_logits(net, x, paths), after):
        assert torch.equal(a, b)


def test_moved_parameters_drop_the_graphs():
    torch.manual_seed(6)
    net = _supernet(layers=3)
    x = torch.randn(4, 3, 16, 16)
    gen = torch.Generator().manual_seed(1)
    paths = [_random_path(net, gen) for _ in range(3)]
    graphs = OpGraphs(emulate=True)
    _logits(net, x, paths, graphs)
    assert len(graphs) > 0 and not graphs.check()
    net = net.to(memory_format=torch.channels_last)  # new storage for every conv weight
    assert graphs.check() and len(graphs) == 0
    xc = x.contiguous(memory_format=torch.channels_last)
    for a, b in zip(_logits(net, xc, paths), _logits(net, xc, paths, graphs)):
        assert torch.equal(a, b)
    # parameters replaced by new tensors (load_state_dict with assign=True) are noticed too
    state = {k: v.clone() + 0.01 for k, v in net.state_dict().items()}
    net.load_state_dict(state, assign=True)
    assert graphs.check() and len(graphs) == 0
    for a, b in zip(_logits(net, xc, paths), _logits(net, xc, paths, graphs)):
        assert torch.equal(a, b)


def test_graphs_are_not_used_with_autograd():
    net = _supernet(layers=3)
    graphs = OpGraphs(emulate=True)
    op = net.cells[0].edges[0].ops[3]
    out = graphs(op, torch.randn(2, 4, 16, 16))
    assert out.requires_grad and len(graphs) == 0


def test_score_paths_with_graphs_equals_without():
    torch.manual_seed(8)
    net = _supernet(layers=5)
    x, y = torch.randn(16, 3, 16, 16), torch.randint(0, 10, (16,))
    gen = torch.Generator().manual_seed(9)
    paths = [_random_path(net, gen) for _ in range(6)]
    graphs = OpGraphs(emulate=True)
    assert torch.equal(score_paths(net, x, y, paths), score_paths(net, x, y, paths, graphs=graphs))


def test_cuda_graphs_on_the_cpu_is_one_line_error(tmp_path, capsys):
    with pytest.raises(ConfigError, match="policy.cuda_graphs=true needs a CUDA device"):
        search(
            tiny("policy.cuda_graphs=true", "device=cpu"),
            tmp_path / "r",
            progress=False,
            plots=False,
        )
    code = main(["search", "--preset", "quick", "--out", str(tmp_path / "c"), "--device", "cpu",
                 "--set", "policy.cuda_graphs=true", "--no-progress"])  # fmt: skip
    err = capsys.readouterr().err.strip()
    assert code == 2 and "\n" not in err and "policy.cuda_graphs=false" in err


@pytest.mark.xdist_group("tiny_run")  # one worker runs the shared search once
def test_search_with_replayed_scoring_finds_the_same(tmp_path, monkeypatch, tiny_run):
    """End to end (emulated): the same alpha updates, metrics and genotype as direct scoring."""
    monkeypatch.setattr(og, "EMULATE_WITHOUT_CUDA", True)
    captured = []
    real = OpGraphs._capture
    monkeypatch.setattr(OpGraphs, "_capture", lambda self, *a: captured.append(1) or real(self, *a))
    shutil.copytree(tiny_run, tmp_path / "plain")  # direct scoring: the suite's shared run
    search(tiny("policy.cuda_graphs=true"), tmp_path / "graphs", progress=False, plots=False)
    assert len(captured) > 10
    for name in ("genotype.json", "genotype_stage0.json"):
        assert (tmp_path / "plain" / name).read_text() == (tmp_path / "graphs" / name).read_text()

    def alpha(run):
        lines = (tmp_path / run / "metrics.jsonl").read_text().splitlines()
        return [r for r in map(json.loads, lines) if r["kind"] == "alpha"]

    a, b = alpha("plain"), alpha("graphs")
    assert len(a) == len(b) > 0 and a == b
    assert any("argmax_acc" in r for r in a)
