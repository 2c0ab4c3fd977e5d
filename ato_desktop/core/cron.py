"""Cron maths: next fire times of a cron expression in a time zone (cronsim), and which fires
are due when the scheduler looks (on time, or missed while nothing ran it).

Times are epoch milliseconds; a fire is the instant the expression names, in the schedule's
time zone (so "0 9 * * *" in Europe/Paris is 09:00 Paris time, whatever the DST).

Expressions have the five classic fields, or are one of the @ nicknames (@hourly, @daily,
@midnight, @weekly, @monthly, @yearly, @annually), which stand for their five-field meaning.
cronsim also reads a six-field form whose first field is seconds; it is refused, because a
schedule fires at most once a minute (a typo of one field must not fire every second).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from cronsim import CronSim, CronSimError

from ato_desktop.core.automations import DefinitionError, MissedFires

# A fire the scheduler reaches within this long of its time is on time; an older one was
# missed (the app was closed, the machine asleep).
ON_TIME_GRACE_MS = 60_000
MAX_SCAN = 10_000  # fires looked at between two times, at most (a minutely schedule: 7 days)


# The nicknames Vixie cron documents, as the five fields they stand for (@reboot has no time).
NICKNAMES = {
    "@yearly": "0 0 1 1 *",
    "@annually": "0 0 1 1 *",
    "@monthly": "0 0 1 * *",
    "@weekly": "0 0 * * 0",
    "@daily": "0 0 * * *",
    "@midnight": "0 0 * * *",
    "@hourly": "0 * * * *",
}


class CronError(DefinitionError):
    """A cron expression or time zone that cannot be used."""


@functools.lru_cache(maxsize=256)
def expand(expr: str) -> str:
    """The five fields an expression stands for (a nickname expanded); CronError for anything
    that is not five fields or a known nickname, six-field (per-second) forms above all."""
    clean = " ".join(expr.split())
    if clean.startswith("@"):
        fields = NICKNAMES.get(clean.lower())
        if fields is None:
            known = ", ".join(NICKNAMES)
            raise CronError(f"bad cron expression {expr!r}: ATO knows the nicknames {known}")
        return fields
    count = len(clean.split())
    if count == 6:
        raise CronError(
            f"bad cron expression {expr!r}: six fields would add seconds and fire more than "
            "once a minute; use the five fields minute hour day month weekday"
        )
    if count != 5:
        raise CronError(
            f"bad cron expression {expr!r}: it needs five fields (minute hour day month "
            f"weekday), not {count}, or a nickname such as @daily"
        )
    return clean


def zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    # A directory of the zone database ("America") or an unreadable file is an OSError.
    except (ZoneInfoNotFoundError, ValueError, OSError) as exc:
        raise CronError(f"unknown time zone {name!r}; use an IANA name like Europe/Paris") from exc


def validate(expr: str, tz: str) -> str:
    """The expression, normalised; CronError says what is wrong."""
    clean = " ".join(expr.split())
    fields = expand(clean)
    zone(tz)
    try:
        CronSim(fields, datetime.now(ZoneInfo("UTC")))
    except CronSimError as exc:
        raise CronError(f"bad cron expression {expr!r}: {exc}") from exc
    return clean.lower() if clean.startswith("@") else clean


def fires_after(expr: str, tz: str, after_ms: int, count: int = 1) -> list[int]:
    """The next `count` fire times strictly after after_ms."""
    start = datetime.fromtimestamp(after_ms / 1000, zone(tz))
    found: list[int] = []
    for moment in CronSim(expand(expr), start):
        ms = int(moment.timestamp() * 1000)
        if ms <= after_ms:
            continue
        found.append(ms)
        if len(found) >= count:
            break
    return found


def next_fire(expr: str, tz: str, after_ms: int) -> int | None:
    fires = fires_after(expr, tz, after_ms, 1)
    return fires[0] if fires else None


@dataclass(frozen=True, slots=True)
class DuePlan:
    """What the scheduler does for one schedule now: fire at `fire_at` (None: nothing to run)
    and how many fires it missed (and skipped or folded into this one)."""

    fire_at: int | None
    missed: int
    last_considered: int  # the newest fire time looked at; the next look starts after it

    @property
    def note(self) -> str:
        if not self.missed:
            return "on time" if self.fire_at is not None else ""
        plural = "s" if self.missed != 1 else ""
        if self.fire_at is None:
            return f"missed {self.missed} fire{plural} while not running: skipped"
        return f"missed {self.missed} fire{plural} while not running: ran once"


def plan_due(expr: str, tz: str, last_ms: int, now_ms: int, policy: MissedFires) -> DuePlan | None:
    """Fires in (last_ms, now_ms]: None when there are none. The newest one, reached within the
    grace, runs on time; older ones are missed and follow the policy (run once: one run for all
    of them, unless an on-time fire runs anyway)."""
    due: list[int] = []
    start = datetime.fromtimestamp(last_ms / 1000, zone(tz))
    # One walk of the expression (not a new search per fire: a minutely schedule missed for a
    # week is 10,000 fires).
    for moment in CronSim(expand(expr), start):
        ms = int(moment.timestamp() * 1000)
        if ms <= last_ms:
            continue
        if ms > now_ms or len(due) >= MAX_SCAN:
            break
        due.append(ms)
    if not due:
        return None
    newest = due[-1]
    on_time = now_ms - newest <= ON_TIME_GRACE_MS
    missed = len(due) - (1 if on_time else 0)
    if on_time:
        return DuePlan(newest, missed, newest)
    if policy is MissedFires.RUN_ONCE:
        return DuePlan(newest, missed, newest)
    return DuePlan(None, missed, newest)
