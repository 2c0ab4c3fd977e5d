"""The Runs filters as pure rules: a canonical form, and the match test live updates use.

The SQL in store.run_listing applies the same rules; a test checks they agree.
"""

from __future__ import annotations

import dataclasses
import shlex
from collections.abc import Mapping

from ato_desktop.core.log_records import RunFilter, RunRecord
from ato_desktop.core.timefmt import DurationError, parse_duration_ms
from ato_desktop.core.vocabulary import RunStatus

TYPE_CHECKING = False  # typing is not loaded at run time (a CLI command's start)
if TYPE_CHECKING:
    from typing import Any

ALL_STATUSES: tuple[str, ...] = tuple(status.value for status in RunStatus)


def is_simulation(tags: Mapping[str, Any] | None) -> bool:
    """A run recorded by a simulation replay (answered from a recording, costing nothing): not
    the agent's own behaviour, so history-based analyses leave it out. Here, not in
    core.simulation, so that reading the log does not load the simulation's rules."""
    return tags is not None and str(tags.get("simulation", "")).lower() == "true"


def normalize_filter(flt: RunFilter) -> RunFilter:
    """The same filter in canonical form: statuses deduplicated in a fixed order (all five is
    no status filter), a min cost or duration of zero or less is none, tags sorted."""
    statuses = tuple(s for s in ALL_STATUSES if s in set(flt.statuses))
    unknown = tuple(sorted(set(flt.statuses) - set(ALL_STATUSES)))
    statuses += unknown
    if set(statuses) >= set(ALL_STATUSES):
        statuses = ()
    min_cost = flt.min_cost_usd if flt.min_cost_usd is not None and flt.min_cost_usd > 0 else None
    min_duration = (
        flt.min_duration_ms if flt.min_duration_ms is not None and flt.min_duration_ms > 0 else None
    )
    tags = tuple(sorted({(str(k), str(v)) for k, v in flt.tags if str(k)}))
    return dataclasses.replace(
        flt,
        statuses=statuses,
        min_cost_usd=min_cost,
        min_duration_ms=min_duration,
        tags=tags,
        error_class=flt.error_class or None,
    )


def run_matches(flt: RunFilter, run: RunRecord) -> bool:
    """Whether run passes flt (the same rules as the SQL), for live updates of a loaded list."""
    flt = normalize_filter(flt)
    if flt.statuses and run.status not in flt.statuses:
        return False
    if flt.agent_id and run.agent_id != flt.agent_id:
        return False
    if flt.agent_version_id and run.agent_version_id != flt.agent_version_id:
        return False
    if flt.since_ms is not None and run.started_at < flt.since_ms:
        return False
    if flt.until_ms is not None and run.started_at >= flt.until_ms:
        return False
    if flt.min_cost_usd is not None and (run.cost_usd is None or run.cost_usd < flt.min_cost_usd):
        return False
    if flt.trigger and run.trigger != flt.trigger:
        return False
    if flt.error_class and run.error_class != flt.error_class:
        return False
    if flt.min_duration_ms is not None and (
        run.duration_ns is None or run.duration_ns < flt.min_duration_ms * 1_000_000
    ):
        return False
    if any(str(run.tags.get(key)) != value or key not in run.tags for key, value in flt.tags):
        return False
    if not flt.include_simulations and is_simulation(run.tags):
        return False
    return flt.include_demo or not run.is_demo


# -- metadata search ---------------------------------------------------------------------------

METADATA_HELP = (
    "user:alice  tenant:acme  error:timeout  >30s  or any tag as key:value "
    '(quote values with spaces: region:"eu west")'
)


class MetadataQueryError(ValueError):
    """The metadata search text cannot be read; the message says which part and why."""


@dataclasses.dataclass(frozen=True, slots=True)
class MetadataQuery:
    tags: tuple[tuple[str, str], ...] = ()
    error_class: str | None = None
    min_duration_ms: float | None = None


def parse_metadata(text: str) -> MetadataQuery:
    """'user:alice tenant:acme error:timeout >30s' -> the filter's metadata terms.

    key:value (or key=value) is a tag; error:CLASS is the error class of failed runs; >DURATION
    (or >=, or duration>DURATION) is a minimum duration (30s, 2m, 1.5h).
    """
    try:
        tokens = shlex.split(text)
    except ValueError as exc:
        raise MetadataQueryError(f"unbalanced quote in {text!r}") from exc
    tags: dict[str, str] = {}
    error_class: str | None = None
    min_duration: float | None = None
    for token in tokens:
        lowered = token.lower()
        for prefix in ("duration>=", "duration>", ">=", ">"):
            if lowered.startswith(prefix):
                raw = token[len(prefix) :]
                try:
                    min_duration = float(parse_duration_ms(raw))
                except DurationError as exc:
                    raise MetadataQueryError(
                        f"{token!r}: {raw!r} is not a duration (30s, 2m, 1h)"
                    ) from exc
                break
        else:
            key, sep, value = _split_term(token)
            if not sep or not key or not value:
                raise MetadataQueryError(
                    f"{token!r}: write key:value, error:CLASS or >30s ({METADATA_HELP})"
                )
            if key.lower() == "error":
                error_class = value
            else:
                tags[key] = value
    return MetadataQuery(tuple(sorted(tags.items())), error_class, min_duration)


def _split_term(token: str) -> tuple[str, str, str]:
    marks = [i for i in (token.find(":"), token.find("=")) if i >= 0]
    if not marks or min(marks) == 0:  # no mark, or no key before the first (":=x" is no tag)
        return token, "", ""
    at = min(marks)
    return token[:at], token[at], token[at + 1 :]


def format_metadata(query: MetadataQuery) -> str:
    """The text parse_metadata reads back as query."""
    parts = [f"{shlex.quote(key)}:{shlex.quote(value)}" for key, value in query.tags]
    if query.error_class:
        parts.append(f"error:{shlex.quote(query.error_class)}")
    if query.min_duration_ms is not None:
        parts.append(">" + _duration_text(query.min_duration_ms))
    return " ".join(parts)


def _duration_text(ms: float) -> str:
    """A duration parse_metadata reads back: never an exponent (2w is 1209600s, not 1.2e+06s)."""
    if not ms.is_integer():
        return f"{ms:.3f}ms"
    whole = int(ms)
    return f"{whole // 1000}s" if whole % 1000 == 0 else f"{whole}ms"
