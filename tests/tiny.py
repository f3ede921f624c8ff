"""Overrides that shrink the ``quick`` search preset to a few seconds: ``TINY_SEARCH`` (each test adds
its stages) and ``TINY`` (with two tiny stages), and :func:`tiny`, the config they give."""

TINY_SEARCH = [
    "space.channels=4",
    "weights.batch_size=32",
    "weights.max_steps_per_epoch=3",
    "policy.samples=3",
    "policy.arch_batch_size=32",
    "policy.argmax_every=2",
    "policy.eval_images=64",  # the per-epoch accuracies: a quarter of the preset's images
    "target.channels=8",
    "target.layers=5",
]

TINY = [
    *TINY_SEARCH,
    "stages=[{layers: 3, epochs: 2, pretrain_epochs: 1, drop: {normal: 4, reduce: 2}, costs: [{cost: params, ref: 0.05, beta: -0.3}]},"
    " {layers: 3, epochs: 2, pretrain_epochs: 0, drop: {normal: 3, reduce: 2}, costs: [{cost: params, ref: 0.05, beta: -0.3}]}]",
]


def tiny(*extra):
    """The ``quick`` preset shrunk by ``TINY``, with further overrides ``extra``."""
    from tndnas.config import load_search_config

    return load_search_config(preset="quick", overrides=[*TINY, *extra])
