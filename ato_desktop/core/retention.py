"""Retention rules and the archive format, without I/O.

Runs older than N days (90 by default; 0 or "off" turns it off) are moved to compressed JSONL
archives. An archive is one gzip stream of JSON lines: a header (format, format version, the
log's schema version), one line per run with every row that belongs to it, and a footer with the
counts, so a truncated file is told apart from a complete one even when gzip itself cannot tell.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Final

ARCHIVE_FORMAT: Final = "ato-desktop/runs-archive"
FORMAT_VERSION: Final = 1
DEFAULT_DAYS: Final = 90
MAX_DAYS: Final = 36_500
DAY_MS: Final = 86_400_000
ARCHIVE_SUFFIX: Final = ".jsonl.gz"
PARTIAL_SUFFIX: Final = ".partial"
# One line holds one run with its actions; a run of ~100k large actions stays well under this.
MAX_LINE_BYTES: Final = 512 * 1024 * 1024


class RetentionSettingError(ValueError):
    """A retention setting that is not a number of days or "off"."""


class ArchiveFormatError(ValueError):
    """An archive that is corrupt, truncated, foreign or from a newer ATO; says which."""


def parse_days(value: object) -> int | None:
    """Days to keep from a setting or argument: None means retention is off.

    Accepts a whole number of days (0 turns retention off), "off"/"none"/"never", or null.
    """
    if value is None:
        return None
    if isinstance(value, bool):
        raise RetentionSettingError(f"retention days must be a number or off, not {value!r}")
    if isinstance(value, str):
        text = value.strip().lower()
        if text in ("off", "none", "never", "disabled", ""):
            return None
        text = text.removesuffix("d").removesuffix("days").strip()
        try:
            value = int(text)
        except ValueError:
            raise RetentionSettingError(
                f"retention days must be a whole number of days or off, not {value!r}"
            ) from None
    if isinstance(value, float):
        if not value.is_integer():
            raise RetentionSettingError(f"retention days must be whole, not {value!r}")
        value = int(value)
    if not isinstance(value, int):
        raise RetentionSettingError(f"retention days must be a number or off, not {value!r}")
    if value < 0 or value > MAX_DAYS:
        raise RetentionSettingError(f"retention days must be between 0 (off) and {MAX_DAYS}")
    return value or None


def days_text(days: int | None) -> str:
    return "off" if days is None else f"{days} days"


def cutoff_ms(now_ms: int, days: int) -> int:
    """Runs that started before this instant are due."""
    return now_ms - days * DAY_MS


def archive_name(now_ms: int, attempt: int = 0) -> str:
    """runs-YYYYMMDD-HHMMSS.jsonl.gz in UTC (with -2, -3... when that name is taken)."""
    stamp = datetime.fromtimestamp(now_ms / 1000, tz=UTC).strftime("%Y%m%d-%H%M%S")
    extra = f"-{attempt + 1}" if attempt else ""
    return f"runs-{stamp}{extra}{ARCHIVE_SUFFIX}"


@dataclass(frozen=True, slots=True)
class ArchiveHeader:
    format_version: int
    schema_version: int
    created_at_ms: int
    cutoff_ms: int | None
    app_version: str

    def as_dict(self) -> dict[str, Any]:
        return {
            "type": "header",
            "format": ARCHIVE_FORMAT,
            "format_version": self.format_version,
            "schema_version": self.schema_version,
            "created_at": self.created_at_ms,
            "cutoff": self.cutoff_ms,
            "app_version": self.app_version,
        }


@dataclass(slots=True)
class ArchivedRun:
    """One run and every row that hangs off it, as column -> value maps."""

    run: dict[str, Any]
    actions: list[dict[str, Any]] = field(default_factory=list)
    scores: list[dict[str, Any]] = field(default_factory=list)
    # (suite_run_id, case_id) of eval case results that pointed at the run: re-linked on import
    case_links: list[tuple[str, str]] = field(default_factory=list)

    @property
    def run_id(self) -> str:
        return str(self.run["id"])

    def as_dict(self) -> dict[str, Any]:
        return {
            "type": "run",
            "run": _encode_row(self.run),
            "actions": [_encode_row(a) for a in self.actions],
            "scores": [_encode_row(s) for s in self.scores],
            "case_links": [list(link) for link in self.case_links],
        }


def encode_line(obj: dict[str, Any]) -> bytes:
    """One JSONL line (UTF-8, newline-terminated)."""
    return (
        json.dumps(obj, ensure_ascii=False, separators=(",", ":"), allow_nan=False) + "\n"
    ).encode("utf-8")


def footer(runs: int, actions: int) -> dict[str, Any]:
    return {"type": "end", "runs": runs, "actions": actions}


def _encode_row(row: dict[str, Any]) -> dict[str, Any]:
    # Columns are scalars; the odd BLOB (none today) goes as base64 so JSON can carry it.
    return {
        key: {"$bytes": base64.b64encode(value).decode("ascii")}
        if isinstance(value, bytes)
        else value
        for key, value in row.items()
    }


_SCALARS: Final = frozenset({str, int, float, bool, type(None)})


def _decode_row(row: object, where: str) -> dict[str, Any]:
    if not isinstance(row, dict):
        raise ArchiveFormatError(f"{where}: a row must be a JSON object")
    if set(map(type, row.values())) <= _SCALARS:
        return row  # the usual case: every column a scalar (checked in C, no copy)
    out: dict[str, Any] = {}
    for key, value in row.items():
        if isinstance(value, dict):
            raw = value.get("$bytes")
            if len(value) != 1 or not isinstance(raw, str):
                raise ArchiveFormatError(f"{where}: column {key!r} holds an object")
            try:
                value = base64.b64decode(raw, validate=True)
            except ValueError:
                raise ArchiveFormatError(f"{where}: column {key!r}: bad base64") from None
        elif isinstance(value, list):
            raise ArchiveFormatError(f"{where}: column {key!r} holds a list")
        out[key] = value
    return out


def decode_line(raw: bytes, line_no: int) -> dict[str, Any]:
    """Parse one line; ArchiveFormatError names the line when it is not a JSON object."""
    try:
        obj = json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError:
        raise ArchiveFormatError(f"line {line_no}: not UTF-8 text") from None
    except json.JSONDecodeError as exc:
        raise ArchiveFormatError(f"line {line_no}: not JSON ({exc.msg})") from None
    if not isinstance(obj, dict):
        raise ArchiveFormatError(f"line {line_no}: not a JSON object")
    return obj


def parse_header(obj: dict[str, Any], latest_schema: int) -> ArchiveHeader:
    """Check the first line: our format, a version this app reads, a schema it knows."""
    if obj.get("type") != "header" or obj.get("format") != ARCHIVE_FORMAT:
        raise ArchiveFormatError("not an ATO Desktop runs archive (its first line is no header)")
    version = obj.get("format_version")
    schema = obj.get("schema_version")
    if not isinstance(version, int) or not isinstance(schema, int):
        raise ArchiveFormatError("the header has no format or schema version")
    if version > FORMAT_VERSION:
        raise ArchiveFormatError(
            f"archive format {version} is newer than this app reads ({FORMAT_VERSION}): "
            "upgrade ATO Desktop to import it"
        )
    if version < 1:
        raise ArchiveFormatError(f"unknown archive format version {version}")
    if schema > latest_schema:
        raise ArchiveFormatError(
            f"the archive was written by a newer log (schema {schema}; this app knows up to "
            f"{latest_schema}): upgrade ATO Desktop to import it"
        )
    created = obj.get("created_at")
    cutoff = obj.get("cutoff")
    return ArchiveHeader(
        format_version=version,
        schema_version=schema,
        created_at_ms=created if isinstance(created, int) else 0,
        cutoff_ms=cutoff if isinstance(cutoff, int) else None,
        app_version=str(obj.get("app_version", "")),
    )


def parse_run(obj: dict[str, Any], line_no: int) -> ArchivedRun:
    """A run line back into rows; ArchiveFormatError when a part is missing or mistyped."""
    where = f"line {line_no}"
    run = _decode_row(obj.get("run"), where)
    if not isinstance(run.get("id"), str) or not run["id"]:
        raise ArchiveFormatError(f"{where}: the run has no id")
    if not isinstance(run.get("run_no"), int):
        raise ArchiveFormatError(f"{where}: the run has no run_no")
    parts: dict[str, list[dict[str, Any]]] = {}
    for name in ("actions", "scores"):
        rows = obj.get(name, [])
        if not isinstance(rows, list):
            raise ArchiveFormatError(f"{where}: {name} must be a list")
        parts[name] = [_decode_row(row, f"{where} {name}") for row in rows]
    for action in parts["actions"]:
        if not isinstance(action.get("seq"), int):
            raise ArchiveFormatError(f"{where}: an action has no seq")
    links = obj.get("case_links", [])
    if not isinstance(links, list) or not all(
        isinstance(link, list) and len(link) == 2 and all(isinstance(p, str) for p in link)
        for link in links
    ):
        raise ArchiveFormatError(f"{where}: case_links must be [suite_run_id, case_id] pairs")
    return ArchivedRun(
        run=run,
        actions=parts["actions"],
        scores=parts["scores"],
        case_links=[(link[0], link[1]) for link in links],
    )


def parse_footer(obj: dict[str, Any], runs: int, actions: int) -> None:
    """The last line: its counts must match what was read, else the file is incomplete."""
    if obj.get("runs") != runs or obj.get("actions") != actions:
        raise ArchiveFormatError(
            f"the archive says it holds {obj.get('runs')} runs and {obj.get('actions')} actions "
            f"but {runs} runs and {actions} actions were read"
        )
