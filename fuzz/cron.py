"""Cron expression + time zone -> validate, then the next fires (CronError when unusable;
the fire search must stay bounded: libFuzzer's -timeout catches a hang)."""

from __future__ import annotations

import atheris

with atheris.instrument_imports(include=["ato_desktop", "cronsim"]):
    from ato_desktop.core.cron import CronError, fires_after, validate

from harness import fuzz

ZONES = ["UTC", "Europe/Paris", "America/New_York", "Australia/Lord_Howe", "Pacific/Apia"]


def target(data: bytes) -> None:
    provider = atheris.FuzzedDataProvider(data)
    if provider.ConsumeBool():
        tz = ZONES[provider.ConsumeIntInRange(0, len(ZONES) - 1)]
    else:
        tz = provider.ConsumeUnicodeNoSurrogates(24)  # any name: a folder, "../x", NUL
    after_ms = provider.ConsumeIntInRange(0, 7_258_118_400_000)
    expr = provider.ConsumeUnicodeNoSurrogates(60)
    clean = validate(expr, tz)
    fires_after(clean, tz, after_ms, 3)


if __name__ == "__main__":
    fuzz(target, (CronError,))
