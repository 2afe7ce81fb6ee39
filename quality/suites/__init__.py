"""Great Expectations suites per layer: ``raw``, ``staging`` and (privacy blocks for) ``marts``.

Importing these modules is cheap: GX is imported on first validation, by ``quality.gx_runtime``.
"""
