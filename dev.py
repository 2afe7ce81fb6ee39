#!/usr/bin/env python3
"""Set up and run brugstat with nothing but Python 3.11 and pip.

    python3 dev.py demo [--people N]   # venv + locked install, synthetic exports, every asset
    python3 dev.py test [pytest args]  # venv + locked install, ruff, then the test suite
    python3 dev.py setup               # only the install
    python3 dev.py brugstat ARGS...    # any brugstat command inside the venv

`test` also makes sure of the Debian packages in system-packages.txt (headless Chromium and
poppler's pdftoppm, to render the report in the tests; pango for its PDF): when one is missing
and this runs as root with apt-get, it installs them; otherwise the rendering tests are skipped
with a message (or fail, when BRUGSTAT_REQUIRE_SYSTEM_TOOLS=1, as CI sets).

The virtual environment lives in .venv/ and is rebuilt only when requirements.lock or
pyproject.toml change (a stamp file records their hash). Standard library only: this script runs
before anything is installed.
"""

from __future__ import annotations

import difflib
import hashlib
import os
import shutil
import subprocess
import sys
import time
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
STAMP = VENV / ".brugstat-setup-stamp"
BIN = VENV / "bin"
INSTALL_LOG = VENV / "install.log"
COMMANDS = ("demo", "test", "setup", "brugstat")


def _fingerprint() -> str:
    h = hashlib.sha256()
    for name in ("requirements.lock", "pyproject.toml"):
        h.update((ROOT / name).read_bytes())
    return h.hexdigest()


def setup() -> None:
    """Create .venv and install the locked requirements plus the project (editable)."""
    if sys.version_info[:2] != (3, 11):
        sys.exit(f"brugstat needs Python 3.11; this is {sys.version.split()[0]}.")
    want = _fingerprint()
    if STAMP.exists() and STAMP.read_text() == want and (BIN / "brugstat").exists():
        return
    if not (BIN / "python").exists():
        print("dev.py: creating .venv", flush=True)
        venv.EnvBuilder(with_pip=True, clear=True).create(VENV)
    pip = [str(BIN / "python"), "-m", "pip", "--disable-pip-version-check"]
    n = sum(
        1
        for line in (ROOT / "requirements.lock").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    )
    print(
        f"dev.py: installing {n} locked packages into .venv (first time: 2-3 minutes; "
        f"pip's output goes to {INSTALL_LOG.relative_to(ROOT)})",
        flush=True,
    )
    started = time.monotonic()
    _pip_with_progress([*pip, "install", "-r", str(ROOT / "requirements.lock")], started)
    _pip_with_progress([*pip, "install", "--no-deps", "-e", str(ROOT)], started)
    print(f"dev.py: installed in {time.monotonic() - started:.0f} s", flush=True)
    STAMP.write_text(want)


def _pip_with_progress(cmd: list[str], started: float) -> None:
    """Run pip with its output in INSTALL_LOG; on a terminal, one line that says what it does."""
    tty = sys.stdout.isatty()
    with open(INSTALL_LOG, "a", encoding="utf-8") as log:
        proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT)
        while proc.poll() is None:
            time.sleep(1)
            if tty:
                line = f"  {time.monotonic() - started:4.0f} s  {_last_pip_step()[:60]:<60}"
                print("\r" + line, end="", flush=True)
    if tty:
        print("\r" + " " * 72 + "\r", end="", flush=True)
    if proc.returncode != 0:
        sys.exit(f"dev.py: the install failed (exit {proc.returncode}); see {INSTALL_LOG}.")


def _last_pip_step() -> str:
    """The newest 'Collecting x' / 'Installing collected packages' line of the install log."""
    try:
        lines = INSTALL_LOG.read_text(encoding="utf-8", errors="replace").splitlines()[-20:]
    except OSError:
        return ""
    for line in reversed(lines):
        if line.startswith(("Collecting", "Downloading", "Installing", "Building", "Successfully")):
            return line.strip()
    return "resolving"


def system_packages() -> None:
    """Install the Debian packages the report and its tests need, when missing and possible."""
    wanted = [
        line.split("#")[0].split()
        for line in (ROOT / "system-packages.txt").read_text().splitlines()
        if line.split("#")[0].strip()
    ]  # each line: package [command that proves it is there]
    missing = [
        pkg
        for pkg, *probe in wanted
        if (probe and shutil.which(probe[0]) is None)
        or (not probe and subprocess.run(["dpkg", "-s", pkg], capture_output=True).returncode)
    ]
    if not missing:
        return
    if shutil.which("apt-get") is None or os.geteuid() != 0:
        print(
            f"dev.py: missing Debian packages {missing}; install them (apt-get install "
            f"{' '.join(missing)}) or the report-rendering tests are skipped.",
            file=sys.stderr,
        )
        return
    print(f"dev.py: installing Debian packages {missing}", flush=True)
    cmd = ["apt-get", "install", "-y", "-q", "--no-install-recommends", *missing]
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    if subprocess.run(cmd, env=env, stdout=subprocess.DEVNULL).returncode != 0:
        subprocess.run(["apt-get", "update", "-q"], env=env, stdout=subprocess.DEVNULL)
        subprocess.run(cmd, env=env, stdout=subprocess.DEVNULL, check=True)


def _run(args: list[str]) -> int:
    env = dict(os.environ)
    env["PATH"] = f"{BIN}{os.pathsep}{env.get('PATH', '')}"
    env.setdefault("PYTHONDONTWRITEBYTECODE", "")
    env.pop("PYTHONDONTWRITEBYTECODE")  # compiled bytecode halves dagster's import time
    return subprocess.run(args, cwd=ROOT, env=env).returncode


def main(argv: list[str]) -> int:
    if not argv or argv[0] in ("-h", "--help"):
        print(__doc__)
        return 0
    command, rest = argv[0], argv[1:]
    if command not in COMMANDS:  # before the minutes-long install, not after it
        close = difflib.get_close_matches(command, COMMANDS, n=1)
        hint = f" Did you mean {close[0]!r}?" if close else ""
        print(
            f"dev.py: unknown command {command!r}.{hint} Commands: {', '.join(COMMANDS)} "
            "(python3 dev.py --help).",
            file=sys.stderr,
        )
        return 2
    setup()
    if command == "setup":
        return 0
    if command == "demo":
        return _run([str(BIN / "brugstat"), "demo", *rest])
    if command == "test":
        system_packages()
        lint = _run([str(BIN / "ruff"), "check", "."])
        if lint != 0:
            print("dev.py: ruff found problems (above); fix them first.", file=sys.stderr)
            return lint
        return _run([str(BIN / "python"), "-m", "pytest", *rest])
    if command == "brugstat":
        return _run([str(BIN / "brugstat"), *rest])
    return 2  # unreachable: the command was checked above


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
