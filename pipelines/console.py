"""What the steward sees in the terminal: one progress line per pipeline step, Dagster's own log
in a file under ``data/logs/``, one clear line per error.

The Dagster log stays complete (every event at DEBUG) in the file; the terminal shows it only
with ``-v`` (INFO) or ``-vv`` (DEBUG). Nothing here reads data: lines name steps, tables, row
counts and seconds.
"""

from __future__ import annotations

import argparse
import difflib
import logging
import os
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any, NoReturn

import dagster as dg
from tqdm import tqdm

LOG_DIR = "logs"
"""Folder under the data directory holding one Dagster log file per CLI run."""

ROW_KEYS = ("rows", "dagster/row_count")
"""Materialisation metadata that carries a table's row count (ours, Dagster's standard one)."""


class UserError(RuntimeError):
    """A problem the user can fix (a missing file, a wrong argument): one line, no traceback."""


def log_path(data_dir: Path, run_id: str) -> Path:
    """A new log file path ``data/logs/<UTC time>_<run id prefix>.log`` (folder mode 0700)."""
    folder = data_dir / LOG_DIR
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    stamp = time.strftime("%Y%m%dT%H%M%S", time.gmtime())
    return folder / f"{stamp}_{run_id[:8]}.log"


class StepProgress(logging.Handler):
    """A Dagster logger handler that prints one line per finished step: rows written and seconds.

    It reads only the structured Dagster event on each record (step key, event type, the
    ``rows`` metadata of materialisations), never a message text. With a terminal it also keeps a
    tqdm bar (steps done of ``total``) below the lines; without one, only the lines.
    """

    def __init__(self, total: int, stream: IO[str] | None = None) -> None:
        super().__init__(level=logging.DEBUG)
        self.stream = stream if stream is not None else sys.stderr
        self.total = total
        self.done = 0
        self.failed: list[str] = []
        self._started: dict[str, float] = {}
        self._rows: dict[str, list[int]] = {}
        self._assets: dict[str, set[object]] = {}
        self.bar = tqdm(
            total=total,
            desc="pipeline",
            unit="step",
            file=self.stream,
            leave=False,
            disable=not _is_tty(self.stream),
            bar_format="{desc}: {n_fmt}/{total_fmt} steps {bar:20} {elapsed} {postfix}",
        )

    def _write(self, line: str) -> None:
        self.bar.write(line, file=self.stream)

    def emit(self, record: logging.LogRecord) -> None:
        meta = getattr(record, "dagster_meta", None)
        event = meta.get("dagster_event") if isinstance(meta, dict) else None
        if event is None or event.step_key is None:
            return
        step, kind = event.step_key, event.event_type_value
        if kind == "STEP_START":
            self._started[step] = time.perf_counter()
            self._rows[step] = []
            self._assets[step] = set()
            self.bar.set_postfix_str(step, refresh=True)
        elif kind == "ASSET_MATERIALIZATION":
            materialization = event.event_specific_data.materialization
            # A run over several partitions records each asset once per partition, with the
            # step's metadata on every one: count an asset once.
            seen = self._assets.setdefault(step, set())
            if materialization.asset_key in seen:
                return
            seen.add(materialization.asset_key)
            metadata = materialization.metadata
            for key in ROW_KEYS:
                if key in metadata and isinstance(metadata[key].value, int):
                    self._rows.setdefault(step, []).append(metadata[key].value)
                    break
        elif kind in ("STEP_SUCCESS", "STEP_FAILURE", "STEP_SKIPPED"):
            seconds = time.perf_counter() - self._started.get(step, time.perf_counter())
            self.done += 1
            self.bar.update(1)
            line = self.line(step, self._rows.get(step, []), seconds, kind != "STEP_FAILURE")
            self._write(line + ("  skipped" if kind == "STEP_SKIPPED" else ""))
            if kind == "STEP_FAILURE":
                self.failed.append(step)
                reason = _failure_reason(event)
                if reason:
                    self._write(f"      {reason}")

    def line(self, step: str, rows: Sequence[int], seconds: float, ok: bool) -> str:
        """The progress line of one finished step."""
        width = len(str(self.total))
        what = ""
        if len(rows) == 1:
            what = f"{rows[0]:,} rows"
        elif rows:
            what = f"{sum(rows):,} rows in {len(rows)} tables"
        status = "" if ok else "  FAILED (details in the log file)"
        return (
            f"  [{self.done:>{width}}/{self.total}] {step:<42} {what:>24} {seconds:7.1f} s{status}"
        )

    def close(self) -> None:
        self.bar.close()
        super().close()


def _failure_reason(event: Any) -> str:
    """``Type: first line`` of the error that failed a step (the user code's, not Dagster's
    wrapper); the codebase's messages name files, rules and counts, never values."""
    error = getattr(event.event_specific_data, "error", None)
    while error is not None and error.cause is not None and "Dagster" in error.cls_name:
        error = error.cause
    if error is None:
        return ""
    first = (error.message.strip().splitlines() or [""])[0]
    first = first.removeprefix(f"{error.cls_name}: ").strip()
    # whole: the rule comes last in the project's messages (file, line, column, rule), and a
    # message never holds a value, so nothing is gained by cutting it
    return f"{error.cls_name}: {first}"


def _is_tty(stream: IO[str]) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


def _logger_def(name: str, handler: logging.Handler, level: int) -> dg.LoggerDefinition:
    # A private logging.Logger (not registered in logging's global tree): two runs in one process
    # never share handlers.
    lg = logging.Logger(name, level)
    lg.addHandler(handler)
    return dg.LoggerDefinition(lambda _ctx: lg, description=f"brugstat {name}")


def console_level(verbosity: int) -> int:
    """The level of Dagster's console log: off by default, INFO with -v, DEBUG with -vv."""
    return {0: logging.CRITICAL + 1, 1: logging.INFO}.get(verbosity, logging.DEBUG)


@contextmanager
def quiet_run(
    log_file: Path, *, verbosity: int, total_steps: int, stream: IO[str] | None = None
) -> Iterator[tuple[dict[str, dg.LoggerDefinition], StepProgress]]:
    """Loggers for one CLI run: the file (everything), progress lines, the console by verbosity.

    Inside the block, Python warnings and other libraries' log records also go to the file only
    (they would otherwise reach the terminal through logging's last-resort handler).
    """
    stream = stream if stream is not None else sys.stderr
    fmt = logging.Formatter("%(asctime)s %(levelname)s %(message)s")
    old_umask = os.umask(0o077)  # the log is a steward file
    try:
        file_handler = logging.FileHandler(log_file, encoding="utf-8")
    finally:
        os.umask(old_umask)
    file_handler.setFormatter(fmt)
    console = logging.StreamHandler(stream)
    console.setFormatter(fmt)
    progress = StepProgress(total_steps, stream)
    loggers = {
        "file": _logger_def("file", file_handler, logging.DEBUG),
        "progress": _logger_def("progress", progress, logging.DEBUG),
        "console": _logger_def("console", console, console_level(verbosity)),
    }
    root = logging.getLogger()
    root.addHandler(file_handler)
    logging.captureWarnings(True)
    try:
        yield loggers, progress
    finally:
        logging.captureWarnings(False)
        root.removeHandler(file_handler)
        progress.close()
        file_handler.close()


class OneLineParser(argparse.ArgumentParser):
    """argparse that reports a usage error in one line, with "did you mean" for a misspelling.

    Every parser made from it (the sub-commands' too: argparse makes them with the parent's
    class) takes ``-v`` and ``--debug``, so they work before or after the command.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        add_common_options(self)

    def error(self, message: str) -> NoReturn:
        hint, close = "", []
        if "invalid choice:" in message:
            wrong = message.split("invalid choice:", 1)[1].split("(", 1)[0].strip(" '\"")
            choices = [a for action in self._actions for a in (action.choices or [])]
            close = difflib.get_close_matches(wrong, [str(c) for c in choices], n=1)
        elif "unrecognized arguments:" in message:
            wrong = message.split("unrecognized arguments:", 1)[1].split()[0]
            close = difflib.get_close_matches(wrong, self._all_options(), n=1)
        if close:
            hint = f"; did you mean '{close[0]}'?"
        self.exit(2, f"{self.prog}: {message}{hint} (see {self.prog} --help)\n")

    def _all_options(self) -> list[str]:
        """Option strings of this parser and of every sub-command's parser."""
        found: list[str] = []
        for action in self._actions:
            found += list(action.option_strings)
            if isinstance(action, argparse._SubParsersAction):
                for sub in action.choices.values():
                    found += [o for a in sub._actions for o in a.option_strings]
        return sorted(set(found))


def add_common_options(parser: argparse.ArgumentParser) -> None:
    """``-v`` / ``--debug`` on a (sub)parser; absent unless given, so either place works."""
    parser.add_argument(
        "-v",
        "--verbose",
        action="count",
        default=argparse.SUPPRESS,
        help="more output: -v Dagster's INFO log in the terminal, -vv every event",
    )
    parser.add_argument(
        "--debug",
        action="store_true",
        default=argparse.SUPPRESS,
        help="show the full traceback of an error",
    )


def user_error_types() -> tuple[type[BaseException], ...]:
    """Exceptions that mean the user can act (settings, key, files, arguments): no traceback."""
    import duckdb

    from pipelines.keys import KeyFileError
    from pipelines.output_checking import OutputCheckError
    from pipelines.settings import SettingsError

    return (
        UserError,
        KeyFileError,
        SettingsError,
        OutputCheckError,
        FileNotFoundError,
        PermissionError,
        duckdb.IOException,
    )


def guarded(command: Callable[[], int], *, prog: str, debug: bool) -> int:
    """Run ``command``; an exception becomes one line on stderr and an exit code.

    A user error exits 2 with its message; anything else exits 70 (EX_SOFTWARE) and names the
    exception type. ``debug`` re-raises, so Python prints the whole traceback.
    """
    try:
        return command()
    except KeyboardInterrupt:
        print(f"{prog}: interrupted.", file=sys.stderr)
        return 130
    except Exception as exc:
        if debug:
            raise
        first = (str(exc).strip().splitlines() or [""])[0]
        if isinstance(exc, user_error_types()):
            print(f"{prog}: {first}", file=sys.stderr)
            return 2
        print(
            f"{prog}: unexpected error ({type(exc).__name__}: {first}); "
            f"run again with --debug for the traceback.",
            file=sys.stderr,
        )
        return 70


def count_steps(job: Any) -> int:
    """Number of steps (ops) the job runs: the progress total."""
    return len(job.graph.nodes)
