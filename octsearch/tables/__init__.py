"""Tabulated spaces: every configuration of a space (or a stratified sample) evaluated with a few
seeds and kept in the store as a *table*, so that searches can be replayed on it in seconds.

:func:`~octsearch.tables.build.tabulate` builds (and resumes) a table on the search's own workers;
:class:`~octsearch.tables.lookup.Table` answers a replayed search's evaluations from it.
"""
