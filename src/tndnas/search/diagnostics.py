"""Is the search learning?  Per-stage figures of how far alpha moved, and the warning for a
stage whose alpha did not move."""

from __future__ import annotations

import math
from collections.abc import Mapping

import torch

from ..strategy import CategoricalPolicy, mean_entropy

#: A stage whose policy ends with at least this share of its maximum entropy has not learned.
STILL_ENTROPY_RATIO = 0.97


def max_entropy(alpha: Mapping[str, torch.Tensor]) -> float:
    """The mean entropy per edge (nats) of uniform probabilities over each edge's candidates:
    ``mean over edges of log K``, the value :meth:`CategoricalPolicy.entropy` starts near."""
    logs = [math.log(a.shape[1]) for a in alpha.values() for _ in range(a.shape[0])]
    return sum(logs) / len(logs)


def stage_learning(
    alpha_start: Mapping[str, torch.Tensor], policy: CategoricalPolicy, updates: int
) -> dict:
    """How far alpha moved in a stage: entropy (mean per edge, nats) at the stage's start and
    end and its maximum, the end entropy as a share of the maximum, and the share of edges whose
    most likely op changed between start and end."""
    h_max = max_entropy(policy.alpha)
    h_end = float(policy.entropy())
    changed = torch.cat(
        [alpha_start[ct].argmax(-1) != a.argmax(-1) for ct, a in policy.alpha.items()]
    )
    return {
        "alpha_updates": updates,
        "entropy_start": float(mean_entropy(alpha_start)),
        "entropy_end": h_end,
        "entropy_max": h_max,
        "entropy_end_ratio": h_end / h_max if h_max > 0 else 0.0,
        "argmax_changed_share": float(changed.float().mean()),
    }


def still_warning(stage: int, stats: Mapping) -> str | None:
    """One sentence when a stage's alpha did not move (end entropy >= 97 % of its maximum),
    naming the settings to change; None when it moved or when the stage had no candidates to
    choose between."""
    if stats["entropy_max"] <= 0 or stats["entropy_end_ratio"] < STILL_ENTROPY_RATIO:
        return None
    return (
        f"stage {stage}'s alpha barely moved (entropy {stats['entropy_end']:.3f} of at most "
        f"{stats['entropy_max']:.3f} nats after {stats['alpha_updates']} updates), so its "
        "candidates were dropped almost at random; give it more alpha updates (stages.N.epochs "
        "above pretrain_epochs, or weights.batch_size smaller), more samples per update "
        "(policy.samples) or a larger policy.lr (policy.noise_walk under lr: auto); see the README's 'Is my search learning?'."
    )
