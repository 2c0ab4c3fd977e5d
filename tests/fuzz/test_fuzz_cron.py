"""Cron expressions and time zones: a clear CronError or fire times, never a hang."""

from __future__ import annotations

import itertools
import time

from hypothesis import example, given
from hypothesis import strategies as st

from ato_desktop.core.automations import MissedFires
from ato_desktop.core.cron import CronError, fires_after, plan_due, validate, zone
from tests.fuzz.strategies import HOSTILE_TEXT

FIELD = st.one_of(
    st.sampled_from(
        [
            "*",
            "*/5",
            "0",
            "59",
            "60",
            "-1",
            "1-5",
            "5-1",
            "L",
            "LW",
            "15W",
            "1#5",
            "MON",
            "mon-fri",
            "JAN",
            "?",
            ",",
            "*/0",
            "0/0",
            "31",
            "29",
            "30",
            "2",
        ]
    ),
    st.from_regex(r"[0-9*/,\-LW#?]{1,6}", fullmatch=True),
)
EXPRESSIONS = st.one_of(
    HOSTILE_TEXT,
    st.lists(FIELD, min_size=1, max_size=7).map(" ".join),
    st.sampled_from(
        [
            "@daily",
            "@hourly",
            "@yearly",
            "@annually",
            "@midnight",
            "@weekly",
            "@monthly",
            "@reboot",
            "* * * * * *",
            "*/2 * * * * *",
            "0 0 31 2 *",
            "0 0 30 2 *",
            "0 0 29 2 1",
            "0 0 L 2 *",
            "0 2 * * *",
            "30 2 * 3 0",
            "0 0 * * 5#5",
        ]
    ),
)
ZONES = st.one_of(
    st.sampled_from(
        [
            "UTC",
            "Europe/Paris",
            "America/New_York",
            "Australia/Lord_Howe",
            "Pacific/Apia",
            "America/Santiago",
            "Asia/Kathmandu",
        ]
    ),
    st.sampled_from(
        [
            "",
            "Europe",
            "America/",
            "../etc/passwd",
            "/etc/localtime",
            "Nowhere/City",
            "UTC\x00",
            ".",
            "..",
            "posixrules",
            "Europe//Paris",
            "E" * 300,
        ]
    ),
    HOSTILE_TEXT,
)
# Epoch ms from 1971 to 2200, including the DST changes of the zones above.
MOMENTS = st.integers(min_value=31_536_000_000, max_value=7_258_118_400_000)


@given(EXPRESSIONS, ZONES)
@example("0 0 31 2 *", "UTC")
@example("* * * * *", "America")
@example("* * * * *", "Europe/Paris\x00")
def test_validate_returns_a_clean_expression_or_cron_error(expr: str, tz: str) -> None:
    try:
        clean = validate(expr, tz)
    except CronError as exc:
        assert str(exc)
        return
    assert clean == " ".join(clean.split())


@given(ZONES)
def test_zone_is_a_zone_or_cron_error(tz: str) -> None:
    try:
        zone(tz)
    except CronError as exc:
        assert "time zone" in str(exc)


@given(EXPRESSIONS, ZONES, MOMENTS, st.integers(min_value=0, max_value=400 * 86_400_000))
@example("0 0 31 2 *", "UTC", 31_536_000_000, 0)
@example("30 2 * 3 0", "Europe/Paris", 1_711_846_800_000, 3_600_000)
@example("* * * * *", "UTC", 31_536_000_000, 400 * 86_400_000)
def test_fire_search_is_bounded(expr: str, tz: str, after_ms: int, span_ms: int) -> None:
    try:
        clean = validate(expr, tz)
    except CronError:
        return
    started = time.monotonic()
    fires = fires_after(clean, tz, after_ms, 3)
    assert fires == sorted(set(fires)) and all(f > after_ms for f in fires)
    # Whatever was accepted fires at most once a minute (no per-second six-field forms).
    assert all(b - a >= 60_000 for a, b in itertools.pairwise(fires))
    plan = plan_due(clean, tz, after_ms, after_ms + span_ms, MissedFires.SKIP)
    if plan is not None:
        assert after_ms < plan.last_considered <= after_ms + span_ms
    assert time.monotonic() - started < 10
