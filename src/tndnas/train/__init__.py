"""The final training of a found architecture (``tndnas train``): the network trained from
scratch (the paper's evaluation protocol, Table V), its weights files, widths and size checks.
The search's own weight step lives in :mod:`tndnas.search.weight_step`."""
