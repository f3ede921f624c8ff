"""Overrides that shrink the ``quick`` search preset to a few seconds; each test adds its stages."""

TINY_SEARCH = [
    "space.channels=4",
    "weights.batch_size=32",
    "weights.max_steps_per_epoch=3",
    "policy.samples=3",
    "policy.arch_batch_size=32",
    "policy.argmax_every=2",
    "target.channels=8",
    "target.layers=5",
]
