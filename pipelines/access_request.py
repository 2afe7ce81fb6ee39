"""``brugstat person show``: a data subject's access (inzage) or portability request.

The BSN is read from a prompt (or a pipe on stdin), never from the command line, where ``ps``
and shell histories show it to other users. Every request names its ``--reference`` (the
request's case number) and writes an audit entry — reference, who, counts; never the BSN. Any
failure is one sentence on stderr, never a traceback.
"""

from __future__ import annotations

import getpass
import json
import os
import sys
from pathlib import Path
from typing import TextIO

from pipelines.locking import RunInProgressError, exclusive_run
from pipelines.modes import StewardModeError
from pipelines.resources import StagingDatabase
from pipelines.settings import Settings

BSN_ON_COMMAND_LINE = (
    "brugstat person show: the BSN is never given on the command line (other users see it in "
    "`ps` and shell history); leave out --bsn and type it at the prompt, or pipe it on stdin."
)


def read_bsn(stdin: TextIO) -> str:
    """The BSN typed at a hidden prompt (a terminal) or the first line of piped stdin."""
    if stdin.isatty():
        return getpass.getpass("BSN (not shown): ")
    return stdin.readline()


def show_person(
    settings: Settings,
    *,
    reference: str,
    export: Path | None,
    stdin: TextIO = sys.stdin,
    out: TextIO = sys.stdout,
    err: TextIO = sys.stderr,
) -> int:
    """Print (or with ``export`` write, mode 0600) every record of the person; 0 on success,
    1 when the person is unknown, 2 on a wrong input or a database that cannot be read."""
    from anonymise.bsn import bsn_check_digit_ok
    from assets.governance.access import person_records
    from assets.governance.purge import write_audit

    reference = reference.strip()
    if not reference:
        print("brugstat person show: --reference (the request's case number) is empty.", file=err)
        return 2
    bsn = "".join(ch for ch in read_bsn(stdin) if ch.isdigit()).zfill(9)
    if len(bsn) != 9 or not bsn_check_digit_ok(bsn):
        print("brugstat person show: that BSN does not pass the 11-proef.", file=err)
        return 2
    if not settings.paths.staging_db.exists():
        print(
            f"brugstat person show: no steward database at {settings.paths.staging_db}.", file=err
        )
        return 2
    db = StagingDatabase(path=str(settings.paths.staging_db))
    try:
        with exclusive_run(settings.paths.data_dir), db.connect() as con:
            records = person_records(con, bsn)
            n = sum(len(v) for layer in ("canonical", "raw") for v in records[layer].values())
            found = len(records["organisations"])
            write_audit(
                con,
                "access_request",
                "",
                {"reference": reference, "export": export is not None},
                {"organisations": found, "records": n},
            )
    except (RunInProgressError, StewardModeError) as exc:
        print(f"brugstat person show: {exc}", file=err)
        return 2
    except Exception as exc:  # one sentence for the steward, never a traceback
        print(
            f"brugstat person show: the steward database could not be read "
            f"({type(exc).__name__}); nothing was shown. Run `brugstat run` first if it is new.",
            file=err,
        )
        return 2
    if not found:
        print(
            f"brugstat person show: no records of that BSN (request {reference}); the audit "
            "log records the request.",
            file=err,
        )
        return 1
    text = json.dumps(records, indent=2, ensure_ascii=False, default=str)
    if export is not None:
        fd = os.open(export, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        print(
            f"Wrote {n} record(s) from {found} organisation(s) to {export} (mode 0600).", file=out
        )
    else:
        print(text, file=out)
    return 0
