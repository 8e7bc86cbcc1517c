"""Write each tap README's settings table from the tap itself.

The table between the two marker comments under "## Settings" in rest_taps/<package>/README.md
is the one `tap-<name> --about --format=markdown` prints. A test checks that every table
is current.

    python -m scripts.tap_readmes write    # after changing a setting
    python -m scripts.tap_readmes check    # exit 1 if a table is out of date
"""

from __future__ import annotations

import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from rest_taps.common.registry import tap_classes

ROOT = Path(__file__).resolve().parent.parent
BEGIN = "<!-- settings: written by `python -m scripts.tap_readmes write`; do not edit -->"
END = "<!-- end of settings -->"


def readme(command: str) -> Path:
    """The README of a tap, by command name."""
    package = tap_classes()[command].__module__.split(".")[1]
    return ROOT / "rest_taps" / package / "README.md"


def about_settings(command: str) -> str:
    """The settings table of `<command> --about --format=markdown`."""
    script = Path(sys.executable).parent / command
    about = subprocess.run(
        [str(script), "--about", "--format=markdown"], capture_output=True, text=True, check=True
    ).stdout
    rows = about.partition("\n## Settings\n")[2].strip().split("\n\n")[0]
    if not rows.startswith("| Setting |"):
        msg = f"{command} --about --format=markdown printed no settings table"
        raise ValueError(msg)
    return rows


def with_settings(text: str, table: str) -> str:
    """`text` (a README) with the table between the markers replaced by `table`."""
    before, begin, rest = text.partition(BEGIN)
    _, end, after = rest.partition(END)
    if not begin or not end:
        msg = f"the README lacks the settings markers {BEGIN!r} ... {END!r}"
        raise ValueError(msg)
    return f"{before}{BEGIN}\n\n{table}\n\n{END}{after}"


def written() -> dict[Path, str]:
    """Every tap README as it should read."""
    with ThreadPoolExecutor() as pool:
        tables = dict(zip(tap_classes(), pool.map(about_settings, tap_classes()), strict=True))
    return {
        readme(command): with_settings(readme(command).read_text(), table)
        for command, table in tables.items()
    }


def stale() -> list[str]:
    """The READMEs whose settings table is not what `--about` prints."""
    return [
        str(path.relative_to(ROOT)) for path, text in written().items() if path.read_text() != text
    ]


def main(argv: list[str]) -> None:
    command = argv[0] if argv else "check"
    if command == "write":
        for path, text in written().items():
            path.write_text(text)
    elif command == "check":
        if out_of_date := stale():
            sys.exit(f"out of date: {', '.join(out_of_date)} (python -m scripts.tap_readmes write)")
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main(sys.argv[1:])
