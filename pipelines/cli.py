"""The ``brugstat`` command line (placeholder until the CLI lands in this same change)."""


def main() -> int:
    raise SystemExit("brugstat CLI not wired yet")
