"""bf16 autocast (``weights.amp``/``amp``, used on CUDA) keeps every step's arithmetic sound.

The search enables it on CUDA only; the CPU also runs bf16 autocast, so the code path -- casts,
the float32 loss, BatchNorm on batch statistics, argmax on bf16 logits -- is checked here.
"""

import torch

from tndnas.macro import Macro
from tndnas.op_sets import resolve_op_set
from tndnas.search.scoring import score_paths
from tndnas.search.weight_step import weight_step
from tndnas.spaces.darts.genotype import CELL_TYPES, edge_pairs, load_genotype
from tndnas.spaces.darts.network import EvalNetwork
from tndnas.spaces.darts.supernet import Supernet
from tndnas.train.run import train_step


def _net() -> Supernet:
    torch.manual_seed(0)
    cand = {ct: [list(resolve_op_set(f"tnd-{ct}")) for _ in edge_pairs()] for ct in CELL_TYPES}
    return Supernet(cand, Macro(channels=4, layers=3, num_classes=10, in_channels=3, image_size=8))


def test_mixed_and_sampled_steps_under_bf16_autocast_match_float32():
    x, y = torch.randn(16, 3, 8, 8), torch.randint(0, 10, (16,))
    w = {
        ct: torch.softmax(torch.randn(14, len(resolve_op_set(f"tnd-{ct}"))), 1) for ct in CELL_TYPES
    }
    path = {"normal": [2] * 14, "reduce": [3] * 14}
    losses = {}
    for amp in (False, True):
        net = _net()
        opt = torch.optim.SGD(net.parameters(), lr=0.05)
        loss_mixed, correct = weight_step(net, opt, x, y, 5.0, weights=w, amp=amp)
        loss_path, _ = weight_step(net, opt, x, y, 5.0, path=path, amp=amp)
        assert loss_mixed.dtype == torch.float32 and correct.dtype == torch.int64
        assert all(torch.isfinite(p).all() for p in net.parameters())
        losses[amp] = (float(loss_mixed), float(loss_path))
    for a, b in zip(losses[False], losses[True]):
        assert abs(a - b) < 0.05 * abs(a), losses  # bf16 rounding, not a different computation


def test_scoring_and_evaluation_training_under_bf16_autocast():
    net = _net()
    x, y = torch.randn(16, 3, 8, 8), torch.randint(0, 10, (16,))
    paths = [{ct: [k % 3 + 1] * 14 for ct in CELL_TYPES} for k in range(3)]
    accs = score_paths(net, x, y, paths, amp=True)
    assert accs.dtype == torch.float32 and ((accs >= 0) & (accs <= 1)).all()
    model = EvalNetwork(load_genotype("darts-v2"), Macro(8, 5, 10, 3, 8), auxiliary=True)
    opt = torch.optim.SGD(model.parameters(), lr=0.05)
    loss, correct = train_step(model, opt, x, y, auxiliary_weight=0.4, grad_clip=5.0, amp=True)
    assert loss.dtype == torch.float32 and torch.isfinite(loss) and 0 <= int(correct) <= 16
