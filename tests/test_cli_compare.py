"""`ato-desktop compare`: two runs of the log, or runs in JSON files (string-typed numbers,
nulls and missing fields included), side by side; bad files get a clear error."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from ato_desktop.core.models import CostSource, TokenUsage
from ato_desktop.core.records import NewAction, NewRun, RunEnd
from ato_desktop.engine.workspace import Workspace
from ato_desktop.store.paths import DataPaths
from tests.test_cli import in_process, run_cli

T0 = 1_790_000_000_000
LEFT, RIGHT = "a1" * 16, "b2" * 16


def _call(text: str, start: int, ms: int, cost: float, **kw: Any) -> NewAction:
    return NewAction(
        "call_llm",
        "llm",
        "success",
        start,
        start + ms,
        inputs={"messages": [{"role": "user", "content": "Summarise the incident"}]},
        outputs={"text": text},
        usage=TokenUsage(input_tokens=100, output_tokens=20),
        cost_usd=cost,
        cost_source=CostSource.ESTIMATED,
        duration_ns=ms * 1_000_000,
        **kw,
    )


@pytest.fixture
def two_runs(ato_home: Path) -> None:
    ws = Workspace.open(DataPaths(ato_home))
    try:
        left = [
            _call("The deploy failed because the cache was corrupt.", T0, 1000, 0.002),
            NewAction("search_docs", "tool", "success", T0 + 1000, T0 + 1200, inputs={"q": "x"}),
        ]
        right = [_call("The deploy failed because the build cache was stale.", T0, 500, 0.001)]
        ws.store.ingest(
            [
                (
                    NewRun("claude", "claude-sonnet-5", "cli", T0, id=LEFT),
                    RunEnd("completed", T0 + 1200, 1_200_000_000),
                    left,
                ),
                (
                    NewRun("codex", "gpt-5", "replay", T0, id=RIGHT, replay_of=LEFT),
                    RunEnd("completed", T0 + 600, 600_000_000),
                    right,
                ),
            ]
        ).result()
    finally:
        ws.close()


def test_compare_two_runs_of_the_log(ato_home: Path, two_runs: None) -> None:
    done = run_cli(ato_home, "compare", LEFT[:8], RIGHT)
    assert done.returncode == 0, done.stderr
    text = done.stdout
    assert "claude · claude-sonnet-5" in text and "codex · gpt-5" in text
    assert re.search(r"\nduration\s+1\.2 s\s+600 ms\s+-50\.0%\n", text)
    assert re.search(r"\ncost\s+\$0\.0020 est\.\s+\$0\.0010 est\.\s+-50\.0%\n", text)
    assert re.search(r"\ninput tokens\s+100\s+100\s+±0\n", text)
    assert re.search(r"\nactions\s+2\s+1\s+-1\n", text)
    assert "1 changed · 1 only left · 0 only right" in text
    assert "search_docs" in text and "only left" in text
    assert "#1 call_llm · outputs differ" in text

    data = json.loads(run_cli(ato_home, "compare", LEFT, RIGHT, "--json").stdout)
    assert data["left"]["id"] == LEFT and data["right"]["id"] == RIGHT
    assert [row["status"] for row in data["actions"]] == ["changed", "only_left"]
    assert data["totals"]["duration_ms"] == {
        "left": 1200.0,
        "right": 600.0,
        "change": -600.0,
        "pct": -50.0,
    }
    words = data["actions"][0]["output_words"]
    assert {"op": "insert", "text": "stale."} in words or any(
        w["op"] == "insert" and "stale" in w["text"] for w in words
    )
    assert data["actions"][0]["cost_usd"]["pct"] == -50.0


def _exported(ato_home: Path, run_id: str, path: Path) -> dict[str, Any]:
    done = run_cli(ato_home, "runs", "show", run_id, "--json")
    assert done.returncode == 0, done.stderr
    data: dict[str, Any] = json.loads(done.stdout)
    path.write_text(json.dumps(data), encoding="utf-8")
    return data


def test_compare_survives_string_numbers_nulls_and_missing_fields(
    ato_home: Path, tmp_path: Path, two_runs: None
) -> None:
    left = {
        "id": "left-from-postgres",
        "status": "completed",
        "duration_ms": "1200.000",
        "cost_usd": "0.014200",
        "cost_source": "provider",
        "tokens": {"input": "1000", "output": None},
        "actions": [
            {
                "name": "call_llm",
                "outcome": "success",
                "duration_ms": "800.5",
                "cost_usd": "0.014200",
                "cost_source": "provider",
                "outputs": {"text": "hello there"},
            },
            {"name": "write_file"},  # nothing but a name
        ],
    }
    right = {
        "id": "right",
        "status": "completed",
        "duration_ms": 600,
        "cost_usd": "0.007100",
        "cost_source": "provider",
        "tokens": None,
        "actions": [{"name": "call_llm", "cost_usd": None, "outputs": {"text": "hello"}}],
    }
    (tmp_path / "left.json").write_text(json.dumps(left), encoding="utf-8")
    (tmp_path / "right.json").write_text(json.dumps({"runs": [right]}), encoding="utf-8")
    code, out = in_process("compare", str(tmp_path / "left.json"), str(tmp_path / "right.json"))
    assert code == 0
    assert re.search(r"\ncost\s+\$0\.014\s+\$0\.0071\s+-50\.0%\n", out)  # from strings
    assert "None" not in out
    code, out = in_process(
        "compare", str(tmp_path / "left.json"), str(tmp_path / "right.json"), "--json"
    )
    data = json.loads(out)
    assert data["totals"]["cost_usd"]["pct"] == -50.0
    assert data["totals"]["duration_ms"]["change"] == -600.0
    assert [row["status"] for row in data["actions"]] == ["changed", "only_left"]
    assert data["actions"][0]["cost_usd"]["right"] is None  # unknown is not $0

    # One side from a file (a run exported with `runs show --json`), the other from the log.
    exported = _exported(ato_home, LEFT, tmp_path / "exported.json")
    assert exported["id"] == LEFT
    done = run_cli(ato_home, "compare", str(tmp_path / "exported.json"), RIGHT, "--json")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["totals"]["duration_ms"]["pct"] == -50.0


def test_compare_bad_input_gets_a_clear_error(
    ato_home: Path, tmp_path: Path, two_runs: None, capsys: pytest.CaptureFixture[str]
) -> None:
    cases = {
        "broken.json": (b'{"id": "x", "actions": [', "neither JSON nor JSONL"),
        "binary.json": (bytes(range(256)) * 4, "not UTF-8 text"),
        "two.jsonl": (b'{"id": "a"}\n{"id": "b"}\n', "holds 2 runs"),
        "list.json": (b"[1, 2, 3]", "holds 3 runs"),
        "scalar.json": (b"42", "does not hold a run"),
    }
    for name, (content, message) in cases.items():
        path = tmp_path / name
        path.write_bytes(content)
        code, _out = in_process("compare", str(path), RIGHT)
        assert code == 2, name
        assert message in capsys.readouterr().err, name
        assert path.read_bytes() == content  # never touched
    assert in_process("compare", str(tmp_path / "missing.json"), RIGHT)[0] == 2
    assert "No file" in capsys.readouterr().err
    assert in_process("compare", "ffffff", RIGHT)[0] == 2
    assert "No run 'ffffff'" in capsys.readouterr().err
