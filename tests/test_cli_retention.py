"""`ato-desktop retention status|run|import|set` on a real log in this test's ATO_HOME."""

from __future__ import annotations

import gzip
import io
import json
from pathlib import Path

import pytest

from ato_desktop import cli
from ato_desktop.engine import retention
from ato_desktop.store.execution_log import ExecutionLog
from ato_desktop.store.paths import DataPaths
from tests.store.test_retention import build_workspace, snapshot


def run_cli(*argv: str) -> tuple[int, str]:
    out = io.StringIO()
    return cli.main(list(argv), stdout=out), out.getvalue()


@pytest.fixture
def paths(ato_home: Path) -> DataPaths:
    return DataPaths(ato_home).ensure()


def test_status_run_import_and_set(paths: DataPaths, capsys: pytest.CaptureFixture[str]) -> None:
    with ExecutionLog.open(paths) as store:
        ws = build_workspace(store, old_runs=15, actions=2)
        before = snapshot(store, ws.old)

    # Opening the workspace marks the orphaned "running" run interrupted: it is due too.
    due = len(ws.old) + 1
    code, text = run_cli("retention", "status")
    assert code == 0 and text.startswith("retention: 90 days\n")
    assert "(held back: 1 waiting for cloud sync)" in text
    assert "archives in " in text and ": 0\n" in text

    code, text = run_cli("retention", "run", "--dry-run")
    assert code == 0 and text.startswith(f"would archive {due} runs")
    assert retention.list_archives(paths) == []

    code, text = run_cli("retention", "run", "--json")
    data = json.loads(text)
    assert code == 0 and data["runs"] == data["removed"] == due
    assert data["reclaimed"] == data["bytes_before"] - data["bytes_after"] > 0
    archive = Path(data["archive"])
    assert archive.is_file() and archive.stat().st_size == data["archive_bytes"]
    assert "archive: " in capsys.readouterr().err  # progress on stderr

    code, text = run_cli("retention", "run")
    assert code == 0 and text == "nothing to archive: no run older than 90 days is due\n"

    code, text = run_cli("retention", "status", "--json")
    listed = json.loads(text)["archives"]
    assert [a["path"] for a in listed] == [str(archive)]

    code, text = run_cli("retention", "import", str(archive))
    assert text == f"imported {due} runs ({due * 2} actions) from {archive.name}\n"
    code, text = run_cli("retention", "import", str(archive))
    assert code == 0 and text.endswith(f"; {due} were already in the log\n")
    with ExecutionLog.open(paths) as store:
        assert snapshot(store, ws.old) == before

    code, text = run_cli("retention", "set", "--days", "off")
    assert code == 0 and text == "retention: off\n"
    code, text = run_cli("retention", "run")
    assert code == 0 and text == "" and "retention is off" in capsys.readouterr().err
    code, text = run_cli("retention", "set", "--days", "45")
    assert code == 0 and retention.retention_days(paths) == 45


def test_bad_input_is_a_clear_error(
    paths: DataPaths, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _ = run_cli("retention", "set", "--days", "soon")
    assert code == 2 and "whole number of days or off" in capsys.readouterr().err
    assert not paths.settings_file.exists()
    bad = tmp_path / "other.jsonl.gz"
    bad.write_bytes(gzip.compress(b'{"some": "thing"}\n'))
    code, _ = run_cli("retention", "import", str(bad))
    err = capsys.readouterr().err
    assert code == 2 and "not an ATO Desktop runs archive" in err and "Nothing was imported" in err
    code, _ = run_cli("retention", "import", str(tmp_path / "missing.jsonl.gz"))
    assert code == 2 and "no such file" in capsys.readouterr().err
    paths.settings_file.write_text("[1, 2")
    code, _ = run_cli("retention", "status")
    assert code == 2 and "not valid JSON" in capsys.readouterr().err
    assert paths.settings_file.read_text() == "[1, 2"
