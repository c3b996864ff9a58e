"""The direct dependencies (pyproject's [project] dependencies and the test extra) at the versions
installed in this Python: `python .ci/pins.py` prints them as constraints, `--check FILE` lists the
ones that differ from FILE (exit 0 either way: a newer version is news, the tests say if it is bad)."""

from __future__ import annotations

import re
import sys
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

import tomllib

ROOT = Path(__file__).resolve().parents[1]


def direct_names() -> list[str]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    specs = [*project["dependencies"], *project["optional-dependencies"]["test"]]
    names = set()
    for spec in specs:
        name = re.split(r"[\[<>=!~; ]", spec, maxsplit=1)[0].lower()
        extras = re.search(r"\[([^\]]*)\]", spec)
        names.add(name)
        # an extra that is its own distribution (psycopg[binary] -> psycopg-binary) is pinned too
        names.update(f"{name}-{e.strip()}" for e in (extras.group(1).split(",") if extras else ()))
    return sorted(names)


def installed() -> dict[str, str]:
    out = {}
    for name in direct_names():
        try:
            out[name] = version(name).split("+")[0]  # torch's local tag (+cpu) is the build, not the release
        except PackageNotFoundError:
            pass
    return out


def pinned(path: Path) -> dict[str, str]:
    pins = {}
    for line in path.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if "==" in line:
            name, ver = line.split("==", 1)
            pins[name.strip().lower()] = ver.strip()
    return pins


def main(argv: list[str]) -> int:
    now = installed()
    if argv[:1] == ["--check"]:
        if len(argv) != 2 or not Path(argv[1]).is_file():
            print(f"pins.py: --check needs a constraints file; got {argv[1:]!r}", file=sys.stderr)
            return 2
        pins = pinned(Path(argv[1]))
        newer = {n: v for n, v in now.items() if pins.get(n) != v}
        for name, ver in sorted(newer.items()):
            print(f"newest allowed: {name}=={ver} (constraints: {pins.get(name, 'not pinned')})")
        if not newer:
            print("newest allowed: every direct dependency is at its pinned version")
        return 0
    print("# Every direct dependency pinned to the versions the test suite passed with (README: refresh).")
    print("# pyproject.toml keeps ranges for people who bring their own builds.")
    for name, ver in sorted(now.items()):
        print(f"{name}=={ver}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
