"""Eval suite JSONL text -> parse_suite (bad lines collected, SuiteFormatError when unusable)."""

from __future__ import annotations

import atheris

with atheris.instrument_imports(include=["ato_desktop"]):
    from ato_desktop.core.eval_suite import SuiteFormatError, parse_suite

from harness import fuzz, text


def target(data: bytes) -> None:
    suite_text = text(data)
    if suite_text is not None:
        parse_suite(suite_text, default_name="fuzz")


if __name__ == "__main__":
    fuzz(target, (SuiteFormatError,))
