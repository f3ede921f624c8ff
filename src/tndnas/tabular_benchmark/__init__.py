"""``tndnas bench-tabular``: search methods (TND-NAS's policy, random search, evolution) run on
a tabular benchmark's exact accuracies (NAS-Bench-201's table), at equal query budgets, scored
by the hypervolume of their accuracy/cost fronts."""
