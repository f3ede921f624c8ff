"""How a network is measured, whatever its search space: exact params and FLOPs
(:mod:`.flops`), per-piece tables whose sums are a network's cost (:mod:`.pieces`), measured
latency and its backends (:mod:`.latency`, :mod:`.latency_backends`, :mod:`.latency_import`)
and what a supernet's weight step holds in memory (:mod:`.memory`). A space says what its
networks' pieces are; this package knows no space."""
