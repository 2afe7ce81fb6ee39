"""mart_* layer: the analysts' research.duckdb (documented marts + protected aggregates).

Modules: ``catalogue`` (every table and column, once, with its grain), ``protection`` (the
published tables and how each is protected: ``[tables]``), ``aggregates`` (protected frequency
tables: suppression and the cell key method), ``perturbation`` (the cell key method's noise
and the tables saying how each table is protected), ``ledger`` (the release ledger: steward side in
DuckDB, published side in the research file), ``over_time`` (microdata between releases) and
``build`` (atomic build of research.duckdb). No Dagster in the kernels: ``assets`` wraps them.
Import the modules themselves; this package imports nothing, so reading the settings stays cheap.
"""
