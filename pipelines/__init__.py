"""Dagster wiring for brugstat: definitions, resources, settings, jobs and the CLI."""
