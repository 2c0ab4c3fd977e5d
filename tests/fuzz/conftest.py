"""Hypothesis profiles for the fuzz tests.

"ci" (the default, what `make test` runs): few examples each, so the whole of tests/fuzz stays
under ~25 s on two cores. "deep": thousands of examples each, for a fuzzing session:

    ATO_FUZZ=deep QT_QPA_PLATFORM=offscreen .venv/bin/pytest tests/fuzz

(or HYPOTHESIS_PROFILE=deep).

A deadline catches a parser that goes quadratic or loops; the examples database is off so a run
leaves nothing behind in the tree (a failure prints its example to paste as an @example).
"""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

from tests.fuzz.strategies import deep_profile

_COMMON = {
    "database": None,
    "suppress_health_check": (HealthCheck.too_slow, HealthCheck.function_scoped_fixture),
    "print_blob": True,
}
settings.register_profile("ci", max_examples=40, deadline=2000, **_COMMON)  # type: ignore[arg-type]
settings.register_profile("deep", max_examples=2000, deadline=5000, **_COMMON)  # type: ignore[arg-type]
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE") or ("deep" if deep_profile() else "ci"))
