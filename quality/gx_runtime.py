"""The one place that talks to Great Expectations (GX 1.24.1).

GX takes about 5 s to import, so nothing here imports it at module level: :func:`gx` imports it on
first use and :func:`context` builds one ephemeral context per process (progress bars off, a
pandas datasource with one reusable dataframe asset). Suites are plain lists of expectation
objects built by the suite modules (``assets.raw.suite``, ``assets.staging.suite``,
``quality.suites.marts``); :func:`validate_frame` runs one on a polars frame
(GX has no polars support: the frame goes through ``to_pandas()``) and :func:`validate_duckdb_table`
runs one on a table in a DuckDB file (through SQLAlchemy + duckdb-engine, with
:func:`patch_duckdb_dialect` applied first).

Results come back as a :class:`~quality.outcome.CheckOutcome` whose details list, per
expectation, its type, column(s), success and counts. GX's own result carries sample values
(``partial_unexpected_list``, ``observed_value`` of column expectations): those can be personal
data and are never copied.
"""

from __future__ import annotations

import re
import threading
import uuid
import warnings
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from types import ModuleType
from typing import Any

import polars as pl

from quality.outcome import CheckOutcome

# Keys of an expectation's result that hold counts only (copied); everything else is dropped.
_COUNT_KEYS = (
    "element_count",
    "unexpected_count",
    "unexpected_percent",
    "missing_count",
    "missing_percent",
)
_COLUMN_KWARGS = ("column", "column_A", "column_B", "column_list", "column_set")
# Redacts anything in an exception message that could be a value (digit runs, e-mail addresses).
_REDACT = re.compile(r"\S+@\S+|\d{4,}")

_lock = threading.RLock()
_state: dict[str, Any] = {}


@contextmanager
def quiet() -> Iterator[None]:
    """Silence the warnings GX 1.24.1 raises on this stack, and only those.

    Importing GX imports the deprecated ``sre_constants`` and ``sre_parse`` modules (each a
    DeprecationWarning, raised as an error under the project's ``filterwarnings = error``).
    """
    with warnings.catch_warnings():
        warnings.filterwarnings(
            "ignore", message=r"module 'sre_\w+' is deprecated", category=DeprecationWarning
        )
        yield


def gx() -> ModuleType:
    """The ``great_expectations`` module, imported on first use (about 5 s)."""
    with _lock:
        if "gx" not in _state:
            with quiet():
                import great_expectations
                import great_expectations.expectations  # gx.expectations
            _state["gx"] = great_expectations
        return _state["gx"]


def prewarm() -> None:
    """Start importing GX in a background thread, if nobody has yet (idempotent, returns at once).

    The import is ~5 s of Python; callers that first read and write data (which release the GIL:
    polars, DuckDB) overlap it with that work. :func:`gx` waits for it. The deprecated modules
    :func:`quiet` silences are imported here first, in the caller's thread, so the background
    thread needs no ``warnings.catch_warnings`` (which is not thread-safe). A failed background
    import is retried by :func:`gx` in the caller's thread, which then raises.
    """
    if "gx" in _state or "prewarm" in _state:  # no lock: the import may hold it for seconds
        return
    with _lock:
        if "gx" in _state or "prewarm" in _state:
            return
        with quiet():
            import sre_constants  # noqa: F401
            import sre_parse  # noqa: F401
        thread = threading.Thread(target=_import_gx, name="gx-prewarm", daemon=True)
        _state["prewarm"] = thread
        thread.start()


def _import_gx() -> None:
    try:
        with _lock:
            if "gx" not in _state:
                import great_expectations
                import great_expectations.expectations

                _state["gx"] = great_expectations
    except Exception:  # gx() imports again in the caller's thread and raises there
        pass


def gxe() -> ModuleType:
    """``great_expectations.expectations`` (the built-in expectation classes)."""
    return gx().expectations


def context() -> Any:
    """The process-wide ephemeral GX context (progress bars off), built once."""
    with _lock:
        if "context" not in _state:
            gx_ = gx()
            from great_expectations.data_context.types.base import ProgressBarsConfig

            with quiet():
                ctx = gx_.get_context(mode="ephemeral")
                ctx.variables.progress_bars = ProgressBarsConfig(globally=False)
            _state["context"] = ctx
        return _state["context"]


def _frame_batch_definition() -> Any:
    """The reusable batch definition for in-memory dataframes (the frame is passed per run)."""
    with _lock:
        if "frames" not in _state:
            ctx = context()
            asset = ctx.data_sources.add_pandas("frames").add_dataframe_asset("frame")
            _state["frames"] = asset.add_batch_definition_whole_dataframe("whole")
        return _state["frames"]


def patch_duckdb_dialect() -> None:
    """Make GX's SQL engine work on DuckDB (idempotent).

    GX 1.24.1 closes the connection before reading query results, and duckdb cursors are then
    empty: every expectation fails with ``IndexError: list index out of range``. Registering
    ``duckdb`` as a "persisted connection" dialect (like SQLite) keeps the connection open.
    """
    gx()
    import enum

    from great_expectations.execution_engine import sqlalchemy_execution_engine as see

    with _lock:
        dialects = see._PERSISTED_CONNECTION_DIALECTS
        if any(getattr(d, "value", d) == "duckdb" for d in dialects):
            return

        class _DuckDBDialect(enum.StrEnum):  # must be an enum: GX reads ``.value``
            DUCKDB = "duckdb"

        see._PERSISTED_CONNECTION_DIALECTS = (*dialects, _DuckDBDialect.DUCKDB)


def _columns(kwargs: dict[str, Any]) -> list[str]:
    cols: list[str] = []
    for key in _COLUMN_KWARGS:
        value = kwargs.get(key)
        if isinstance(value, str):
            cols.append(value)
        elif isinstance(value, (list, tuple)) and key != "column_set":
            cols.extend(str(v) for v in value)
    return cols


def _number(value: Any) -> int | float | None:
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int):
        return value
    try:
        f = float(value)
    except (TypeError, ValueError):
        return None
    if f != f:  # NaN
        return None
    return int(f) if f.is_integer() and abs(f) < 2**53 else round(f, 6)


def summarise_result(result: Any) -> dict[str, Any]:
    """One expectation's result as JSON-able counts: never a value from the data.

    Kept: type, column(s), success, ``element_count``, ``unexpected_count``,
    ``unexpected_percent``, ``missing_count``, ``missing_percent``; for table expectations the
    missing column names and a numeric ``observed_value``; a redacted exception message when the
    expectation could not be evaluated.
    """
    config = result.expectation_config
    kwargs = dict(config.kwargs)
    entry: dict[str, Any] = {
        "type": config.type,
        "columns": _columns(kwargs),
        "success": bool(result.success),
    }
    meta = config.meta or {}
    if "rule" in meta:
        entry["rule"] = str(meta["rule"])
    if kwargs.get("mostly") is not None:
        entry["mostly"] = float(kwargs["mostly"])
    body = result.result or {}
    for key in _COUNT_KEYS:
        n = _number(body.get(key))
        if n is not None:
            entry[key] = n
    observed = _number(body.get("observed_value"))
    if observed is not None:
        entry["observed_value"] = observed
    mismatched = (body.get("details") or {}).get("mismatched")
    if isinstance(mismatched, dict) and mismatched.get("missing"):
        # column names, not values (expect_table_columns_to_match_set)
        entry["missing_columns"] = sorted(str(c) for c in mismatched["missing"])
    info = result.exception_info or {}
    messages = _exception_messages(info)
    if messages:
        entry["success"] = False
        entry["error"] = "; ".join(sorted(set(messages)))[:300]
    return entry


def _exception_messages(info: dict[str, Any]) -> list[str]:
    if info.get("raised_exception"):
        return [_REDACT.sub("…", str(info.get("exception_message") or "error"))]
    out: list[str] = []
    for value in info.values():  # keyed by metric configuration when several metrics failed
        if isinstance(value, dict) and value.get("raised_exception"):
            out.append(_REDACT.sub("…", str(value.get("exception_message") or "error")))
    return out


def outcome_from_result(
    validation: Any, *, name: str, extra: dict[str, Any] | None = None
) -> CheckOutcome:
    """A :class:`CheckOutcome` from a GX suite validation result (counts only)."""
    entries = [summarise_result(r) for r in validation.results]
    failed = [e for e in entries if not e["success"]]
    details: dict[str, Any] = {
        "suite": name,
        "expectations": len(entries),
        "failed": len(failed),
        **(extra or {}),
        "results": entries,
    }
    if not failed:
        return CheckOutcome(True, f"{name}: all {len(entries)} expectation(s) met.", details)
    where = ", ".join(
        f"{e['type']}({','.join(e['columns'])})"
        + (f" {e['unexpected_count']}x" if "unexpected_count" in e else "")
        for e in failed[:6]
    )
    more = f" and {len(failed) - 6} more" if len(failed) > 6 else ""
    return CheckOutcome(
        False,
        f"{name}: {len(failed)} of {len(entries)} expectation(s) failed: {where}{more}.",
        details,
    )


def _suite(name: str, expectations: Sequence[Any]) -> Any:
    # A free-standing suite (not added to the context: no name clashes between runs).
    return gx().ExpectationSuite(name=name, expectations=[e.copy() for e in expectations])


def validate_frame(
    df: pl.DataFrame,
    expectations: Sequence[Any],
    *,
    name: str,
    extra: dict[str, Any] | None = None,
) -> CheckOutcome:
    """Run ``expectations`` on a polars frame (converted with ``to_pandas()``).

    ``name`` names the suite in the outcome; ``extra`` is merged into the details (JSON-able,
    no personal values).
    """
    if not expectations:
        return CheckOutcome(True, f"{name}: no expectations.", {"suite": name, **(extra or {})})
    bd = _frame_batch_definition()
    suite = _suite(name, expectations)
    with _lock, quiet():
        batch = bd.get_batch(batch_parameters={"dataframe": df.to_pandas()})
        result = batch.validate(suite, result_format="BASIC")
    return outcome_from_result(result, name=name, extra={"rows": df.height, **(extra or {})})


def validate_duckdb_table(
    database: str | Path,
    table: str,
    expectations: Sequence[Any],
    *,
    schema: str | None = None,
    name: str | None = None,
) -> CheckOutcome:
    """Run ``expectations`` on ``[schema.]table`` in the DuckDB file ``database`` (read-only).

    Each call registers a throw-away SQL datasource on the shared context and removes it after.
    """
    patch_duckdb_dialect()
    path = Path(database).resolve()
    qualified = f"{schema}.{table}" if schema else table
    name = name or qualified
    if not expectations:
        return CheckOutcome(True, f"{name}: no expectations.", {"suite": name})
    ctx = context()
    ds_name = f"duckdb_{uuid.uuid4().hex[:12]}"
    with _lock, quiet():
        ds = ctx.data_sources.add_sql(
            ds_name,
            connection_string=f"duckdb:///{path.as_posix()}",
            kwargs={"connect_args": {"read_only": True}},
        )
        try:
            if schema:  # ``schema_name=`` is deprecated in GX 1.24 (a DeprecationWarning)
                asset = ds.add_query_asset(table, query=f'select * from "{schema}"."{table}"')
            else:
                asset = ds.add_table_asset(table, table_name=table)
            batch = asset.add_batch_definition_whole_table("whole").get_batch()
            result = batch.validate(_suite(name, expectations), result_format="BASIC")
        finally:
            _dispose(ds)
            ctx.data_sources.delete(ds_name)
    return outcome_from_result(result, name=name, extra={"database": path.name})


def _dispose(ds: Any) -> None:
    """Close the datasource's connection and engines so the DuckDB file is released."""
    execution_engine = getattr(ds, "_execution_engine", None)
    if execution_engine is not None:
        execution_engine.close()
    engine = getattr(ds, "_engine", None)
    if engine is not None:
        engine.dispose()
