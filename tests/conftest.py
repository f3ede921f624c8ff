import random

import pytest
import torch

from tndnas.space.genotype import Genotype, edge_pairs


@pytest.fixture(autouse=True)
def _seed():
    torch.manual_seed(0)
    random.seed(0)


def random_genotype(rng: random.Random, normal_ops, reduce_ops, p_edge: float = 0.5) -> Genotype:
    """A random genotype: each of the 14 edges present with probability p_edge."""
    cells = {}
    for ct, ops in (("normal", normal_ops), ("reduce", reduce_ops)):
        while True:
            edges = tuple((rng.choice(ops), s, d) for s, d in edge_pairs() if rng.random() < p_edge)
            g = Genotype(edges, edges)
            if g.live("normal")[1]:
                break
        cells[ct] = edges
    return Genotype(cells["normal"], cells["reduce"])
