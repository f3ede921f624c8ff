"""Search space: op registry, op sets, genotypes, evaluation network, supernet."""

import json

import pytest
import torch
from torch import nn

from tndnas.macro import Macro
from tndnas.measure.flops import count_parameters
from tndnas.op_sets import resolve_op_set
from tndnas.ops import UnknownOpError, build_op, register_op
from tndnas.spaces.base import GenotypeError
from tndnas.spaces.darts.genotype import (
    derive_genotype,
    edge_pairs,
    genotype_from_dict,
    load_genotype,
)
from tndnas.spaces.darts.network import EvalNetwork
from tndnas.spaces.darts.supernet import Supernet, path_genotype


# ------------------------------------------------------------------ exact DARTS / P-DARTS counts
@pytest.mark.parametrize(
    "name,channels,classes,without_aux,with_aux",
    [
        ("darts-v2", 36, 10, 3_349_342, 3_825_768),
        ("darts-v2", 36, 100, 3_401_272, None),
        ("pdarts", 36, 10, 3_433_798, None),
        ("pdarts", 16, 10, 737_338, None),
        ("pdarts", 24, 10, 1_579_282, None),
    ],
)
def test_exact_parameter_counts(name, channels, classes, without_aux, with_aux):
    net = EvalNetwork(
        load_genotype(name),
        Macro(channels=channels, layers=20, num_classes=classes),
        auxiliary=True,
    )
    assert count_parameters(net) == without_aux
    if with_aux is not None:
        assert count_parameters(net, exclude_auxiliary=False) == with_aux


def test_eval_network_forward_and_aux():
    net = EvalNetwork(
        load_genotype("darts-v2"), Macro(channels=8, layers=5, num_classes=7), auxiliary=True
    )
    net.drop_path_prob = 0.2
    logits, aux = net(torch.randn(2, 3, 32, 32))
    assert logits.shape == (2, 7) and aux.shape == (2, 7)
    net.eval()
    logits, aux = net(torch.randn(2, 3, 32, 32))
    assert aux is None


def test_eval_network_small_images_and_one_channel():
    net = EvalNetwork(
        load_genotype("pdarts"),
        Macro(channels=4, layers=5, num_classes=10, in_channels=1, image_size=8),
        auxiliary=True,
    )
    logits, aux = net(torch.randn(3, 1, 8, 8))
    assert logits.shape == (3, 10) and aux.shape == (3, 10)


# ------------------------------------------------------------------ op registry and op sets
def test_op_registry_and_sets():
    assert len(resolve_op_set("tnd-normal")) == 10
    assert len(resolve_op_set("tnd-reduce")) == 6
    assert len(resolve_op_set("darts")) == 8
    x = torch.randn(2, 6, 8, 8)
    for name in resolve_op_set("tnd-normal") + resolve_op_set("tnd-reduce"):
        for stride in (1, 2):
            y = build_op(name, 6, stride, True)(x)
            assert y.shape == (2, 6, 8 // stride, 8 // stride), name


def test_unknown_op_lists_known():
    with pytest.raises(UnknownOpError) as e:
        build_op("sep_conv_3x4", 4, 1)
    msg = str(e.value)
    assert "sep_conv_3x4" in msg and "sep_conv_3x3" in msg and "conv_1x1" in msg


def test_register_new_op():
    register_op(
        "test_conv5",
        lambda C, stride, affine: nn.Conv2d(C, C, 5, stride, 2, bias=False),
        overwrite=True,
    )
    g = genotype_from_dict({"normal": [["test_conv5", 0, 2]], "reduce": [["max_pool_3x3", 1, 2]]})
    net = EvalNetwork(g, Macro(channels=4, layers=3, image_size=8))
    assert net(torch.randn(1, 3, 8, 8))[0].shape == (1, 10)
    with pytest.raises(ValueError):
        register_op("test_conv5", lambda C, s, a: nn.Identity())


# ------------------------------------------------------------------ genotype JSON and validation
def test_genotype_json_round_trip(tmp_path):
    g = load_genotype("pdarts")
    path = tmp_path / "g.json"
    g.to_json(path)
    g2 = load_genotype(path)
    assert g2 == g
    data = json.loads(path.read_text())
    data["extra"] = {"anything": 1}
    g3 = genotype_from_dict(data)
    assert g3 == g and g3.metadata["extra"] == {"anything": 1}


@pytest.mark.parametrize(
    "data,needle",
    [
        ({"normal": []}, "missing key"),
        (
            {"normal": [["conv_9x9", 0, 2]], "reduce": [["skip_connect", 0, 2]]},
            "unknown operation 'conv_9x9'",
        ),
        ({"normal": [["conv_3x3", 0, 7]], "reduce": [["skip_connect", 0, 2]]}, "ends at node 7"),
        ({"normal": [["conv_3x3", -1, 2]], "reduce": [["skip_connect", 0, 2]]}, "out of range"),
        (
            {"normal": [["conv_3x3", 3, 3]], "reduce": [["skip_connect", 0, 2]]},
            "does not point forward",
        ),
        (
            {"normal": [["conv_3x3", 4, 3]], "reduce": [["skip_connect", 0, 2]]},
            "does not point forward",
        ),
        (
            {"normal": [["none", 0, 2], ["conv_3x3", 3, 4]], "reduce": [["skip_connect", 0, 2]]},
            "no live intermediate node",
        ),
        (
            {"normal": [["conv_3x3", 0]], "reduce": [["skip_connect", 0, 2]]},
            "[op, from_node, to_node]",
        ),
        (
            {
                "normal": [["conv_3x3", 0, 2], ["conv_1x1", 0, 2]],
                "reduce": [["skip_connect", 0, 2]],
            },
            "twice",
        ),
        ({"normal": [["conv_3x3", "0", 2]], "reduce": [["skip_connect", 0, 2]]}, "integer"),
        ({"normal": "conv_3x3", "reduce": []}, "must be a list"),
        ([1, 2], "JSON object"),
    ],
)
def test_genotype_validation_errors(data, needle):
    with pytest.raises(GenotypeError) as e:
        genotype_from_dict(data)
    assert needle in str(e.value)


def test_invalid_json_and_missing_file(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    with pytest.raises(GenotypeError, match="not valid JSON"):
        load_genotype(bad)
    with pytest.raises(GenotypeError, match="neither"):
        load_genotype(tmp_path / "missing.json")


def test_live_edges_remove_dead_nodes():
    g = genotype_from_dict(
        {
            # node 3 has only a 'none' input, so 3->4 is removed with it; node 4 still lives through 1->4
            "normal": [
                ["conv_3x3", 0, 2],
                ["none", 1, 3],
                ["conv_1x1", 3, 4],
                ["skip_connect", 1, 4],
                ["conv_3x3", 3, 5],
            ],
            "reduce": [["max_pool_3x3", 0, 2]],
        }
    )
    edges, nodes = g.live("normal")
    assert nodes == [2, 4]
    assert edges == [("conv_3x3", 0, 2), ("skip_connect", 1, 4)]
    net = EvalNetwork(g, Macro(channels=4, layers=3, image_size=8))
    assert net.cells[0].multiplier == 2
    assert (
        net.cells[1].multiplier == 1 and net.cells[1].preprocess1 is None
    )  # reduce cell reads only input 0


def test_derive_genotype_argmax_and_none():
    cand = {ct: [["none", "conv_3x3", "skip_connect"]] * 14 for ct in ("normal", "reduce")}
    w = torch.zeros(14, 3)
    w[:, 0] = 1.0  # 'none' everywhere ...
    w[0, 1] = 2.0  # ... except 0->2
    w[13, 2] = 2.0  # and 4->5 (node 4 is dead, so this edge is removed)
    g = derive_genotype({"normal": w, "reduce": w}, cand)
    assert g.live("normal")[0] == [("conv_3x3", 0, 2)]
    assert len(g.normal) == 14  # all 14 edges recorded, 'none' ones included


# ------------------------------------------------------------------ supernet
def _supernet(layers=5, C=4, normal="tnd-normal", reduce="tnd-reduce"):
    cand = {
        "normal": [list(resolve_op_set(normal))] * 14,
        "reduce": [list(resolve_op_set(reduce))] * 14,
    }
    return Supernet(
        cand, Macro(channels=C, layers=layers, num_classes=10, in_channels=3, image_size=16)
    )


def _random_path(net, gen):
    cand = net.candidates()
    return {
        ct: [int(torch.randint(len(ops), (1,), generator=gen)) for ops in cand[ct]] for ct in cand
    }


def _path_weights(net, path):
    """One-hot weights of a path, with edges leaving a dead node set to 'none' (as the path runs them)."""
    cand = net.candidates()
    out = {}
    for ct in cand:
        g = path_genotype(cand, path)
        live = {(s, d) for _, s, d in g.live(ct)[0]}
        w = torch.zeros(14, len(cand[ct][0]))
        for e, (s, d) in enumerate(edge_pairs()):
            k = path[ct][e] if (s, d) in live else cand[ct][e].index("none")
            w[e, k] = 1.0
        out[ct] = w
    return out


def test_sampled_path_equals_one_hot_mixed():
    torch.manual_seed(1)
    net = _supernet()
    x = torch.randn(4, 3, 16, 16)
    net.train()
    for _ in range(3):  # populate BatchNorm running statistics
        net(
            x,
            {
                ct: torch.softmax(torch.randn(14, len(c[0])), -1)
                for ct, c in net.candidates().items()
            },
        )
    net.eval()
    gen = torch.Generator().manual_seed(0)
    with torch.no_grad():
        for _ in range(8):
            path = _random_path(net, gen)
            a = net.forward_path(x, path)
            b = net(x, _path_weights(net, path))
            torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-5)


def test_sampled_path_all_none_cell_runs():
    """Every edge 'none': the two forwards agree on the same input, and no input reaches the
    classifier (the logits are its bias alone, whatever the images)."""
    net = _supernet().eval()
    cand = net.candidates()
    path = {ct: [cand[ct][0].index("none")] * 14 for ct in cand}
    x, other = torch.randn(2, 3, 16, 16), torch.randn(2, 3, 16, 16)
    with torch.no_grad():
        a = net.forward_path(x, path)
        torch.testing.assert_close(a, net(x, _path_weights(net, path)))
        torch.testing.assert_close(a, net.forward_path(other, path))
        torch.testing.assert_close(a, net.classifier.bias.expand_as(a))


def test_sampled_path_runs_only_chosen_ops():
    net = _supernet().eval()
    called = []
    for cell in net.cells:
        for edge in cell.edges:
            for name, op in zip(edge.op_names, edge.ops):
                op.register_forward_hook(lambda m, i, o, name=name: called.append(name))
    cand = net.candidates()
    path = {
        "normal": [cand["normal"][0].index("conv_3x3")] * 14,
        "reduce": [cand["reduce"][0].index("max_pool_3x3")] * 14,
    }
    with torch.no_grad():
        net.forward_path(torch.randn(1, 3, 16, 16), path)
    assert set(called) == {"conv_3x3", "max_pool_3x3"}
    assert "none" not in called


def test_shrink_removes_exactly_those_modules():
    net = _supernet()
    before = {id(m) for m in net.modules()}
    n_normal = sum(1 for c in net.cells if not c.reduction)
    cand = net.candidates()
    keep = {ct: [[0, 2, 3] for _ in range(14)] for ct in cand}
    removed_ops, kept_ops = [], []
    for cell in net.cells:
        for edge in cell.edges:
            removed_ops += [op for k, op in enumerate(edge.ops) if k not in (0, 2, 3)]
            kept_ops += [op for k, op in enumerate(edge.ops) if k in (0, 2, 3)]
    params_before = {id(p) for p in net.parameters()}
    net.shrink(keep)
    after = {id(m) for m in net.modules()}
    for op in removed_ops:
        assert id(op) not in after
    assert all(id(op) in after and id(op) in before for op in kept_ops)
    removed_params = {id(p) for op in removed_ops for p in op.parameters()}
    assert {id(p) for p in net.parameters()} == params_before - removed_params
    new = net.candidates()
    assert new["normal"][5] == [cand["normal"][5][k] for k in (0, 2, 3)]
    assert len(net.cells[0].edges[0].ops) == 3
    assert n_normal == 3
    # still runs both forwards
    x = torch.randn(2, 3, 16, 16)
    w = {ct: torch.full((14, 3), 1 / 3) for ct in new}
    assert net(x, w).shape == (2, 10)
    assert net.forward_path(x, {ct: [1] * 14 for ct in new}).shape == (2, 10)


def test_derive_all_none_keeps_likeliest_input_op_and_says_so():
    cand = {ct: [["none", "conv_3x3", "skip_connect"]] * 14 for ct in ("normal", "reduce")}
    w = torch.zeros(14, 3)
    w[:, 0] = 5.0  # 'none' wins everywhere
    w[1, 2] = 4.0  # the likeliest other op on an input edge: skip_connect 1->2
    g = derive_genotype({"normal": w, "reduce": w}, cand)
    assert g.live("normal")[0] == [("skip_connect", 1, 2)]
    assert "normal_all_none" in g.metadata and "reduce_all_none" in g.metadata


def test_checkpointed_mixed_step_equals_plain_step():
    """Activation checkpointing changes memory, not results: same grads, same BatchNorm buffers."""
    from tndnas.search.weight_step import weight_step

    nets = []
    for ckpt in (False, True):
        torch.manual_seed(3)
        net = _supernet(layers=4)
        net.checkpoint = ckpt
        net.set_skip_dropout(0.3)  # dropout is replayed identically on recompute
        nets.append(net)
    x, y = torch.randn(8, 3, 16, 16), torch.randint(0, 10, (8,))
    w = {
        ct: torch.softmax(torch.randn(14, len(c[0])), -1) for ct, c in nets[0].candidates().items()
    }
    for net in nets:
        torch.manual_seed(7)
        opt = torch.optim.SGD(net.parameters(), lr=0.1, momentum=0.9)
        weight_step(net, opt, x, y, 5.0, weights=w)
    a, b = nets[0].state_dict(), nets[1].state_dict()
    for k in a:
        torch.testing.assert_close(a[k], b[k], rtol=1e-5, atol=1e-6, msg=k)


@pytest.mark.parametrize("layers", [3, 5])
def test_several_paths_at_once_equal_one_at_a_time(layers):
    """forward_paths computes the paths' shared prefix once (stem, preprocessing of the inputs
    that are still the stem output, each op on them); its logits are those of separate
    forward_path calls, bit for bit, on batch statistics as in scoring."""
    from tndnas.search.scoring import batch_statistics

    torch.manual_seed(7)
    net = _supernet(layers=layers)
    gen = torch.Generator().manual_seed(3)
    paths = [_random_path(net, gen) for _ in range(12)]
    paths += [paths[0], {ct: [0] * 14 for ct in ("normal", "reduce")}]  # a repeat; all 'none'
    x = torch.randn(6, 3, 16, 16)
    with torch.no_grad(), batch_statistics(net):
        together = net.forward_paths(x, paths)
        alone = [net.forward_path(x, p) for p in paths]
    assert len(together) == len(paths)
    for a, b in zip(together, alone):
        assert torch.equal(a, b)


def test_channels_last_supernet_matches():
    torch.manual_seed(4)
    net = _supernet().eval()
    x = torch.randn(4, 3, 16, 16)
    path = {"normal": [3] * 14, "reduce": [2] * 14}
    with torch.no_grad():
        a = net.forward_path(x, path)
        net = net.to(memory_format=torch.channels_last)
        b = net.forward_path(x.contiguous(memory_format=torch.channels_last), path)
    torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-5)


def test_channels_last_evaluation_network_trains_the_same():
    """tndnas train uses channels-last on every device: same step, up to float rounding."""
    from tndnas.spaces.darts.genotype import load_genotype
    from tndnas.train.run import train_step

    states = []
    for channels_last in (False, True):
        torch.manual_seed(5)
        net = EvalNetwork(load_genotype("darts-v2"), Macro(8, 5, 10, 3, 16), auxiliary=True)
        x, y = torch.randn(8, 3, 16, 16), torch.randint(0, 10, (8,))
        if channels_last:
            net = net.to(memory_format=torch.channels_last)
            x = x.contiguous(memory_format=torch.channels_last)
        opt = torch.optim.SGD(net.parameters(), lr=0.1, momentum=0.9)
        for _ in range(2):
            loss, _ = train_step(net, opt, x, y, auxiliary_weight=0.4, grad_clip=5.0, amp=False)
        states.append((loss, net.state_dict()))
    torch.testing.assert_close(states[0][0], states[1][0], rtol=1e-4, atol=1e-5)
    for k, v in states[0][1].items():
        torch.testing.assert_close(v, states[1][1][k], rtol=1e-4, atol=1e-5, msg=k)


def test_compiled_ops_give_the_same_results():
    """weights.compile: every op really compiled in place (Dynamo traces its forward); same
    outputs, same gradients, same state_dict keys."""
    from torch._dynamo.utils import counters

    from tndnas.search.weight_step import weight_step

    ops = ["none", "skip_connect", "sep_conv_3x3", "max_pool_3x3"]
    # one intermediate node (2 edges per cell), one op of each kind (a chain of convolutions, an
    # identity that is a factorised reduction at stride 2, a pool, none): a fraction of the tracing
    cand = {ct: [ops] * 2 for ct in ("normal", "reduce")}
    macro = Macro(channels=4, layers=3, num_classes=10, in_channels=1, image_size=8, steps=1)
    nets = []
    torch._dynamo.reset()
    counters.clear()
    for compiled in (False, True):
        torch.manual_seed(5)
        net = Supernet(cand, macro)
        if compiled:
            net.compile_ops(backend="aot_eager")  # traced and differentiated, no code generation
        nets.append(net)
    assert list(nets[0].state_dict()) == list(nets[1].state_dict())
    x, y = torch.randn(8, 1, 8, 8), torch.randint(0, 10, (8,))
    w = {ct: torch.full((2, len(ops)), 1 / len(ops)) for ct in cand}
    for net in nets:
        opt = torch.optim.SGD(net.parameters(), lr=0.1)
        weight_step(net, opt, x, y, 5.0, weights=w)
        net.eval()
    # every kind of module was traced: separable and factorised convs, pools, stem, preprocessing
    traced = {k for k in counters["stats"]} | set(counters["frames"])
    assert counters["stats"]["unique_graphs"] >= 10, (traced, dict(counters["stats"]))
    path = {"normal": [2] * 2, "reduce": [3] * 2}
    with torch.no_grad():
        torch.testing.assert_close(
            nets[0].forward_path(x, path), nets[1].forward_path(x, path), rtol=1e-4, atol=1e-5
        )
    for k, v in nets[0].state_dict().items():
        torch.testing.assert_close(v, nets[1].state_dict()[k], rtol=1e-4, atol=1e-5, msg=k)
    torch._dynamo.reset()


def test_op_traits_live_in_the_registry():
    """An op's plot colour and whether the supernet normalises it (pools) are registered with it."""
    from tndnas.ops import op_spec
    from tndnas.report.plots import op_colour
    from tndnas.spaces.darts.supernet import _candidate_module

    assert op_spec("max_pool_3x3").parameter_free and not op_spec("sep_conv_3x3").parameter_free
    register_op(
        "test_blur", lambda C, stride, affine: nn.AvgPool2d(3, stride, 1), colour="#123456",
        parameter_free=True, overwrite=True,
    )  # fmt: skip
    assert op_colour("test_blur") == "#123456" and op_colour("max_pool_3x3") == "#d62728"
    assert op_colour("not_registered_here").startswith("#")  # a run's op from another process
    wrapped = _candidate_module("test_blur", 4, 1, 0.0)
    assert isinstance(wrapped[-1], nn.BatchNorm2d)  # normalised like a pool
    register_op("test_blur", lambda C, stride, affine: nn.AvgPool2d(3, stride, 1), overwrite=True)
    assert not isinstance(_candidate_module("test_blur", 4, 1, 0.0), nn.Sequential)


@pytest.mark.parametrize("stride", [1, 2])
@pytest.mark.parametrize("shape", [(4, 8, 32, 32), (2, 5, 7, 9), (3, 16, 1, 6)])
@pytest.mark.parametrize("channels_last", [False, True])
def test_cpu_average_pool_is_torchs(stride, shape, channels_last, monkeypatch):
    """avg_pool_3x3's CPU kernel (a depthwise convolution of ones over the window counts) gives
    torch's count_include_pad=False pooling: output and input gradient, in either memory format,
    at the borders of odd sizes; the output keeps the input's memory format."""
    from tndnas import kernels
    from tndnas.kernels import AvgPool3x3

    monkeypatch.setattr(kernels, "MIN_VALUES_PER_CHANNEL", 1)  # the kernel on these small inputs

    x = torch.randn(*shape)
    if channels_last:
        x = x.contiguous(memory_format=torch.channels_last)
    ours, torchs = x.clone().requires_grad_(), x.clone().requires_grad_()
    y = AvgPool3x3(stride)(ours)
    ref = nn.AvgPool2d(3, stride, 1, count_include_pad=False)(torchs)
    torch.testing.assert_close(y, ref, rtol=1e-6, atol=1e-6)
    g = torch.randn_like(ref)
    y.backward(g)
    ref.backward(g)
    torch.testing.assert_close(ours.grad, torchs.grad, rtol=1e-5, atol=1e-6)
    if channels_last and shape[2] > 1:
        assert y.is_contiguous(memory_format=torch.channels_last)


def test_pools_count_and_export_as_pools():
    """A FLOP count and an ONNX export see the average pool as pooling: no FLOPs (pooling is
    free in the counts), an AveragePool node in the graph, not the convolution the CPU runs."""
    import io

    from tndnas.kernels import AvgPool3x3
    from tndnas.measure.flops import count_flops

    assert count_flops(AvgPool3x3(1), (1, 8, 16, 16)) == 0
    assert count_flops(build_op("avg_pool_3x3", 8, 2, False), (1, 8, 16, 16)) == 0
    onnx = pytest.importorskip("onnx")
    buf = io.BytesIO()
    torch.onnx.export(AvgPool3x3(1), (torch.randn(1, 4, 8, 8),), buf, dynamo=False)
    kinds = {n.op_type for n in onnx.load_from_string(buf.getvalue()).graph.node}
    assert "AveragePool" in kinds and "Conv" not in kinds


@pytest.mark.parametrize("affine", [True, False])
@pytest.mark.parametrize("momentum", [0.1, None, 0.0])
@pytest.mark.parametrize("shape", [(8, 8, 6, 6), (2, 3, 5, 7), (4, 16, 4, 4)])
def test_cpu_batch_norm_is_torchs(affine, momentum, shape, monkeypatch):
    """BatchNorm2d's CPU kernel for few channels (channels-last, batch statistics) gives torch's
    numbers: output, input/weight/bias gradients and running statistics over three training
    steps (momentum, a cumulative average, momentum 0 as a recomputed cell uses), then eval
    mode on the running statistics and batch statistics without tracking (scoring)."""
    from tndnas import kernels
    from tndnas.kernels import BatchNorm2d

    monkeypatch.setattr(kernels, "MIN_VALUES_PER_CHANNEL", 1)  # the kernel on these small inputs
    calls = []
    own = kernels._BatchStatisticsNorm.apply
    monkeypatch.setattr(
        kernels._BatchStatisticsNorm, "apply", lambda *a: calls.append(1) or own(*a)
    )

    ours = BatchNorm2d(shape[1], affine=affine, momentum=momentum)
    torchs = nn.BatchNorm2d(shape[1], affine=affine, momentum=momentum)
    if affine:
        with torch.no_grad():
            for m in (ours, torchs):
                m.weight.copy_(torch.linspace(0.5, 1.5, shape[1]))
                m.bias.copy_(torch.linspace(-1, 1, shape[1]))
    gen = torch.Generator().manual_seed(0)
    for _ in range(3):
        x = (3 * torch.randn(*shape, generator=gen) + 2).contiguous(
            memory_format=torch.channels_last
        )
        a, b = x.clone().requires_grad_(), x.clone().requires_grad_()
        ya, yb = ours(a), torchs(b)
        torch.testing.assert_close(ya, yb, rtol=1e-4, atol=1e-5)
        g = torch.randn(*shape, generator=gen).contiguous(memory_format=torch.channels_last)
        ya.backward(g)
        yb.backward(g)
        torch.testing.assert_close(a.grad, b.grad, rtol=1e-4, atol=1e-5)
        if affine:
            torch.testing.assert_close(ours.weight.grad, torchs.weight.grad, rtol=1e-4, atol=1e-4)
            torch.testing.assert_close(ours.bias.grad, torchs.bias.grad, rtol=1e-4, atol=1e-4)
    for name, buf in torchs.named_buffers():
        torch.testing.assert_close(dict(ours.named_buffers())[name], buf, rtol=1e-5, atol=1e-6)
    assert ours.state_dict().keys() == torchs.state_dict().keys()
    ours.eval()
    torchs.eval()
    torch.testing.assert_close(ours(x), torchs(x), rtol=1e-4, atol=1e-5)
    ours.train()
    ours.track_running_stats = False  # the search's scoring: batch statistics, no update
    before = ours.running_mean.clone()
    with torch.no_grad():
        y = ours(x)
    torch.testing.assert_close(y, nn.functional.batch_norm(x, None, None, ours.weight, ours.bias, True),
                               rtol=1e-4, atol=1e-5)  # fmt: skip
    assert torch.equal(ours.running_mean, before)
    assert len(calls) == (4 if shape[1] < kernels.FEW_CHANNELS else 0)  # 3 steps, scoring


def test_cpu_batch_norm_keeps_its_precision_far_from_zero(monkeypatch):
    """Inputs whose mean is 10^4 times their spread: against float64, the statistics are as
    exact as torch's own kernel (a pivot per channel keeps E[x^2] - E[x]^2 from cancelling),
    forward and backward."""
    from tndnas import kernels
    from tndnas.kernels import BatchNorm2d

    monkeypatch.setattr(kernels, "MIN_VALUES_PER_CHANNEL", 1)

    x = (1e4 + torch.randn(16, 8, 5, 5)).contiguous(memory_format=torch.channels_last)
    g = torch.randn_like(x)
    exact = x.double().requires_grad_()
    y_exact = nn.functional.batch_norm(exact, None, None, training=True)
    y_exact.backward(g.double())
    errors = {}
    for name, bn in (
        ("ours", BatchNorm2d(8, affine=False)),
        ("torch", nn.BatchNorm2d(8, affine=False)),
    ):
        xi = x.clone().requires_grad_()
        y = bn(xi)
        y.backward(g)
        errors[name] = ((y.double() - y_exact).abs().max().item(),
                        (xi.grad.double() - exact.grad).abs().max().item())  # fmt: skip
    assert errors["ours"][0] <= max(2 * errors["torch"][0], 1e-3), errors
    assert errors["ours"][1] <= max(2 * errors["torch"][1], 1e-3), errors


def test_cpu_kernels_step_aside_where_torchs_must_run(monkeypatch):
    """Under autocast, for other dtypes, inside reference_kernels() and while tracing, the two
    layers run torch's own kernels (what an export writes, what a FLOP count and a bf16 step see);
    so do small tensors, where a few more calls cost more than the kernel saves."""
    from tndnas import kernels

    calls = []
    conv2d, own = kernels.F.conv2d, kernels._BatchStatisticsNorm.apply
    monkeypatch.setattr(
        kernels.F, "conv2d", lambda *a, **k: calls.append("pool") or conv2d(*a, **k)
    )
    monkeypatch.setattr(
        kernels._BatchStatisticsNorm, "apply", lambda *a: calls.append("bn") or own(*a)
    )
    pool, bn = kernels.AvgPool3x3(1), kernels.BatchNorm2d(4)
    x = torch.randn(2, 4, 6, 6).contiguous(memory_format=torch.channels_last)
    monkeypatch.setattr(kernels, "MIN_VALUES_PER_CHANNEL", 2 * 6 * 6 + 1)  # x is too small
    pool(x), bn(x)
    assert calls == []
    monkeypatch.setattr(kernels, "MIN_VALUES_PER_CHANNEL", 2 * 6 * 6)  # x is large enough
    pool(x), bn(x)
    assert calls == ["pool", "pool", "bn"]  # the window sums and counts, the statistics
    calls.clear()
    with torch.autocast("cpu", dtype=torch.bfloat16):
        pool(x), bn(x)
    pool(x.double()), kernels.BatchNorm2d(4).double()(x.double())
    with kernels.reference_kernels():
        pool(x), bn(x)
    torch.jit.trace(nn.Sequential(pool, bn), (x,), check_trace=False)
    wide = torch.randn(2, kernels.POOL_CHANNELS_LAST_FROM, 6, 6)
    kernels.AvgPool3x3(1)(wide.contiguous(memory_format=torch.channels_last))  # torch's is faster
    assert calls == []
    kernels.AvgPool3x3(1)(wide)  # the contiguous format: ours at every width
    assert calls == ["pool", "pool"]
