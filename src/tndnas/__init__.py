"""tndnas: multi-objective neural architecture search with REINFORCE over a progressive supernet."""

__version__ = "0.2.0.dev0"
