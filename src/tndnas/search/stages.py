"""What each stage of a search holds, from the config alone: its candidates (Eq. 11), its weight
steps and alpha updates per epoch, and its reward terms (Eqs. 9, 10).  Nothing here loads data or
builds a network, so benchmarks and tests can ask the same questions as the search."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence

import torch

from ..config import ConfigError, SearchConfig
from ..macro import Macro
from ..objectives import RewardTerm
from ..spaces import SearchSpace, get_space
from ..strategy import PolicyStrategy


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


def drop_count(value: float, left: int) -> int:
    """n_k of Eq. (11) from a ``stages.N.drop`` value, for an edge with ``left`` candidates: a
    whole number is itself; a fraction 0 < x < 1 is that share of ``left``, rounded half up,
    keeping at least one candidate."""
    if 0 < value < 1:
        return max(min(int(value * left + 0.5), left - 1), 0)
    return int(value)


def stage_drops(cfg: SearchConfig) -> list[dict[str, int]]:
    """Each stage's n_k per cell type (Eq. 11), fractions of ``stages.N.drop`` resolved against
    the candidates each stage starts with."""
    ops = space_ops(cfg)
    left = {ct: len(v) for ct, v in ops.items()}
    out = []
    for st in cfg.stages:
        drops = {ct: drop_count(st.drop.get(ct, 0), left[ct]) for ct in ops}
        left = {ct: left[ct] - drops[ct] for ct in ops}
        out.append(drops)
    return out


def candidates_left(cfg: SearchConfig, stage: int) -> dict[str, int]:
    """Per cell type, how many candidates each edge has at the start of stage ``stage``
    (0-based; ``len(cfg.stages)``: after the last): the op set's size less the drops of the
    stages before it (Eq. 11)."""
    ops = space_ops(cfg)
    drops = stage_drops(cfg)[:stage]
    return {ct: len(ops[ct]) - sum(d[ct] for d in drops) for ct in ops}


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


def family_size(cfg: SearchConfig) -> int:
    """How many policies the search trains: one per ``family.betas`` value, else one."""
    return max(len(cfg.family.betas), 1)


def _family_ref(cfg: SearchConfig, i: int) -> float | None:
    """Member ``i``'s P from ``family.refs`` (one for all, or one each); None: the stages' own."""
    refs = cfg.family.refs
    return refs[i if len(refs) > 1 else 0] if refs else None


def member_terms(cfg: SearchConfig, stage: int) -> list[list[RewardTerm]]:
    """Each policy's reward terms in stage ``stage``: the stage's own (one policy), or for each
    member of ``family`` the stage's with the first term's beta (and ref) replaced by its own."""
    if not cfg.family.betas:
        return [reward_terms(cfg, stage)]
    return [reward_terms(member_config(cfg, i), stage) for i in range(len(cfg.family.betas))]


def member_samples(cfg: SearchConfig, members: int | None = None) -> int:
    """Architectures each policy samples per alpha update: ``policy.samples`` for one policy;
    for a family of ``members`` (default: ``family.betas``'s) ``family.samples_per_member``, or
    ``policy.samples`` shared out (at least 2 each, so a leave-one-out baseline has another
    sample): an update scores about as many architectures as one policy's would."""
    k = family_size(cfg) if members is None else members
    if k == 1:
        return cfg.policy.samples
    if cfg.family.samples_per_member is not None:
        return cfg.family.samples_per_member
    return max(2, -(-cfg.policy.samples // k))


def member_streams(stage_seed_of: int, k: int, i: int) -> tuple[int, int]:
    """The seeds of member ``i``'s alpha initialisation and sampling in stage ``k`` of a run
    seeded ``stage_seed_of``: member 0 (and a search without a family) uses streams 4 and 3, the
    others streams of their own."""
    init, sampling = (4, 3) if i == 0 else (100 + 2 * i, 101 + 2 * i)
    return stage_seed(stage_seed_of, k, init), stage_seed(stage_seed_of, k, sampling)


def member_policies(
    cfg: SearchConfig,
    terms_per_member: Sequence[Sequence[RewardTerm]],
    num_ops: Mapping[str, int],
    num_edges: int,
    seed: int,
    stage: int,
    updates: int,
) -> list[PolicyStrategy]:
    """Stage ``stage``'s fresh policies, one per entry of ``terms_per_member`` (one for a search
    without a family): ``cfg.policy``'s settings, :func:`member_samples` samples each, seeded by
    :func:`member_streams`, the learning rate for a stage of ``updates`` alpha updates (under
    ``lr: auto``, :func:`~tndnas.strategy.reinforce.policy_lr`) -- what the supernet search and
    ``bench-tabular`` both build."""
    samples = member_samples(cfg, len(terms_per_member))
    policies = []
    for i, terms in enumerate(terms_per_member):
        init, sampling = member_streams(seed, stage, i)
        policies.append(PolicyStrategy(
            num_ops, num_edges, cfg.policy, terms, samples=samples, updates=updates,
            init=torch.Generator().manual_seed(init), generator=torch.Generator().manual_seed(sampling),
        ))  # fmt: skip
    return policies


def member_config(cfg: SearchConfig, i: int) -> SearchConfig:
    """Member ``i`` of a family as a search of its own would be configured: no family, every
    stage's first cost term at the member's beta and ref (what its folder's config.yaml holds)."""
    beta, ref = cfg.family.betas[i], _family_ref(cfg, i)
    stages = []
    for st in cfg.stages:
        first = dataclasses.replace(
            st.costs[0], beta=beta, ref=st.costs[0].ref if ref is None else ref
        )
        stages.append(dataclasses.replace(st, costs=[first, *st.costs[1:]]))
    return dataclasses.replace(cfg, family=type(cfg.family)(), stages=stages)


def ref_label(cfg: SearchConfig) -> float | str:
    """The P of the stages' first cost terms: one number, or the stages' joined by '_'."""
    refs = [s.costs[0].ref for s in cfg.stages]
    if all(r == refs[0] for r in refs):
        return refs[0]
    return "_".join(r if isinstance(r, str) else f"{r:g}" for r in refs)


def member_name(i: int, beta: float, ref: float | str) -> str:
    """The folder name of member ``i`` (as a sweep's job: ``member-<i>-beta<b>-ref<P>``)."""
    label = ref if isinstance(ref, str) else f"{ref:g}"
    return f"member-{i}-beta{beta:g}-ref{label}"


def member_names(cfg: SearchConfig) -> list[str]:
    """The folder names of a family's members (``family.betas``), ``member-<i>-beta<b>-ref<P>``."""
    return [
        member_name(i, beta, ref_label(member_config(cfg, i)))
        for i, beta in enumerate(cfg.family.betas)
    ]
