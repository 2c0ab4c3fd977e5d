"""Searchable run metadata: user and tenant tags, any other tag, error class and latency as Runs
filters; the same answers as a brute-force filter, pages through the migration-5 indexes."""

from __future__ import annotations

import random
from collections.abc import Iterator
from pathlib import Path

import pytest

from ato_desktop.core.records import NewRun, RunCursor, RunEnd, RunFilter, RunRecord
from ato_desktop.core.run_filter import run_matches
from ato_desktop.store import run_listing
from ato_desktop.store.execution_log import ExecutionLog
from ato_desktop.store.paths import DataPaths
from tests.test_cli import in_process

T0 = 1_790_000_000_000
USERS = ("alice", "bob", "carol")
TENANTS = ("acme", "globex")
ERRORS = ("timeout", "rate_limit", None)


@pytest.fixture
def log(ato_home: Path) -> Iterator[ExecutionLog]:
    store = ExecutionLog.open(DataPaths(ato_home))
    rng = random.Random(9)
    batch = []
    for i in range(400):
        error = rng.choice(ERRORS)
        tags = {"user": rng.choice(USERS), "tenant": rng.choice(TENANTS)}
        if i % 7 == 0:
            tags["region.name"] = 'eu "west"'  # a key with a dot, a value with quotes
        seconds = rng.choice((1, 5, 30, 120))
        batch.append(
            (
                NewRun("claude", "m", "cli", T0 + i * 1000, tags=tags, id=f"{i:032x}"),
                RunEnd(
                    "failed" if error else "completed",
                    T0 + i * 1000 + seconds * 1000,
                    seconds * 1_000_000_000,
                    error_class=error,
                ),
                [],
            )
        )
    store.ingest(batch).result()
    yield store
    store.close()


def _all(log: ExecutionLog) -> list[RunRecord]:
    return list(log.iter_runs(RunFilter()))


FILTERS = [
    RunFilter(tags=(("user", "alice"),)),
    RunFilter(tags=(("tenant", "acme"), ("user", "bob"))),
    RunFilter(tags=(("region.name", 'eu "west"'),)),
    RunFilter(error_class="timeout"),
    RunFilter(error_class="rate_limit", tags=(("tenant", "globex"),)),
    RunFilter(min_duration_ms=30_000),
    RunFilter(min_duration_ms=60_000, tags=(("user", "carol"),), statuses=("failed",)),
    RunFilter(tags=(("user", "nobody"),)),
]


@pytest.mark.parametrize("flt", FILTERS, ids=range(len(FILTERS)))
def test_filters_match_a_brute_force_check_and_page_without_gaps(
    log: ExecutionLog, flt: RunFilter
) -> None:
    expected = [r.id for r in _all(log) if run_matches(flt, r)]
    assert log.count_runs(flt) == len(expected)
    got: list[str] = []
    after = None
    while True:
        page = log.list_runs(flt, after=after, limit=17)
        got.extend(r.id for r in page)
        if len(page) < 17:
            break
        after = RunCursor(page[-1].started_at, page[-1].id)
    assert got == expected


def test_user_tenant_and_error_class_walk_their_indexes(log: ExecutionLog) -> None:
    conn = log.reader()
    for flt, index in (
        (RunFilter(tags=(("user", "alice"),)), "idx_runs_user"),
        (RunFilter(tags=(("tenant", "acme"),)), "idx_runs_tenant"),
        (RunFilter(error_class="timeout"), "idx_runs_error_class"),
    ):
        where, params = run_listing._where(flt, cost_via_index=False)
        plan = " ".join(
            str(row[3])
            for row in conn.execute(
                f"EXPLAIN QUERY PLAN SELECT r.id FROM runs r INDEXED BY {index} "
                f"WHERE {' AND '.join(where)} ORDER BY r.started_at DESC, r.id DESC LIMIT 10",
                params,
            )
        )
        assert index in plan and "TEMP B-TREE" not in plan, plan


def test_cli_filters(log: ExecutionLog, capsys: pytest.CaptureFixture[str]) -> None:
    import json

    code, out = in_process(
        "runs", "list", "--user", "alice", "--tenant", "acme", "--limit", "0", "--json"
    )
    assert code == 0
    listed = json.loads(out)
    runs = listed["runs"] if isinstance(listed, dict) else listed
    flt = RunFilter(tags=(("tenant", "acme"), ("user", "alice")))
    assert [r["id"] for r in runs] == [r.id for r in _all(log) if run_matches(flt, r)]
    code, out = in_process(
        "runs", "list", "--error-class", "timeout", "--min-duration", "1m", "--limit", "0",
        "--json",
    )  # fmt: skip
    runs = json.loads(out)["runs"] if out.strip().startswith("{") else json.loads(out)
    assert runs and all(r["error_class"] == "timeout" and r["duration_ms"] >= 60_000 for r in runs)
    assert in_process("runs", "list", "--tag", "oops")[0] == 2
    assert "must look like key=value" in capsys.readouterr().err
