"""Run every benchmark (benchmarks/bench_*.py) and collect their sections into RESULTS.md.

Each benchmark prints a markdown section and writes it to benchmarks/out/<name>.md; every
`bench_*.py` here is run (credit expiry, usage ingestion, invoice list, statement matching).
A section of RESULTS.md whose benchmark wrote nothing this time (not run, or run on another
machine) is kept as it was; a section written this time replaces the one of the same heading.
Usage: `make bench` (PostgreSQL and Redis at 127.0.0.1, or DATABASE_URL / REDIS_URL).
"""

import datetime as dt
import os
import platform
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
OUT = HERE / "out"


def machine() -> str:
    cpu = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    pg = subprocess.run(["psql", "--version"], capture_output=True, text=True).stdout.strip()
    return (
        f"{os.cpu_count()} cores ({cpu}), {mem:.0f} GiB, Python {platform.python_version()}, {pg}"
    )


def _heading(section: str) -> str:
    return section.strip().splitlines()[0] if section.strip() else ""


def _merged(new: list[str]) -> list[str]:
    """The sections of the current RESULTS.md, each replaced by a new one of the same heading,
    then the new ones it did not have."""
    results = HERE / "RESULTS.md"
    old: list[str] = []
    if results.exists():
        text = results.read_text()
        parts = text.split("\n## ")
        old = ["## " + part.rstrip() + "\n" for part in parts[1:]]
    fresh = {_heading(s): s for s in new}
    merged = [fresh.pop(_heading(s), s) for s in old]
    return merged + list(fresh.values())


def main() -> int:
    OUT.mkdir(exist_ok=True)
    names = sys.argv[1:] or sorted(p.stem.removeprefix("bench_") for p in HERE.glob("bench_*.py"))
    failed = []
    for name in names:
        print(f"== {name}", flush=True)
        if (
            subprocess.run(
                [sys.executable, str(HERE / f"bench_{name}.py")], cwd=HERE.parent
            ).returncode
            != 0
        ):
            failed.append(name)
    sections = _merged([p.read_text() for p in sorted(OUT.glob("*.md"))])
    header = (
        "# Benchmark results\n\n"
        f"Machine: {machine()}.  \nLast run: {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC.  \n"
        "Rerun all: `make bench` (or `python benchmarks/run_all.py NAME` for one).\n\n"
    )
    (HERE / "RESULTS.md").write_text(header + "\n".join(sections))
    if failed:
        print("failed: " + ", ".join(failed), file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
