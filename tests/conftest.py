import os
import random

import pytest
import torch

from tndnas.spaces.darts.genotype import Genotype, edge_pairs

# pytest-xdist workers share the cores: one worker per core, each with its own share of threads
_WORKERS = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1"))
if _WORKERS > 1:
    _THREADS = max(1, (os.cpu_count() or 1) // _WORKERS)
    torch.set_num_threads(_THREADS)
    # processes the tests start use as many threads: the same float rounding as in-process runs
    os.environ["OMP_NUM_THREADS"] = str(_THREADS)


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


@pytest.fixture(scope="session")
def tiny_run(tmp_path_factory):
    """One finished search of :func:`tests.tiny.tiny` (plots drawn), shared by the tests that
    only read a run: copy it before changing it."""
    from tndnas.search import search

    from .tiny import tiny

    torch.manual_seed(0)
    random.seed(0)
    run = tmp_path_factory.mktemp("shared") / "tiny"
    search(tiny(), run, progress=False)
    return run
