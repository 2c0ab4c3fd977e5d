"""A run JSON/JSONL file for `ato compare` -> the CLI's reader -> a comparison of it with itself
(the reader's UsageError is the documented refusal; compare itself never raises)."""

from __future__ import annotations

import os
import tempfile

import atheris

with atheris.instrument_imports(include=["ato_desktop"]):
    from ato_desktop.cli import UsageError
    from ato_desktop.cli.compare import read_run_file
    from ato_desktop.core.compare import build_run_comparison

from harness import fuzz

PATH = os.path.join(tempfile.mkdtemp(prefix="ato-fuzz-"), "run.json")


def target(data: bytes) -> None:
    with open(PATH, "wb") as handle:
        handle.write(data)
    run = read_run_file(PATH)
    if run is not None:
        build_run_comparison(run, run).as_dict()


if __name__ == "__main__":
    fuzz(target, (UsageError,))
