"""The determinism pattern scanner: what a run produced that will differ when it runs again.

A run's actions are scanned in order. What each action produced is scanned: a model's text and
tool-call arguments, a tool's output, the arguments a coding agent chose for its own steps.
What it was given is remembered instead (`_Known`): the system prompt, the user's prompt, the
conversation, earlier actions' outputs. A value the run was given or had already seen is never
a finding: a date the user typed, or an id a tool returned that the model passed on, is not the
run inventing one. The ids the app records per call (tool call ids) are left out.

Tool outputs are data: a record's id or its "created_at" is not randomness or the clock. There,
only values under keys that name a random value (request_id, nonce, uuid...), a bare token as
the whole result, timestamps near the action's own time, and clock fields of the result itself
("generated_at", "timestamp" outside a list of records) count.

Pure: the action's recorded start and end are "now"; no clock is read.
"""

from __future__ import annotations

import bisect
import json
import math
import re
import struct
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from fractions import Fraction
from typing import Any

from ato_desktop.core.records import ActionRecord

MODEL_KINDS = frozenset({"llm", "agent", "message", "reasoning"})
"""Action kinds whose outputs the model or agent wrote (the rest come from tools and commands)."""
_CALL_STATUS_KEYS = frozenset({"finish_reason", "partial"})


@dataclass(frozen=True, slots=True)
class Hit:
    """One occurrence of a pattern in one action."""

    seq: int
    action_name: str
    model: bool  # the action's output is the model's (advice about prompts applies)
    pattern: str
    description: str
    evidence: str
    path: str
    line: int | None


def dumps(value: Any, *, sort_keys: bool) -> str:
    """Compact JSON text of any recorded value (never raises on odd values)."""
    return json.dumps(
        value, sort_keys=sort_keys, separators=(",", ":"), ensure_ascii=False, default=str
    )


def strip_call_ids(value: Any) -> Any:
    """A value with the ids the app records per call left out (tool call ids): they differ on
    every run and say nothing about what was asked or answered."""
    if isinstance(value, dict):
        out: dict[str, Any] = {}
        for key, item in value.items():
            if key == "tool_call_id":
                continue
            if key == "tool_calls" and isinstance(item, list):
                out[key] = [
                    {k: strip_call_ids(v) for k, v in call.items() if k != "id"}
                    if isinstance(call, dict)
                    else call
                    for call in item
                ]
            else:
                out[key] = strip_call_ids(item)
        return out
    if isinstance(value, list):
        return [strip_call_ids(item) for item in value]
    return value


# "The time of the run". For what the model wrote: within two days (it has no clock; a time that
# close and in none of its inputs was made up or read from the environment). For tools and
# commands, which do read clocks: within the call itself, give or take two minutes, and for a
# time without a zone, at any whole or half-hour offset from it. A tool's recent events (a
# package scanned an hour ago) are data, not the clock.
_MODEL_NEAR_MS = 2 * 86_400_000
_CLOCK_SLACK_MS = 2 * 60_000
_HALF_HOUR_MS = 30 * 60_000
_DATE_NEAR_MS = 36 * 3_600_000
# A tool's or command's date alone is the day it ran when that day holds the call in some time
# zone (UTC-12 to UTC+14): noon of the date within 26 hours of the call.
_CLOCK_DATE_NEAR_MS = 26 * 3_600_000
_EPOCH_S = (946_684_800, 4_102_444_800)  # 2000-01-01 .. 2100-01-01
_EPOCH_MS = (_EPOCH_S[0] * 1000, _EPOCH_S[1] * 1000)
_SCAN_LIMIT = 200_000  # characters scanned per string: bounded work on huge outputs

_YEAR = r"(?:19[7-9]\d|20\d\d|2100)"
_MONTH_NAMES = (
    r"(?:Jan(?:uary)?|Feb(?:ruary)?|Mar(?:ch)?|Apr(?:il)?|May|June?|July?|Aug(?:ust)?"
    r"|Sep(?:t(?:ember)?)?|Oct(?:ober)?|Nov(?:ember)?|Dec(?:ember)?)"
)
_TIME = (
    r"(?:,?\s+(?:at\s+)?(?P<H>[0-2]?\d):(?P<M>[0-5]\d)(?::(?P<S>[0-6]\d)(?:[.,]\d{1,9})?)?"
    r"(?:\s*(?P<ampm>[AaPp]\.?[Mm]\.?))?(?:\s*(?P<tz>UTC|GMT|Z|[+-][0-2]\d:?[0-5]\d))?)?"
)
_ISO = re.compile(
    rf"(?<![\w.:/-])(?P<y>{_YEAR})(?P<sep>[-/])(?P<m>[01]\d)(?P=sep)(?P<d>[0-3]\d)"
    r"(?:[T ](?P<H>[0-2]\d):(?P<M>[0-5]\d)(?::(?P<S>[0-6]\d)(?:[.,]\d{1,9})?)?"
    # Not followed by a letter or digit, nor by ":<digit>" (more of a time); a log line's
    # "2026-12-07T00:50:43Z: job started" ends at the Z.
    r"(?:\s?(?P<tz>Z|[+-][0-2]\d(?::?[0-5]\d)?))?)?(?!\w|:\d)"
)
_MONTH_FIRST = re.compile(
    rf"\b(?P<mon>{_MONTH_NAMES})\.?\s+(?P<d>[0-3]?\d)(?:st|nd|rd|th)?,?\s+(?P<y>{_YEAR})\b{_TIME}",
    re.IGNORECASE,
)
_DAY_FIRST = re.compile(
    rf"\b(?P<d>[0-3]?\d)(?:st|nd|rd|th)?\s+(?:of\s+)?(?P<mon>{_MONTH_NAMES})\.?,?\s+"
    rf"(?P<y>{_YEAR})\b{_TIME}",
    re.IGNORECASE,
)
_NUMERIC = re.compile(
    rf"(?<![\w./-])(?P<a>[01]?\d)/(?P<b>[0-3]?\d)/(?P<y>{_YEAR})(?![\w/]){_TIME}", re.IGNORECASE
)
# `date` and `git log`: "Mon Sep 21 14:13:21 UTC 2026", "Mon Sep 21 14:13:21 2026 +0000".
_ASCTIME = re.compile(
    rf"\b(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun)\w*,?\s+(?P<mon>{_MONTH_NAMES})\s+(?P<d>[0-3]?\d)\s+"
    r"(?P<H>[0-2]\d):(?P<M>[0-5]\d):(?P<S>[0-6]\d)(?:\s+(?P<tz>[A-Z]{3,4}))?"
    rf"\s+(?P<y>{_YEAR})\b(?:\s+(?P<tz2>[+-][0-2]\d[0-5]\d))?"
)
_DATE_PATTERNS = (_ISO, _ASCTIME, _MONTH_FIRST, _DAY_FIRST, _NUMERIC)
_EPOCH_TEXT = re.compile(r"(?<![\w.])(?P<n>\d{10}|\d{13})(?:\.\d{1,9})?(?![\w]|\.\d)")
_RELATIVE = re.compile(
    r"\b(?:today|tonight|yesterday|tomorrow|right now|as of now|as of today|at the moment"
    r"|this (?:morning|afternoon|evening)|current (?:date|time))\b",
    re.IGNORECASE,
)
_UUID = re.compile(
    r"(?<![0-9A-Za-z-])[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}"
    r"(?![0-9A-Za-z-])"
)
_HEX = re.compile(r"(?<![0-9A-Za-z_-])[0-9A-Fa-f]{16,128}(?![0-9A-Za-z_-])")
_TOKEN = re.compile(r"(?<![0-9A-Za-z_./+-])[0-9A-Za-z_-]{20,128}(?![0-9A-Za-z_/+-]|\.\w)")
_FLOAT_TEXT = re.compile(r"(?<![\w.])-?\d+\.\d+(?:[eE][-+]?\d+)?(?![\w]|\.\d)")
_NOISE = re.compile(r"\.\d*?(?:0{6,}|9{6,})\d{1,3}$")
_SET_REPR = re.compile(
    r"(?:frozenset\()?\{\s*'[^'\n{}]{1,80}'(?:\s*,\s*'[^'\n{}]{1,80}')+\s*\}", re.IGNORECASE
)
_CLOCK_CONTEXT = re.compile(
    r"\b(?:generated|as of|timestamp|current (?:time|date)|right now|time now|now is|it is now"
    r"|today is|fetched|retrieved|refreshed|server time|local time|printed|run at)\b"
    r"[^\n]{0,20}$",
    re.IGNORECASE,
)
_CLOCK_KEYS = frozenset(
    {
        "timestamp",
        "ts",
        "time",
        "now",
        "currenttime",
        "currentdate",
        "today",
        "generated",
        "generatedat",
        "generatedon",
        "asof",
        "servertime",
        "fetchedat",
        "retrievedat",
        "requestedat",
        "checkedat",
        "runat",
        "executedat",
        "epoch",
        "unixtime",
    }
)
_RANDOM_KEYS = frozenset(
    {
        "uuid",
        "guid",
        "nonce",
        "random",
        "salt",
        "requestid",
        "traceid",
        "spanid",
        "correlationid",
        "sessionid",
        "invocationid",
        "executionid",
    }
)
_BARE_KEYS = frozenset({"content", "text", "output", "result", "value", "stdout"})
_IDEMPOTENCY_KEYS = frozenset(
    {
        "idempotencykey",
        "idempotencytoken",
        "idempotencyid",
        "xidempotencykey",
        "requestid",
        "xrequestid",
        "clientrequestid",
        "clienttoken",
        "clientreferenceid",
        "dedupkey",
        "dedupekey",
        "dedupid",
        "deduplicationid",
        "deduplicationkey",
        "messagededuplicationid",
        "operationid",
    }
)


def _norm_key(key: object) -> str:
    return str(key).lower().replace("_", "").replace("-", "")


@dataclass(frozen=True, slots=True)
class _Moment:
    """A date or date-time found in a text."""

    text: str
    start: int
    end: int
    date_key: str  # the date as written
    wall_key: str | None  # the date and time to the minute as written (None: a date alone)
    instant_ms: int
    has_time: bool
    has_seconds: bool
    naive: bool  # no time zone given

    @property
    def known_keys(self) -> tuple[str, ...]:
        """What this mention makes known: a date alone covers any time that day; a date-time
        covers that minute as written, and that second written another way."""
        if self.wall_key is None:
            return (self.date_key,)
        return (self.wall_key, _instant_key(self.instant_ms), "day-of-" + self.date_key)

    def is_known(self, known: _Known) -> bool:
        if self.wall_key is None:
            return self.date_key in known or "day-of-" + self.date_key in known
        return (
            self.date_key in known
            or self.wall_key in known
            or _instant_key(self.instant_ms) in known
        )


def _moments(text: str) -> Iterator[_Moment]:
    """Dates and date-times in a text, in the common written forms (always with a year)."""
    taken = _Spans()
    for pattern in _DATE_PATTERNS:
        for match in pattern.finditer(text):
            start, end = match.span()
            if taken.overlaps(start, end):
                continue
            moment = _moment(match)
            if moment is not None:
                taken.add(start, end)
                yield moment


def _moment(match: re.Match[str]) -> _Moment | None:
    groups = match.groupdict()
    try:
        year = int(groups["y"])
        if "mon" in groups and groups.get("mon"):
            month = _month_number(groups["mon"])
            day = int(groups["d"])
        elif "a" in groups and groups.get("a"):
            month, day = int(groups["a"]), int(groups["b"])
            if month > 12:
                month, day = day, month
        else:
            month, day = int(groups["m"]), int(groups["d"])
        moment = datetime(year, month, day, tzinfo=UTC)
        zone = _tz_offset(groups.get("tz") or groups.get("tz2"))
        has_time = groups.get("H") is not None
        hour = minute = 0
        if has_time:
            hour = int(groups["H"])
            ampm = (groups.get("ampm") or "").lower()
            if ampm.startswith("p") and hour < 12:
                hour += 12
            elif ampm.startswith("a") and hour == 12:
                hour = 0
            seconds = min(int(groups.get("S") or 0), 59)
            minute = int(groups["M"])
            moment = moment.replace(hour=hour, minute=minute, second=seconds)
            moment -= zone or timedelta(0)
    except (ValueError, TypeError):
        return None
    return _Moment(
        text=match.group(0),
        start=match.start(),
        end=match.end(),
        date_key=f"d:{year:04d}-{month:02d}-{day:02d}",
        wall_key=(
            f"w:{year:04d}-{month:02d}-{day:02d}T{hour:02d}:{minute:02d}" if has_time else None
        ),
        instant_ms=int(moment.timestamp() * 1000),
        has_time=has_time,
        has_seconds=has_time and groups.get("S") is not None,
        naive=zone is None,
    )


def _month_number(name: str) -> int:
    return [
        "jan",
        "feb",
        "mar",
        "apr",
        "may",
        "jun",
        "jul",
        "aug",
        "sep",
        "oct",
        "nov",
        "dec",
    ].index(name[:3].lower()) + 1


def _tz_offset(tz: str | None) -> timedelta | None:
    """The zone's offset from UTC; None when there is none, or it is a name such as PDT."""
    if not tz:
        return None
    if tz.upper() in ("Z", "UTC", "GMT"):
        return timedelta(0)
    if tz[0] not in "+-":
        return None
    sign = -1 if tz[0] == "-" else 1
    digits = tz[1:].replace(":", "")
    hours = int(digits[:2])
    minutes = int(digits[2:4] or 0)
    return sign * timedelta(hours=hours, minutes=minutes)


def _epoch_ms(value: float) -> int | None:
    if _EPOCH_S[0] <= value <= _EPOCH_S[1]:
        return int(value * 1000)
    if _EPOCH_MS[0] <= value <= _EPOCH_MS[1]:
        return int(value)
    return None


def _significant_digits(text: str) -> int:
    mantissa = text.lower().split("e")[0].lstrip("+-")
    return len(mantissa.replace(".", "").lstrip("0"))


def _is_float32(value: float) -> bool:
    try:
        return bool(struct.unpack("f", struct.pack("f", value))[0] == value)
    except OverflowError:
        return False


def _simple_fraction(value: float) -> bool:
    close = Fraction(value).limit_denominator(1000)
    return abs(float(close) - value) <= 1e-12 * max(1.0, abs(value))


def _float_pattern(text: str, value: float) -> str | None:
    """The pattern of a float written as text (its repr, or a literal in prose)."""
    if not math.isfinite(value) or _significant_digits(text) < 15:
        return None
    if _NOISE.search(text.lower().split("e")[0]):
        return "float_noise"
    if 0 < abs(value) < 1 and not _is_float32(value) and not _simple_fraction(value):
        return "random_number"
    if _significant_digits(text) >= 16:
        return "float_unrounded"
    return None


def _looks_random(token: str) -> bool:
    """A long mixed-case token with digits and no word-like runs (not an identifier)."""
    digits = sum(c.isdigit() for c in token)
    upper = sum(c.isupper() for c in token)
    lower = sum(c.islower() for c in token)
    if digits < 3 or upper < 3 or lower < 3:
        return False
    longest = max((len(run) for run in re.findall(r"[a-z]+|[A-Z]+", token)), default=0)
    return longest <= 4


def _is_hex_token(token: str) -> bool:
    lowered = token.lower()
    return (
        any(c.isdigit() for c in lowered)
        and any(c in "abcdef" for c in lowered)
        and len(set(lowered)) > 4
    )


@dataclass(frozen=True, slots=True)
class _Match:
    """A pattern matched in one value of an action."""

    pattern: str
    value: str
    path: str
    line: int | None
    evidence: str


@dataclass(slots=True)
class _Known:
    """Values a run was given or had already seen: echoing them is not inventing them."""

    tokens: set[str] = field(default_factory=set)
    message_hashes: set[int] = field(default_factory=set)
    text_hashes: set[int] = field(default_factory=set)

    def add_value(self, value: Any, depth: int = 0) -> None:
        if depth > 64:
            return
        if isinstance(value, str):
            self.add_text(value)
        elif isinstance(value, bool) or value is None:
            return
        elif isinstance(value, int | float):
            self.tokens.add(_number_key(value))
            epoch = _epoch_ms(value)
            if epoch is not None:
                self.tokens.add(_instant_key(epoch))
        elif isinstance(value, dict):
            for item in value.values():
                self.add_value(item, depth + 1)
        elif isinstance(value, list):
            for item in value:
                self.add_value(item, depth + 1)

    def add_text(self, text: str) -> None:
        # A tool's result comes back in every later model call's conversation: read it once.
        marker = hash(text)
        if marker in self.text_hashes:
            return
        self.text_hashes.add(marker)
        text = text[:_SCAN_LIMIT]
        for moment in _moments(text):
            self.tokens.update(moment.known_keys)
        for match in _EPOCH_TEXT.finditer(text):
            epoch = _epoch_ms(int(match.group("n")))
            self.tokens.add("n:" + match.group("n"))
            if epoch is not None:
                self.tokens.add(_instant_key(epoch))
        for pattern in (_UUID, _HEX, _TOKEN):
            for match in pattern.finditer(text):
                self.tokens.add("s:" + match.group(0).lower())
        for match in _FLOAT_TEXT.finditer(text):
            self.tokens.add(_float_text_key(match.group(0)))
        if _RELATIVE.search(text):
            self.tokens.add("relative")

    def add_conversation(self, inputs: Any) -> None:
        """A model call's inputs: each message is read once per run (the conversation grows
        by appending, and earlier turns are already known)."""
        if not isinstance(inputs, dict):
            self.add_value(inputs)
            return
        for key, value in inputs.items():
            if key != "messages" or not isinstance(value, list):
                self.add_value(value)
                continue
            for message in value:
                marker = _message_marker(message)
                if marker not in self.message_hashes:
                    self.message_hashes.add(marker)
                    self.add_value(message)

    def __contains__(self, key: str) -> bool:
        return key in self.tokens


def _message_marker(message: Any) -> int:
    """A cheap identity for a conversation message (its text is hashed as is, not re-encoded)."""
    if isinstance(message, dict) and isinstance(message.get("content"), str):
        rest = {k: v for k, v in message.items() if k != "content"}
        return hash((message["content"], dumps(rest, sort_keys=True)))
    return hash(dumps(message, sort_keys=True))


def _instant_key(epoch_ms: int) -> str:
    """An instant to the second, however it was written (ISO with a zone, epoch seconds or ms):
    an echo keeps the second; two clock readings rarely share one."""
    return f"i:{epoch_ms // 1000}"


def _number_key(value: float) -> str:
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e16:
        value = int(value)
    return "n:" + repr(value)


def _float_text_key(text: str) -> str:
    try:
        return _number_key(float(text))
    except ValueError:
        return "n:" + text


class RunScanner:
    """Scans a run's actions in order, remembering what the run was given and had seen."""

    def __init__(self) -> None:
        self.known = _Known()

    def scan(self, action: ActionRecord) -> list[Hit]:
        """The patterns in one action; call in the run's order."""
        window = _action_window(action)
        hits: list[_Match] = []
        outputs = action.outputs
        binary = isinstance(outputs, dict) and "$binary" in outputs
        if action.kind in ("llm", "agent"):
            self.known.add_conversation(action.inputs)
            if isinstance(outputs, dict):
                # What the model wrote: its text and its tool calls' arguments.
                outputs = {k: v for k, v in outputs.items() if k not in _CALL_STATUS_KEYS}
            if not binary:
                hits.extend(self._walk(strip_call_ids(outputs), "outputs", None, True, window))
        else:
            # MCP calls of the tool loop carry the model's arguments, already scanned in the
            # model's output; a coding agent's steps carry arguments the agent chose itself.
            if "tool_call_id" not in (action.meta or {}) and action.inputs is not None:
                hits.extend(self._walk(action.inputs, "inputs", None, True, window))
            self.known.add_value(action.inputs)
            if not binary:
                model = action.kind in MODEL_KINDS
                hits.extend(self._walk(outputs, "outputs", None, model, window))
        model = action.kind in MODEL_KINDS
        found = [
            Hit(
                seq=action.seq,
                action_name=action.name,
                model=model,
                pattern=match.pattern,
                description=_describe(match),
                evidence=match.evidence,
                path=match.path,
                line=match.line,
            )
            for match in hits
        ]
        side_effect = _side_effect(action)
        if side_effect is not None:
            found.append(side_effect)
        self.known.add_value(strip_call_ids(action.outputs))
        return found

    def _walk(
        self,
        value: Any,
        path: str,
        key: str | None,
        model: bool,
        window: tuple[int, int] | None,
        *,
        in_list: bool = False,
        depth: int = 0,
    ) -> Iterator[_Match]:
        """Hits in a JSON value. in_list: inside a list of records, where a key such as
        "timestamp" names a field of data, not the time of this call."""
        if depth > 64 or value is None or isinstance(value, bool):
            return
        if isinstance(value, dict):
            if "$binary" in value:
                return
            for k, item in value.items():
                yield from self._walk(
                    item, f"{path}.{k}", str(k), model, window, in_list=in_list, depth=depth + 1
                )
        elif isinstance(value, list):
            for index, item in enumerate(value):
                yield from self._walk(
                    item, f"{path}[{index}]", key, model, window, in_list=True, depth=depth + 1
                )
        elif isinstance(value, str):
            parsed = _json_text(value)
            if parsed is not None:
                yield from self._walk(
                    parsed, path, key, model, window, in_list=in_list, depth=depth + 1
                )
            else:
                clock_key = key is not None and _norm_key(key) in _CLOCK_KEYS
                # Free text: a whole output, or its text / content / stdout, not a field of a
                # record (where a date is data).
                prose = not in_list and (key is None or _norm_key(key) in _BARE_KEYS)
                yield from self._text(
                    value,
                    path,
                    key,
                    model,
                    window,
                    clock_key and (model or not in_list),
                    prose=prose,
                )
        elif isinstance(value, int | float):
            clock_key = key is not None and _norm_key(key) in _CLOCK_KEYS
            hit = self._number(value, path, model, window, clock_key and (model or not in_list))
            if hit is not None:
                yield hit

    def _number(
        self,
        value: float,
        path: str,
        model: bool,
        window: tuple[int, int] | None,
        clock_key: bool,
    ) -> _Match | None:
        if _number_key(value) in self.known:
            return None
        epoch = _epoch_ms(value)
        if epoch is not None:
            if (_is_now(epoch, window, model=model, naive=False) or clock_key) and (
                _instant_key(epoch) not in self.known
            ):
                return _Match("epoch_current", repr(value), path, None, repr(value))
            return None
        if isinstance(value, float):
            pattern = _float_pattern(repr(value), value)
            if pattern is not None:
                return _Match(pattern, repr(value), path, None, repr(value))
        return None

    def _text(
        self,
        text: str,
        path: str,
        key: str | None,
        model: bool,
        window: tuple[int, int] | None,
        clock_key: bool,
        *,
        prose: bool = False,
    ) -> Iterator[_Match]:
        text = text[:_SCAN_LIMIT]
        norm_key = _norm_key(key) if key is not None else ""
        spans = _Spans()

        def hit(pattern: str, start: int, end: int) -> _Match:
            spans.add(start, end)
            line = text.count("\n", 0, start) + 1
            return _Match(pattern, text[start:end], path, line, excerpt(text, start, end))

        for moment in _moments(text):
            spans.add(moment.start, moment.end)
            if moment.is_known(self.known):
                continue
            context = text[max(0, moment.start - 40) : moment.start]
            clock = clock_key or bool(_CLOCK_CONTEXT.search(context))
            pattern = _timestamp_pattern(moment, clock, clock_key, model, window, prose=prose)
            if pattern is not None:
                yield hit(pattern, moment.start, moment.end)
        for match in _EPOCH_TEXT.finditer(text):
            number = match.group("n")
            epoch = _epoch_ms(int(number))
            if epoch is None or spans.overlaps(*match.span()):
                continue
            if "n:" + number in self.known or _instant_key(epoch) in self.known:
                continue
            context = text[max(0, match.start() - 40) : match.start()]
            clock = clock_key or bool(_CLOCK_CONTEXT.search(context)) or "epoch" in context.lower()
            if _is_now(epoch, window, model=model, naive=False) or clock:
                yield hit("epoch_current", *match.span())
        if model or norm_key in _RANDOM_KEYS or norm_key in _BARE_KEYS:
            yield from self._random_text(text, norm_key, model, spans, hit)
        for match in _FLOAT_TEXT.finditer(text):
            if spans.overlaps(*match.span()) or _float_text_key(match.group(0)) in self.known:
                continue
            try:
                number_value = float(match.group(0))
            except ValueError:
                continue
            pattern = _float_pattern(match.group(0), number_value)
            if pattern is not None:
                yield hit(pattern, *match.span())
        for match in _SET_REPR.finditer(text):
            items = re.findall(r"'([^']*)'", match.group(0))
            if any(len(item) >= 2 for item in items) and not spans.overlaps(*match.span()):
                yield hit("set_repr", *match.span())
        if "relative" not in self.known:
            relative = _RELATIVE.search(text)
            if relative is not None:
                yield hit("relative_date", *relative.span())

    def _random_text(
        self,
        text: str,
        norm_key: str,
        model: bool,
        spans: _Spans,
        hit: Callable[[str, int, int], _Match],
    ) -> Iterator[_Match]:
        # Tool outputs are data: a record's id is not random. Only values under keys that name
        # a random value, or a token that is the whole result, count there.
        whole = text.strip()
        for pattern, name in ((_UUID, "uuid"), (_HEX, "random_token"), (_TOKEN, "random_token")):
            for match in pattern.finditer(text):
                token = match.group(0)
                if spans.overlaps(*match.span()) or "s:" + token.lower() in self.known:
                    continue
                if not model and not (norm_key in _RANDOM_KEYS or token == whole):
                    continue
                if name == "random_token" and not (
                    _is_hex_token(token) if pattern is _HEX else _looks_random(token)
                ):
                    continue
                if name == "uuid" and len(set(token.replace("-", "").lower())) <= 2:
                    continue  # the nil UUID and friends
                yield hit(name, *match.span())
        if model or norm_key not in _RANDOM_KEYS or spans.overlaps(0, len(text)):
            return
        # A value under a key such as request_id, whatever its form.
        if (
            len(whole) >= 8
            and any(c.isdigit() for c in whole)
            and "s:" + whole.lower() not in self.known
        ):
            start = text.index(whole)
            yield hit("random_token", start, start + len(whole))


def _side_effect(action: ActionRecord) -> Hit | None:
    if not side_effect_without_key(action):
        return None
    server = (action.meta or {}).get("server")
    where = f" (server {server})" if server else ""
    return Hit(
        seq=action.seq,
        action_name=action.name,
        model=False,
        pattern="side_effect",
        description=(
            f'Tool "{action.name}"{where} has side effects and was called without an '
            "idempotency key; replaying or retrying the run repeats the side effect."
        ),
        evidence=clip(dumps(action.inputs, sort_keys=False), 120),
        path="inputs",
        line=None,
    )


def side_effect_without_key(action: ActionRecord) -> bool:
    """A side-effecting tool call (read_only False) that ran, with no idempotency key."""
    meta = action.meta or {}
    if action.kind != "tool" or meta.get("read_only") is not False:
        return False
    if action.outcome == "blocked":
        return False  # refused or denied: it never ran
    return not _has_idempotency_key(action.inputs, 0)


def _has_idempotency_key(value: Any, depth: int) -> bool:
    if depth > 3:
        return False
    if isinstance(value, dict):
        for key, item in value.items():
            if _norm_key(key) in _IDEMPOTENCY_KEYS and item not in (None, ""):
                return True
            if isinstance(item, dict | list) and _has_idempotency_key(item, depth + 1):
                return True
    elif isinstance(value, list):
        return any(_has_idempotency_key(item, depth + 1) for item in value)
    return False


def _timestamp_pattern(
    moment: _Moment,
    clock: bool,
    clock_key: bool,
    model: bool,
    window: tuple[int, int] | None,
    *,
    prose: bool = False,
) -> str | None:
    """Which pattern a date or date-time is, or None when it is data (see the module doc).
    prose: the date sits in free text (a whole output, its text or stdout), where a tool's or
    command's mention of the day it ran ("Report for 2026-12-07") is the clock's, not a
    record's field."""
    instant = moment.instant_ms
    if moment.has_time:
        if clock or (
            instant is not None and _is_now(instant, window, model=model, naive=moment.naive)
        ):
            return "timestamp_current"
        if model and moment.has_seconds:
            return "timestamp_generated"
        return None
    # A date alone: the run's own date written by the model or in a tool's prose (or said to
    # be the clock's by its context), or a value under a clock key.
    if clock_key:
        return "current_date"
    noon = None if instant is None else instant + 12 * 3_600_000
    if noon is None:
        return None
    if model and _near(noon, window, _DATE_NEAR_MS):
        return "current_date"
    if (prose or clock) and _near(noon, window, _CLOCK_DATE_NEAR_MS):
        return "current_date"
    return None


def _is_now(instant_ms: int, window: tuple[int, int] | None, *, model: bool, naive: bool) -> bool:
    """Whether a time is the time of the action (see _MODEL_NEAR_MS and _CLOCK_SLACK_MS)."""
    if model:
        return _near(instant_ms, window, _MODEL_NEAR_MS)
    if naive:
        return any(
            _near(instant_ms + k * _HALF_HOUR_MS, window, _CLOCK_SLACK_MS) for k in range(-28, 29)
        )
    return _near(instant_ms, window, _CLOCK_SLACK_MS)


def _near(instant_ms: int, window: tuple[int, int] | None, slack: int) -> bool:
    if window is None:
        return False
    start, end = window
    return start - slack <= instant_ms <= end + slack


def _action_window(action: ActionRecord) -> tuple[int, int] | None:
    start = action.started_at
    if not start:
        return None
    return start, max(start, action.ended_at or start)


class _Spans:
    """Parts of a text already accounted for: sorted, merged intervals (bisect, not a scan:
    a text can hold thousands of dates)."""

    def __init__(self) -> None:
        self._starts: list[int] = []
        self._ends: list[int] = []

    def overlaps(self, start: int, end: int) -> bool:
        index = bisect.bisect_left(self._starts, end) - 1
        return index >= 0 and self._ends[index] > start

    def add(self, start: int, end: int) -> None:
        low = bisect.bisect_left(self._ends, start + 1)  # the first that ends after start
        high = bisect.bisect_left(self._starts, end)  # those starting before end overlap
        if low < high:
            start = min(start, self._starts[low])
            end = max(end, self._ends[high - 1])
        self._starts[low:high] = [start]
        self._ends[low:high] = [end]


def json_text(text: str) -> Any:
    """JSON carried in a string (an MCP tool's text content), parsed; None when it is not."""
    return _json_text(text)


def looks_like_time(value: Any) -> bool:
    """A date or date-time written in any common form, or Unix seconds or milliseconds."""
    if isinstance(value, bool):
        return False
    if isinstance(value, int | float):
        return _epoch_ms(value) is not None
    if isinstance(value, str):
        text = value.strip()[:_SCAN_LIMIT]
        if _EPOCH_TEXT.fullmatch(text):
            return _epoch_ms(int(text.split(".")[0])) is not None
        return next(_moments(text), None) is not None
    return False


def looks_like_id(value: Any) -> bool:
    """A minted identifier: a UUID, a long hex token or a random-looking token."""
    if not isinstance(value, str):
        return False
    text = value.strip()
    if _UUID.search(text):
        return True
    if _HEX.fullmatch(text):
        return _is_hex_token(text)
    return bool(_TOKEN.fullmatch(text)) and _looks_random(text)


_PATH_PART = re.compile(r"\.([^.\[\]]+)|\[(\d+)\]")


def json_line(root: Any, path: str) -> int | None:
    """The 1-based line where path's value starts in root as the inspector shows it (JSON
    indented by 2). path is "outputs.content.rows[3].id" (its first part names root); JSON
    inside a string is one line there, so the line is that string's. None: no such path."""
    first, _sep, rest = path.partition(".")
    rest = ("." + rest) if _sep else path[len(first) :]
    parts: list[str | int] = []
    for match in _PATH_PART.finditer(rest):
        parts.append(match.group(1) if match.group(1) is not None else int(match.group(2)))
    offset = 0
    value = root
    for part in parts:
        if isinstance(value, dict) and isinstance(part, str) and part in value:
            offset += 1  # the "{" line
            for key, item in value.items():
                if key == part:
                    break
                offset += _json_height(item)
            value = value[part]
        elif isinstance(value, list) and isinstance(part, int) and 0 <= part < len(value):
            offset += 1 + sum(_json_height(item) for item in value[:part])
            value = value[part]
        elif isinstance(value, str):
            break  # JSON text inside a string: shown on the string's one line
        else:
            return None
    return offset + 1


def _json_height(value: Any, depth: int = 0) -> int:
    """Lines a value takes in JSON indented by 2 (an empty container is one line)."""
    if depth > 64:
        return 1
    if isinstance(value, dict) and value:
        return 2 + sum(_json_height(v, depth + 1) for v in value.values())
    if isinstance(value, list) and value:
        return 2 + sum(_json_height(v, depth + 1) for v in value)
    return 1


def _json_text(text: str) -> Any:
    """JSON carried in a string (an MCP tool's text content), parsed; None when it is not."""
    stripped = text.strip()
    if not stripped or stripped[0] not in "{[" or len(stripped) > _SCAN_LIMIT:
        return None
    try:
        value = json.loads(stripped)
    except ValueError:
        return None
    return value if isinstance(value, dict | list) else None


def _where(path: str) -> str:
    if ".tool_calls" in path:
        return "Tool call arguments"
    if path.startswith("inputs"):
        return "Arguments"
    return "Output"


def _describe(hit: _Match) -> str:
    where = _where(hit.path)
    value = clip(hit.value, 60)
    return {
        "timestamp_current": (
            f'{where} contains current timestamp ("{value}") which will differ on replay.'
        ),
        "epoch_current": (
            f"{where} contains a Unix timestamp ({value}) from the time of the run, which will "
            "differ on replay."
        ),
        "timestamp_generated": (
            f'{where} contains a timestamp ("{value}") that is in none of the inputs; if it was '
            "read from a clock it will differ on replay."
        ),
        "current_date": (
            f'{where} contains the date of the run ("{value}"), which changes every day.'
        ),
        "relative_date": (
            f'{where} speaks of relative time ("{value}"); what it means depends on when the '
            "run happened."
        ),
        "uuid": (
            f'{where} contains a UUID ("{value}") that is in none of the inputs; a newly '
            "generated id differs on every run."
        ),
        "random_token": (
            f'{where} contains a random-looking token ("{value}") that is in none of the inputs.'
        ),
        "random_number": (
            f"{where} contains a random-looking number ({value}): full precision in [0, 1), "
            "not a simple fraction."
        ),
        "float_noise": (
            f"{where} contains floating-point noise ({value}); another order of operations, "
            "library or platform changes the last digits, so exact comparison with a replay "
            "fails."
        ),
        "float_unrounded": (
            f"{where} contains a float at full precision ({value}); its last digits depend on "
            "the order of operations."
        ),
        "set_repr": (
            f"{where} contains a set printed as text ({value}); its order changes between "
            "processes."
        ),
    }[hit.pattern]


def excerpt(text: str, start: int, end: int, width: int = 30) -> str:
    """text[start:end] with some context either side, on one line."""
    left = max(0, start - width)
    right = min(len(text), end + width)
    body = text[left:right].replace("\n", " ⏎ ")
    return ("…" if left > 0 else "") + body + ("…" if right < len(text) else "")


def excerpt_value(value: Any) -> str:
    """A value as a short one-line excerpt."""
    if isinstance(value, str):
        return clip(value, 80)
    return clip(dumps(value, sort_keys=False), 80)


def clip(text: str, limit: int = 80) -> str:
    """One line, at most limit characters."""
    text = text.replace("\n", " ⏎ ")
    return text if len(text) <= limit else text[: limit - 1] + "…"
