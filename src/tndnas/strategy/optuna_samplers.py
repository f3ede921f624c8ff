"""Optuna's samplers as strategies: NSGA-II and multi-objective TPE, asked through Optuna's own
ask-and-tell interface, so ``tndnas bench-tabular`` compares TND-NAS with a well-kept library's
multi-objective search at the same budget. Needs the optional ``optuna`` package
(``pip install 'tndnas[bench]'``)."""

from __future__ import annotations

import importlib.util
from collections.abc import Mapping, Sequence
from typing import Any

import torch

from ..config import ConfigError
from .base import Path, Strategy, Told

#: method name -> Optuna sampler class name
SAMPLERS = {"nsga2": "NSGAIISampler", "motpe": "TPESampler"}


def optuna_available() -> bool:
    """Whether the optional ``optuna`` package is installed."""
    return importlib.util.find_spec("optuna") is not None


class OptunaStrategy(Strategy):
    """One architecture per :meth:`ask`: one trial of an Optuna study over every edge's
    candidates (a categorical parameter per edge). The study maximises the accuracy and
    minimises each cost named in ``cost`` (NSGA-II's and TPE's own multi-objective modes);
    ``sampler``: ``nsga2`` or ``motpe``."""

    def __init__(self, sizes: Mapping[str, Sequence[int]], sampler: str, seed: int,
                 cost: str | Sequence[str] | None = None) -> None:  # fmt: skip
        if sampler not in SAMPLERS:
            raise ConfigError(
                f"unknown Optuna sampler '{sampler}'; use one of {', '.join(SAMPLERS)}"
            )
        if not optuna_available():
            raise ConfigError(
                f"the method '{sampler}' needs Optuna, which is not installed; run "
                "pip install 'tndnas[bench]' (or pip install optuna)."
            )
        import optuna

        optuna.logging.set_verbosity(optuna.logging.WARNING)
        self._sizes = {ct: list(v) for ct, v in sizes.items()}
        self.costs = [cost] if isinstance(cost, str) else list(cost or [])
        sampler_cls = getattr(optuna.samplers, SAMPLERS[sampler])
        self.study = optuna.create_study(
            directions=["maximize", *["minimize"] * len(self.costs)],
            sampler=sampler_cls(seed=seed),
        )
        self._trials: list[Any] = []

    def ask(self) -> list[Path]:
        trial = self.study.ask()
        self._trials.append(trial)
        return [
            {
                ct: [
                    trial.suggest_categorical(f"{ct}{e}", list(range(k)))
                    for e, k in enumerate(edges)
                ]
                for ct, edges in self._sizes.items()
            }
        ]

    def tell(
        self,
        paths: Sequence[Path],
        accuracies: Sequence[float] | None,
        costs: Sequence[Mapping[str, float] | None],
    ) -> Told:
        for i, _ in enumerate(paths):
            trial = self._trials.pop(0)
            acc = 0.0 if accuracies is None else float(accuracies[i])
            if costs[i] is None:
                self.study.tell(trial, state=_failed())
            elif self.costs:
                self.study.tell(trial, [acc, *(float(costs[i][c]) for c in self.costs)])
            else:
                self.study.tell(trial, acc)
        return Told(torch.zeros(len(paths)))

    def best(self) -> Path:
        best = max(self.study.best_trials, key=lambda t: t.values[0])
        return {
            ct: [best.params[f"{ct}{e}"] for e in range(len(edges))]
            for ct, edges in self._sizes.items()
        }

    def sizes(self) -> dict[str, list[int]]:
        return {ct: list(v) for ct, v in self._sizes.items()}


def _failed() -> Any:
    import optuna

    return optuna.trial.TrialState.FAIL
