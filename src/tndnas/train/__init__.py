"""How weights learn: the search-phase weight step and the final evaluation training."""
