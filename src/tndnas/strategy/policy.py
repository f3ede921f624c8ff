"""The architecture policy: softmax(alpha) per edge, multinomial sampling, log-prob gradient.

One alpha matrix per cell type, shape (edges x K): all cells of a type share it.
"""

from __future__ import annotations

from collections.abc import Mapping

import torch


def mean_entropy(alpha: Mapping[str, torch.Tensor]) -> torch.Tensor:
    """Mean entropy per edge (nats) of softmax(alpha), over both cell types."""
    ents = []
    for a in alpha.values():
        p = torch.softmax(a, dim=-1)
        ents.append(-(p * torch.log(p.clamp_min(1e-30))).sum(-1))
    return torch.cat(ents).mean()


class CategoricalPolicy:
    """pi(g) = prod over edges of softmax(alpha_e)[g_e]  (Eqs. 4-5)."""

    def __init__(
        self,
        num_ops: Mapping[str, int],
        num_edges: int,
        generator: torch.Generator,
        init_std: float = 1e-3,
    ):
        self.alpha = {
            ct: torch.randn(num_edges, num_ops[ct], generator=generator)
            .mul_(init_std)
            .requires_grad_(False)
            for ct in num_ops  # the space's cell types, in its order
        }

    def probs(self) -> dict[str, torch.Tensor]:
        """p = softmax(alpha) per edge, Eq. (4)."""
        return {ct: torch.softmax(a, dim=-1) for ct, a in self.alpha.items()}

    def sample(self, m: int, generator: torch.Generator) -> dict[str, torch.Tensor]:
        """``m`` architectures, g ~ Multinomial(p, 1) per edge, Eq. (5): (m x edges) op indices."""
        out = {}
        for ct, p in self.probs().items():
            out[ct] = torch.multinomial(p, m, replacement=True, generator=generator).T.contiguous()
        return out

    def argmax(self) -> dict[str, torch.Tensor]:
        return {ct: a.argmax(dim=-1) for ct, a in self.alpha.items()}

    def log_prob(self, samples: Mapping[str, torch.Tensor]) -> torch.Tensor:
        """log pi(g_m) for each of the m samples."""
        total = 0.0
        for ct, a in self.alpha.items():
            logp = torch.log_softmax(a, dim=-1)  # (E, K)
            g = samples[ct]  # (m, E)
            total = total + logp.gather(1, g.T).sum(0)
        return total

    def log_prob_grad(
        self, samples: Mapping[str, torch.Tensor], coeff: torch.Tensor
    ) -> dict[str, torch.Tensor]:
        """sum_m coeff_m * d log pi(g_m) / d alpha, computed analytically.

        For a categorical edge, d log softmax(alpha)[g] / d alpha = one_hot(g) - p, so the
        gradient is (sum_m coeff_m one_hot(g_m)) - (sum_m coeff_m) p: no backward pass
        through the network (which never sees alpha) and none through the policy.
        """
        grads = {}
        for ct, p in self.probs().items():
            g = samples[ct]  # (m, E)
            counts = torch.zeros_like(p)
            counts.scatter_add_(1, g.T, coeff.to(p.dtype).expand(g.shape[1], -1))
            grads[ct] = counts - coeff.sum() * p
        return grads

    def entropy(self) -> torch.Tensor:
        """Mean entropy per edge (nats), over both cell types."""
        return mean_entropy(self.alpha)

    def entropy_grad(self) -> dict[str, torch.Tensor]:
        """d (sum over edges of entropy) / d alpha = -p (log p + H) per edge."""
        out = {}
        for ct, p in self.probs().items():
            logp = torch.log(p.clamp_min(1e-30))
            h = -(p * logp).sum(-1, keepdim=True)
            out[ct] = -p * (logp + h)
        return out

    def state_dict(self) -> dict:
        return {ct: a.clone() for ct, a in self.alpha.items()}

    def load_state_dict(self, state: Mapping[str, torch.Tensor]) -> None:
        for ct in self.alpha:  # in place: an optimiser may hold these tensors
            if self.alpha[ct].shape != state[ct].shape:
                self.alpha[ct] = state[ct].clone()
            else:
                self.alpha[ct].copy_(state[ct])
