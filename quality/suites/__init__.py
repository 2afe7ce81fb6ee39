"""Great Expectations suites shared across layers: the privacy blocks for ``marts``.

The raw and staging suites live beside the contracts they check (``assets.raw.suite``,
``assets.staging.suite``).

Importing these modules is cheap: GX is imported on first validation, by ``quality.gx_runtime``.
"""
