"""Export of runs with their actions as CSV, JSON or JSONL, and of the Activity Ledger's actions
as CSV or JSONL. Money in CSV is plain decimal text (core.coerce.money_text).

A file export is written to a temporary file beside the target and renamed into place at the end,
so the target is complete or absent, never half-written. Progress is reported per run; a cancel
callback stops it cleanly (the temporary file is removed). An export killed half-way (kill -9, a
power cut) leaves its hidden `.NAME.XXXXXXXX.part` file; each export notes its target in the data
directory (`cache/exports/`, a locked note for as long as it runs), so the next start, or the
next export, removes what a dead export left, wherever it was writing.
"""

from __future__ import annotations

import contextlib
import csv
import json
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, Any

from ato_desktop.core.coerce import money_text
from ato_desktop.core.ids import uuid7
from ato_desktop.core.ledger import DEFAULT_LEDGER_SORT, LedgerFilter, LedgerSort, entry_to_json
from ato_desktop.core.records import RunFilter, RunRecord
from ato_desktop.core.run_json import SCHEMA_VERSION, action_to_json, run_to_json
from ato_desktop.core.timefmt import rfc3339
from ato_desktop.store import action_ledger
from ato_desktop.store.atomic_file import atomic_text_file, remove_stale_parts
from ato_desktop.store.execution_log import ExecutionLog
from ato_desktop.store.paths import DataPaths
from ato_desktop.store.process_lease import try_lock

FORMATS = ("csv", "json", "jsonl")
LEDGER_FORMATS = ("csv", "jsonl")

RUN_CSV_FIELDS = [
    "run_id",
    "status",
    "agent",
    "agent_version",
    "runtime",
    "model",
    "trigger",
    "started_at",
    "ended_at",
    "duration_ms",
    "ttft_ms",
    "input_tokens",
    "output_tokens",
    "cache_read_tokens",
    "cache_write_tokens",
    "reasoning_tokens",
    "tokens_estimated",
    "cost_usd",
    "cost_source",
    "action_count",
    "success_rate",
    "error_class",
    "error_message",
    "replay_of",
    "parent_run_id",
]
ACTION_CSV_FIELDS = [
    "action_seq",
    "action_name",
    "action_kind",
    "action_outcome",
    "action_started_at",
    "action_duration_ms",
    "action_ttft_ms",
    "action_input_tokens",
    "action_output_tokens",
    "action_cost_usd",
    "action_cost_source",
    "action_inputs",
    "action_outputs",
    "action_error_class",
    "action_error_message",
]


class ExportCancelled(Exception):
    pass


ProgressCallback = Callable[[int, int], None]


def export_runs(
    store: ExecutionLog,
    flt: RunFilter,
    fmt: str,
    target: Path | IO[str],
    *,
    progress: ProgressCallback | None = None,
    cancelled: Callable[[], bool] | None = None,
) -> int:
    """Write the runs matching flt (newest first) with their actions; returns the run count."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown export format {fmt!r}; use one of {', '.join(FORMATS)}")
    total = store.count_runs(flt)
    if not isinstance(target, Path):
        return _write(store, flt, fmt, target, total, progress, cancelled)
    notes = exports_in_progress_dir(store.paths)
    clean_interrupted_exports(store.paths)
    with _noted(notes, target), atomic_text_file(target, newline="") as handle:
        count = _write(store, flt, fmt, handle, total, progress, cancelled)
    return count


def exports_in_progress_dir(paths: DataPaths) -> Path:
    """Where each running file export notes its target (a locked file per export)."""
    return paths.exports_in_progress_dir


@contextlib.contextmanager
def _noted(notes: Path, target: Path) -> Iterator[None]:
    """Note target for as long as the export runs, under a lock only death or the end drops."""
    try:
        notes.mkdir(parents=True, exist_ok=True)
        note = notes / f"{uuid7()}.target"
        handle = note.open("w", encoding="utf-8")
    except OSError:  # a full or read-only data directory must not stop an export elsewhere
        yield
        return
    try:
        try_lock(handle)
        handle.write(str(target.resolve()))
        handle.flush()
        yield
    finally:
        handle.close()
        with contextlib.suppress(OSError):
            note.unlink()


def clean_interrupted_exports(paths: DataPaths) -> list[Path]:
    """Remove the temporary files of exports whose process died; returns the files removed."""
    removed: list[Path] = []
    notes = exports_in_progress_dir(paths)
    try:
        entries = sorted(notes.glob("*.target"))
    except OSError:
        return removed
    for note in entries:
        with contextlib.suppress(OSError):
            with note.open("r+", encoding="utf-8") as handle:
                if not try_lock(handle):
                    continue  # that export is still running
                target = Path(handle.read().strip())
            if target.name:
                removed += remove_stale_parts(target)
            note.unlink()
    return removed


def _runs_with_actions(
    store: ExecutionLog,
    flt: RunFilter,
    total: int,
    progress: ProgressCallback | None,
    cancelled: Callable[[], bool] | None,
) -> Iterator[tuple[RunRecord, list[Any]]]:
    for done, run in enumerate(store.iter_runs(flt), 1):
        if cancelled is not None and cancelled():
            raise ExportCancelled("export cancelled")
        yield run, store.get_actions(run.id)
        if progress is not None:
            progress(done, total)


def _write(
    store: ExecutionLog,
    flt: RunFilter,
    fmt: str,
    out: IO[str],
    total: int,
    progress: ProgressCallback | None,
    cancelled: Callable[[], bool] | None,
) -> int:
    rows = _runs_with_actions(store, flt, total, progress, cancelled)
    count = 0
    if fmt == "jsonl":
        for run, actions in rows:
            out.write(json.dumps(run_to_json(run, actions), ensure_ascii=False) + "\n")
            count += 1
    elif fmt == "json":
        header = {
            "schema_version": SCHEMA_VERSION,
            "exported_at": rfc3339(int(time.time() * 1000)),
            "run_count": total,
        }
        # Streamed by hand so a million runs never sit in memory at once.
        out.write(json.dumps(header, ensure_ascii=False)[:-1] + ', "runs": [\n')
        for run, actions in rows:
            out.write(
                ("" if count == 0 else ",\n")
                + json.dumps(run_to_json(run, actions), ensure_ascii=False)
            )
            count += 1
        out.write("\n]}\n")
    else:
        writer = csv.DictWriter(out, fieldnames=RUN_CSV_FIELDS + ACTION_CSV_FIELDS)
        writer.writeheader()
        for run, actions in rows:
            base = _run_csv(run)
            if not actions:
                writer.writerow(base)
            for action in actions:
                writer.writerow({**base, **_action_csv(action_to_json(action))})
            count += 1
    return count


def _run_csv(run: RunRecord) -> dict[str, Any]:
    data = run_to_json(run)
    tokens = data["tokens"]
    return {
        "run_id": data["id"],
        "status": data["status"],
        "agent": data["agent"] or "",
        "agent_version": data["agent_version"] or "",
        "runtime": data["runtime"],
        "model": data["model"],
        "trigger": data["trigger"],
        "started_at": data["started_at"],
        "ended_at": data["ended_at"] or "",
        "duration_ms": _blank(data["duration_ms"]),
        "ttft_ms": _blank(data["ttft_ms"]),
        "input_tokens": tokens["input"],
        "output_tokens": tokens["output"],
        "cache_read_tokens": tokens["cache_read"],
        "cache_write_tokens": tokens["cache_write"],
        "reasoning_tokens": tokens["reasoning"],
        "tokens_estimated": int(tokens["estimated"]),
        "cost_usd": money_text(data["cost_usd"]),
        "cost_source": data["cost_source"] or "",
        "action_count": data["action_count"],
        "success_rate": _blank(data["success_rate"]),
        "error_class": data["error_class"] or "",
        "error_message": data["error_message"] or "",
        "replay_of": data["replay_of"] or "",
        "parent_run_id": data["parent_run_id"] or "",
    }


def _action_csv(action: dict[str, Any]) -> dict[str, Any]:
    tokens = action["tokens"] or {}
    return {
        "action_seq": action["seq"],
        "action_name": action["name"],
        "action_kind": action["kind"],
        "action_outcome": action["outcome"],
        "action_started_at": action["started_at"],
        "action_duration_ms": _blank(action["duration_ms"]),
        "action_ttft_ms": _blank(action["ttft_ms"]),
        "action_input_tokens": _blank(tokens.get("input")),
        "action_output_tokens": _blank(tokens.get("output")),
        "action_cost_usd": money_text(action["cost_usd"]),
        "action_cost_source": action["cost_source"] or "",
        "action_inputs": json.dumps(action["inputs"], ensure_ascii=False),
        "action_outputs": json.dumps(action["outputs"], ensure_ascii=False),
        "action_error_class": action["error_class"] or "",
        "action_error_message": action["error_message"] or "",
    }


def _blank(value: Any) -> Any:
    return "" if value is None else value


LEDGER_CSV_FIELDS = [
    "started_at",
    "run_id",
    "seq",
    "agent",
    "runtime",
    "model",
    "name",
    "kind",
    "outcome",
    "duration_ms",
    "cost_usd",
    "cost_source",
    "input_tokens",
    "output_tokens",
    "tokens_estimated",
    "error_class",
    "error_message",
    "inputs",
    "outputs",
]


def export_actions(
    store: ExecutionLog,
    flt: LedgerFilter,
    fmt: str,
    target: Path | IO[str],
    *,
    sort: LedgerSort = DEFAULT_LEDGER_SORT,
    progress: ProgressCallback | None = None,
    cancelled: Callable[[], bool] | None = None,
) -> int:
    """Write the Activity Ledger's actions matching flt, in sort's order, with their inputs and
    outputs; returns how many. progress gets (done, total) with total capped at
    action_ledger.COUNT_CAP (0: not counted)."""
    if fmt not in LEDGER_FORMATS:
        raise ValueError(f"unknown format {fmt!r}; use one of {', '.join(LEDGER_FORMATS)}")
    total = action_ledger.count(store.reader(), flt) if progress is not None else 0
    if not isinstance(target, Path):
        return _write_actions(store, flt, sort, fmt, target, total, progress, cancelled)
    with atomic_text_file(target, newline="") as handle:
        return _write_actions(store, flt, sort, fmt, handle, total, progress, cancelled)


def _write_actions(
    store: ExecutionLog,
    flt: LedgerFilter,
    sort: LedgerSort,
    fmt: str,
    out: IO[str],
    total: int,
    progress: ProgressCallback | None,
    cancelled: Callable[[], bool] | None,
) -> int:
    entries = action_ledger.iter_entries(store.reader(), flt, sort=sort, payloads=True)
    writer = csv.DictWriter(out, fieldnames=LEDGER_CSV_FIELDS) if fmt == "csv" else None
    if writer is not None:
        writer.writeheader()
    count = 0
    for entry in entries:
        if cancelled is not None and cancelled():
            raise ExportCancelled("export cancelled")
        data = entry_to_json(entry)
        if writer is None:
            out.write(json.dumps(data, ensure_ascii=False) + "\n")
        else:
            writer.writerow(
                {
                    **{field: _blank(data.get(field)) for field in LEDGER_CSV_FIELDS},
                    "agent": data["agent"] or "",
                    "cost_usd": money_text(entry.cost_usd),
                    "tokens_estimated": int(entry.tokens_estimated),
                    "inputs": json.dumps(entry.inputs, ensure_ascii=False),
                    "outputs": json.dumps(entry.outputs, ensure_ascii=False),
                }
            )
        count += 1
        if progress is not None:
            progress(count, max(total, count))
    return count
