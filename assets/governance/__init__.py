"""Governance: retention terms, data-subject requests, the audit log and the processing register.

The seeds' privacy statements promise residents these things; the pipeline keeps the promises by
itself on every run. Pure functions on polars frames live in ``retention.py`` and ``requests.py``;
the Dagster asset that applies them to the steward's database is in ``purge.py``.
"""
