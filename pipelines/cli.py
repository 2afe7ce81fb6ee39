"""The ``brugstat`` command line for data stewards.

    brugstat demo [--people N]     synthetic exports + the whole pipeline (the embedded default)
    brugstat generate [--people N] synthetic exports into the landing folder only
    brugstat run                   materialise every asset on what is in the landing folder
    brugstat key create | key id   make the project's pseudonymisation key / show its id
    brugstat key rotate --project NEW  a new key for a new research project (new pseudonyms)
    brugstat key destroy           destroy the key (pseudonyms can then never be reproduced)
    brugstat person show --reference R [--export FILE.json]   access request; BSN at the prompt
    brugstat check-output FILE... | --sql QUERY [--session S]   may these results leave?
    brugstat ui [--port P]         the Dagster UI on 127.0.0.1
    brugstat config check [FILE]   every problem in brugstat.toml at once (exit 1 if any)
    brugstat docs                  HTML catalogue of the release: data/docs/<release>/index.html

Settings come from brugstat.toml (see pipelines/settings.py). Messages never print personal data
or the key; they name files, rows and rules.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

from pipelines.locking import ensure_instance_config, run_in_progress
from pipelines.modes import StewardModeError, apply_umask, prepare
from pipelines.settings import Settings, SettingsError, key_from_environment, load_settings


def _dagster_home(settings: Settings) -> Path:
    home = settings.paths.dagster_home
    home.mkdir(parents=True, exist_ok=True)
    ensure_instance_config(home)  # run-queue limit of 1, run monitoring (pipelines.locking)
    os.environ["DAGSTER_HOME"] = str(home)
    return home


def ensure_key(settings: Settings, *, create: bool) -> None:
    """Make sure a key is available; for the demo, create one outside the repo and say so."""
    from pipelines.keys import KeyFileError, create_key_file

    if key_from_environment() is not None or settings.paths.key_file.exists():
        return
    if not create:
        raise KeyFileError(
            f"No pseudonymisation key at {settings.paths.key_file}. "
            "Create one with `brugstat key create` (or set BRUGSTAT_PSEUDONYM_KEY)."
        )
    kid = create_key_file(settings.paths.key_file)
    print(
        f"Created a new pseudonymisation key for project '{settings.project}' at "
        f"{settings.paths.key_file} (mode 0600, outside the repository; key id {kid}). "
        "Keep it safe: without it pseudonyms cannot be reproduced, and it never goes into a "
        "database, log or report."
    )


def generate(settings: Settings, *, people: int, seed: int, force: bool) -> None:
    """Write synthetic exports unless the same ones are already there."""
    from synthetic import generate as write_exports

    landing = settings.paths.landing
    stamp = landing / ".synthetic.json"
    want = {"people": people, "seed": seed, "today": settings.synthetic.today.isoformat()}
    if not force and stamp.exists() and json.loads(stamp.read_text()) == want:
        print(f"Synthetic exports for {people} people already in {landing}; reusing them.")
        return
    summary = write_exports(
        landing,
        people=people,
        seed=seed,
        progress=sys.stderr.isatty(),
        today=settings.synthetic.today,
    )
    stamp.write_text(json.dumps(want))
    print(f"Wrote synthetic exports for {people} people to {landing} ({summary.seconds:.1f} s).")


def run_pipeline(settings: Settings, *, verbosity: int = 0) -> bool:
    """Materialise every asset in-process as a run of the job the Dagster UI shows; one line per
    step here, Dagster's full log in data/logs/ (``-v``/``-vv`` also show it here)."""
    from pipelines.checks import failed_check_lines
    from pipelines.definitions import ALL_JOB
    from pipelines.launch import run_job

    _dagster_home(settings)
    if run_in_progress(settings.paths.data_dir):  # the run itself takes the lock (resource)
        print(f"brugstat: another run is in progress on {settings.paths.data_dir}; wait for it.")
        return False
    print(f"Running {ALL_JOB}: one line per step; Dagster's own log goes to a file.", flush=True)
    outcome = run_job(settings, ALL_JOB, verbosity=verbosity)
    result = outcome.result
    checks = result.get_asset_check_evaluations()
    failed = [c for c in checks if not c.passed]
    print(
        f"Run {result.run_id}: {'succeeded' if result.success else 'FAILED'} in "
        f"{outcome.seconds:.1f} s; {len(checks) - len(failed)}/{len(checks)} asset checks passed."
    )
    for line in failed_check_lines(failed):
        print(line)
    print(f"  Dagster's log of this run: {outcome.log_file}")
    return result.success and not failed


def _summary(settings: Settings, before: dict | None) -> None:
    """Steward database and release in a few lines, with the change since ``before``."""
    from pipelines.summary import release_lines, release_snapshot, steward_line

    print(steward_line(settings.paths.staging_db))
    after = release_snapshot(settings.paths.research_db)
    if after is not None:
        print("\n".join(release_lines(after, before)))


def _outputs(settings: Settings) -> None:
    p = settings.paths
    print("\nOutputs:")
    print(f"  landing exports (synthetic):  {p.landing}")
    print(f"  steward database (mode 0600): {p.staging_db}")
    print("      schemas raw, canonical (staging_*), quarantine, pseudonymised, meta, ledger_*")
    print(f"  research database (analysts): {p.research_db}")
    # the duckdb shell of this venv (duckdb-cli, pinned to the library's version): a bare
    # `duckdb` is usually not on PATH, or another version that cannot read the file
    shell = Path(sys.executable).parent / "duckdb"
    print(f"      open read-only: {shell} -readonly {p.research_db}")
    reports = sorted(
        (p.data_dir / "reports").glob("*/rapport.html"), key=lambda f: f.stat().st_mtime
    )
    if reports:
        print(f"  report for policymakers:      {reports[-1]}  (and rapport.pdf beside it)")
    print(f"  data-subject requests file:   {settings.governance.requests_file}")
    print(f"  Dagster run history:          {p.dagster_home}")
    print("  Dagster UI:                   brugstat ui   (then open http://127.0.0.1:3000)")


def _key_command(settings: Settings, args: argparse.Namespace) -> int:
    from anonymise.pseudonym import key_id
    from pipelines.keys import create_key_file, load_key

    if args.action == "create":
        ensure_key(settings, create=True)
        return 0
    if args.action == "id":
        print(key_id(load_key(settings.paths.key_file)))
        return 0
    if args.action == "rotate":
        if not args.project or not args.project.isidentifier():
            print(
                "brugstat: key rotate needs --project NAME (letters, digits, _).", file=sys.stderr
            )
            return 2
        path = settings.paths.key_file.with_name(f"{args.project}.key")
        kid = create_key_file(path)
        print(
            f"New key for research project '{args.project}' at {path} (mode 0600, key id {kid}). "
            f'Set [project] name = "{args.project}" and [paths] key_file = "{path}" in '
            "brugstat.toml: every pseudonym and release made with it is unlinkable to those of "
            "the old key. The old key file is left as it is; destroy it with `brugstat key "
            "destroy` once no release needs to be reproduced."
        )
        return 0
    path = settings.paths.key_file.expanduser()
    if not path.exists():
        print(f"brugstat: no key file at {path}.", file=sys.stderr)
        return 1
    if not args.yes:
        answer = input(f"Destroy {path}? Pseudonyms made with it can never be reproduced. [y/N] ")
        if answer.strip().lower() not in ("y", "yes", "j", "ja"):
            print("Not destroyed.")
            return 1
    kid = key_id(load_key(path))
    size = path.stat().st_size
    with open(path, "r+b") as fh:  # overwrite before unlinking (best effort on this filesystem)
        fh.write(os.urandom(size))
        fh.flush()
        os.fsync(fh.fileno())
    path.unlink()
    print(
        f"Destroyed key {kid} ({path}). It cannot be recovered: pseudonyms made with it can no "
        "longer be recomputed, so persons can no longer be found in releases made with it."
    )
    return 0


def _person_command(settings: Settings, args: argparse.Namespace) -> int:
    from pipelines.access_request import BSN_ON_COMMAND_LINE, show_person

    if args.bsn is not None:
        print(BSN_ON_COMMAND_LINE, file=sys.stderr)
        return 2
    return show_person(settings, reference=args.reference, export=args.export)


def _check_output_command(settings: Settings, args: argparse.Namespace) -> int:
    from pipelines.output_checking import OutputCheckError, run_check_output

    try:
        return run_check_output(settings, args)
    except OutputCheckError as exc:
        print(f"brugstat check-output: {exc}", file=sys.stderr)
        return 2


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``brugstat`` command: one line and an exit code for every error."""
    from pipelines.console import guarded

    raw = sys.argv[1:] if argv is None else list(argv)
    return guarded(lambda: _main(raw), prog="brugstat", debug="--debug" in raw)


def _main(argv: list[str]) -> int:
    from pipelines.console import OneLineParser

    parser = OneLineParser(prog="brugstat", description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    demo = sub.add_parser("demo", help="synthetic exports, then every asset")
    demo.add_argument("--people", type=int, default=None)
    demo.add_argument("--seed", type=int, default=None)
    demo.add_argument("--regenerate", action="store_true", help="write the exports again")
    gen = sub.add_parser("generate", help="synthetic exports into the landing folder")
    gen.add_argument("--people", type=int, default=None)
    gen.add_argument("--seed", type=int, default=None)
    sub.add_parser("run", help="materialise every asset on the landing folder")
    key = sub.add_parser("key", help="the project's pseudonymisation key")
    key.add_argument("action", choices=["create", "id", "rotate", "destroy"])
    key.add_argument("--project", help="with rotate: the new research project's name")
    key.add_argument("--yes", action="store_true", help="with destroy: no confirmation prompt")
    person = sub.add_parser("person", help="a data-subject access request (inzage)")
    person.add_argument("action", choices=["show"])
    person.add_argument("--bsn", help=argparse.SUPPRESS)  # refused: the BSN comes from stdin
    person.add_argument("--reference", required=True, help="the request's case number (audit)")
    person.add_argument("--export", type=Path, help="write the records as JSON (portability)")
    chk = sub.add_parser(
        "check-output",
        help="check a result table before it leaves (exit 0 may leave, 1 only suppressed, "
        "3 rejected, 2 error)",
    )
    chk.add_argument("file", nargs="*", type=Path, help="result tables: .csv, .parquet, .json")
    chk.add_argument("--sql", help="or: a query run read-only on research.duckdb")
    chk.add_argument("--kind", choices=["frequency", "magnitude", "model"], default="frequency")
    chk.add_argument("--dims", help="dimension columns, comma-separated (default: guessed)")
    chk.add_argument(
        "--margins",
        help="dimensions with totals, comma-separated, or 'none' (default: rows coded Totaal)",
    )
    chk.add_argument("--count", help="the count column (frequency) or contributors (magnitude)")
    chk.add_argument("--value", help="the value column of a magnitude table")
    chk.add_argument("--measure", help="measure name, to link cells with the release ledger")
    chk.add_argument("--name", help="name for the record files (default: the file or 'query')")
    chk.add_argument("--no-ledger", action="store_true", help="do not use the steward ledger")
    chk.add_argument("--group-dims", help="group disclosure lines: dims, 'all' or 'none'")
    chk.add_argument("--levels", choices=["release", "observed"], default="release")
    chk.add_argument("--session", help="add to (or finalise) this output-checking session")
    chk.add_argument("--justify", help="with --session: why an exception should leave")
    chk.add_argument("--output", help="with --session --justify: the earlier output's id")
    chk.add_argument("--finalise", action="store_true", help="write the session's bundle")
    ui = sub.add_parser("ui", help="start the Dagster UI on 127.0.0.1")
    ui.add_argument("--port", type=int, default=3000)
    cfg = sub.add_parser("config", help="check brugstat.toml: every problem at once (exit 1)")
    cfg.add_argument("action", choices=["check"])
    cfg.add_argument("file", nargs="?", type=Path, help="default: the file brugstat would read")
    sub.add_parser("docs", help="HTML catalogue of the current release (tables, columns)")
    args = parser.parse_args(argv)
    if args.command == "config":  # before loading: the file may be the problem
        from pipelines.settings import config_check

        return config_check(args.file)

    try:
        settings = load_settings()
    except SettingsError as exc:
        print(f"brugstat: {exc}", file=sys.stderr)
        return 2
    if args.command == "check-output":  # analysts too: not the owner of the steward folders
        apply_umask()
    else:
        try:
            prepare(settings)  # umask 077, steward folders 0700, steward files checked
        except StewardModeError as exc:
            print(f"brugstat: {exc}", file=sys.stderr)
            return 1

    from pipelines.summary import release_snapshot

    if args.command in ("demo", "generate"):
        people = args.people or settings.synthetic.people
        seed = args.seed if args.seed is not None else settings.synthetic.seed
        generate(settings, people=people, seed=seed, force=getattr(args, "regenerate", False))
        if args.command == "generate":
            return 0
    if args.command in ("demo", "run"):
        ensure_key(settings, create=args.command == "demo")  # a demo key only for the demo
        before = release_snapshot(settings.paths.research_db)
        ok = run_pipeline(settings, verbosity=getattr(args, "verbose", 0))
        if ok:
            _summary(settings, before)
        _outputs(settings)
        return 0 if ok else 1
    if args.command == "key":
        return _key_command(settings, args)
    if args.command == "person":
        return _person_command(settings, args)
    if args.command == "check-output":
        return _check_output_command(settings, args)
    if args.command == "docs":
        from pipelines.docs_site import DocsError, write_docs

        try:
            path = write_docs(settings.paths.research_db, settings.paths.data_dir / "docs")
        except DocsError as exc:
            print(f"brugstat: {exc}", file=sys.stderr)
            return 1
        print(f"Catalogue of the release: {path}")
        return 0
    if args.command == "ui":
        home = _dagster_home(settings)
        print(f"Dagster UI on http://127.0.0.1:{args.port} (DAGSTER_HOME={home}); Ctrl-C stops it.")
        cmd = [
            sys.executable,
            "-m",
            "dagster",
            "dev",
            "-m",
            "pipelines.definitions",
            "-h",
            "127.0.0.1",
            "-p",
            str(args.port),
        ]
        return subprocess.call(cmd, cwd=Path(__file__).resolve().parent.parent)
    return 2


if __name__ == "__main__":
    sys.exit(main())
