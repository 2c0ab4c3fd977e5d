"""Money in every CSV export is plain decimal text: a run whose actions cost $0.02 and $0.020335
reads 0.040335 (the float sum is 0.040334999999999996), a tiny cost is never 1e-07."""

from __future__ import annotations

import csv
import io
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from ato_desktop.core.coerce import money_text
from ato_desktop.core.ledger import LedgerFilter
from ato_desktop.core.models import CostSource
from ato_desktop.core.records import NewAction, NewRun, RunEnd, RunFilter
from ato_desktop.engine.export import export_actions, export_runs
from ato_desktop.store.execution_log import ExecutionLog
from ato_desktop.store.paths import DataPaths

NOW = int(time.time() * 1000)


@pytest.fixture
def log(ato_home: Path) -> Iterator[ExecutionLog]:
    store = ExecutionLog.open(DataPaths(ato_home))
    yield store
    store.close()


def _action(cost: float, seq: int) -> NewAction:
    return NewAction(
        "call_llm",
        "llm",
        "success",
        NOW + seq,
        NOW + seq + 1,
        cost_usd=cost,
        cost_source=CostSource.PROVIDER,
    )


def test_money_text_is_the_decimal_the_float_stands_for() -> None:
    assert repr(0.02 + 0.020335) == "0.040334999999999996"
    assert money_text(0.02 + 0.020335) == "0.040335"
    assert money_text(1e-07) == "0.0000001"
    assert money_text(7.5e-08) == "0.000000075"
    assert money_text(12.5) == "12.5" and money_text(100.0) == "100"
    assert money_text(0.0) == money_text(-0.0) == "0"
    assert money_text("0.014200") == "0.0142"
    assert money_text(None) == money_text(float("nan")) == money_text("free") == ""


def test_run_and_ledger_csv_exports_write_decimal_money(log: ExecutionLog) -> None:
    log.ingest(
        [
            (
                NewRun("claude", "m", "cli", NOW),
                RunEnd("completed", NOW + 9, 9_000_000),
                [_action(0.02, 0), _action(0.020335, 1)],
            ),
            (
                NewRun("claude", "m", "cli", NOW - 5),
                RunEnd("completed", NOW, 5_000_000),
                [_action(1e-07, 0)],
            ),
        ]
    ).result()
    run = log.list_runs(RunFilter(), limit=1)[0]
    assert repr(run.cost_usd) == "0.040334999999999996"  # what the float sum is

    out = io.StringIO()
    export_runs(log, RunFilter(), "csv", out)
    rows = list(csv.DictReader(io.StringIO(out.getvalue())))
    assert [row["cost_usd"] for row in rows] == ["0.040335", "0.040335", "0.0000001"]
    assert [row["action_cost_usd"] for row in rows] == ["0.02", "0.020335", "0.0000001"]

    out = io.StringIO()
    assert export_actions(log, LedgerFilter(), "csv", out) == 3
    rows = list(csv.DictReader(io.StringIO(out.getvalue())))
    assert sorted(row["cost_usd"] for row in rows) == ["0.0000001", "0.02", "0.020335"]
