"""What each stage of a search holds, from the config alone: its candidates (Eq. 11), its weight
steps and alpha updates per epoch, and its reward terms (Eqs. 9, 10).  Nothing here loads data or
builds a network, so benchmarks and tests can ask the same questions as the search."""

from __future__ import annotations

from ..config import ConfigError, SearchConfig
from ..macro import Macro
from ..objectives import RewardTerm
from ..spaces import SearchSpace, get_space


def stage_seed(seed: int, stage: int, stream: int) -> int:
    """The seed of random stream ``stream`` of stage ``stage`` (weights, data, sampling, alpha's
    initialisation, ...): every stage and stream draws from its own generator."""
    return (seed * 1_000_003 + stage * 101 + stream) % (2**63)


def space_ops(cfg: SearchConfig) -> dict[str, tuple[str, ...]]:
    """Each cell type's candidate ops in the search space of ``space.name`` (for DARTS cells:
    ``space.normal_ops``, ``space.reduce_ops``), validated; an unknown space or op set, or a bad
    list, raises a one-line :class:`ConfigError` naming its key."""
    space = search_space(cfg)
    try:
        return space.candidate_ops(cfg.space)
    except (KeyError, ValueError) as err:
        raise ConfigError(str(err.args[0])) from None


def search_space(cfg: SearchConfig) -> SearchSpace:
    """The registered search space of ``space.name`` (a one-line :class:`ConfigError` if none)."""
    try:
        return get_space(cfg.space.name)
    except KeyError as err:
        raise ConfigError(f"space.name: {err.args[0]}") from None


def candidates_left(cfg: SearchConfig, stage: int) -> dict[str, int]:
    """Per cell type, how many candidates each edge has at the start of stage ``stage``
    (0-based; ``len(cfg.stages)``: after the last): the op set's size less the drops of the
    stages before it (Eq. 11)."""
    ops = space_ops(cfg)
    return {ct: len(ops[ct]) - sum(st.drop.get(ct, 0) for st in cfg.stages[:stage]) for ct in ops}


def cell_steps(cfg: SearchConfig) -> int:
    """Intermediate nodes per cell of the target network (``space.steps`` where the space has
    it, as the DARTS cells do; the network's default otherwise: the space fixes its own)."""
    return getattr(cfg.space, "steps", Macro.__dataclass_fields__["steps"].default)


def weight_images(cfg: SearchConfig, train_images: int) -> int:
    """Images in the weight half of a training set of ``train_images`` (as ``search_split``)."""
    return min(max(int(train_images * (1.0 - cfg.dataset.arch_fraction)), 1), train_images - 1)


def steps_per_epoch(cfg: SearchConfig, train_images: int) -> int:
    """Weight steps per epoch: full batches of the weight half (at least one), capped by
    ``weights.max_steps_per_epoch``."""
    steps = max(weight_images(cfg, train_images) // cfg.weights.batch_size, 1)
    cap = cfg.weights.max_steps_per_epoch
    return min(steps, cap) if cap else steps


def alpha_updates(cfg: SearchConfig, stage: int, train_images: int) -> int:
    """The alpha updates of stage ``stage``: one every ``policy.rl_interval`` weight steps of
    every epoch after its ``pretrain_epochs`` (Algorithm 2)."""
    st = cfg.stages[stage]
    per_epoch = -(-steps_per_epoch(cfg, train_images) // cfg.policy.rl_interval)
    return max(st.epochs - st.pretrain_epochs, 0) * per_epoch


def reward_terms(cfg: SearchConfig, stage: int) -> list[RewardTerm]:
    """The cost terms of stage ``stage``'s reward (``stages.N.costs``): one is Eq. (9), several
    are Eq. (10), none leaves the accuracy alone."""
    return [
        RewardTerm(t.cost, t.weight, t.ref, t.beta, t.beta_below) for t in cfg.stages[stage].costs
    ]


def run_cost_names(cfg: SearchConfig) -> list[str]:
    """Every cost a run computes for each sampled architecture: ``reward.log_costs`` first, then
    those of the stages' reward terms, each once."""
    names = [*cfg.reward.log_costs, *(t.cost for st in cfg.stages for t in st.costs)]
    return list(dict.fromkeys(names))
