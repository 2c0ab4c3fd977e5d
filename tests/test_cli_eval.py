"""CLI eval: runs a suite, gates on --min-pass-rate, reports bad files and bad lines clearly."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from ato_desktop import cli
from ato_desktop.core.models import AgentConfig
from ato_desktop.core.records import RunFilter
from ato_desktop.engine import evals as eval_engine
from ato_desktop.engine.credentials import CredentialStore
from ato_desktop.engine.workspace import Workspace
from ato_desktop.store.paths import DataPaths
from tests.fakes import FakeLLMServer, Scenario


@pytest.fixture
def agent(ato_home: Path, fake: FakeLLMServer) -> str:
    assert CredentialStore().set_key("anthropic", "sk-ant-api03-test-key-0123456789").persisted
    ws = Workspace.open(DataPaths(ato_home))
    try:
        ws.agents.create(
            "bot", AgentConfig("claude", "claude-haiku-4-5", base_url=fake.anthropic_base_url)
        )
    finally:
        ws.close()
    return "bot"


def in_process(*args: str) -> tuple[int, str]:
    out = io.StringIO()
    code = cli.main(list(args), stdout=out)
    return code, out.getvalue()


def _suite(path: Path, *items: object) -> str:
    path.write_text(
        "\n".join(i if isinstance(i, str) else json.dumps(i) for i in items) + "\n",
        encoding="utf-8",
    )
    return str(path)


CASES = (
    {"suite": {"name": "gate", "scorers": ["contains"]}},
    {"id": "one", "input": "1?", "expected": "yes"},
    {"id": "two", "input": "2?", "expected": "yes"},
    "not json at all",
    {"id": "three", "input": "3?", "expected": "yes"},
    {"id": "four", "input": "4?", "expected": "yes"},
)


def test_eval_gates_on_the_pass_rate_and_reports_bad_lines(
    agent: str, fake: FakeLLMServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _suite(tmp_path / "gate.jsonl", *CASES)
    fake.enqueue(*(Scenario(chunks=(t,)) for t in ("yes", "yes", "no", "yes")))
    code, out = in_process(
        "eval", path, "--agent", agent, "--concurrency", "1", "--min-pass-rate", "0.8"
    )
    err = capsys.readouterr().err
    assert code == cli.EXIT_FAILED
    assert "gate.jsonl: line 4: not valid JSON" in err
    assert "gate failed: pass rate 75% is below 80%" in err
    assert "✗ three" in out and "missing 'yes'" in out
    assert "gate on @bot: pass rate 75% (3/4)" in out
    assert "first run of this suite on this target" in out

    fake.scenario = Scenario(chunks=("yes",))
    code, out = in_process("eval", path, "--agent", agent, "--min-pass-rate", "75%", "--json")
    assert code == cli.EXIT_OK
    report = json.loads(out)
    assert (report["pass_rate"], report["gate"], report["min_pass_rate"]) == (1.0, True, 0.75)
    assert report["bad_lines"] == [{"line": 4, "reason": report["bad_lines"][0]["reason"]}]
    assert [c["case_id"] for c in report["diff"]["fail_to_pass"]] == ["three"]
    assert report["cost_source"] == "estimated" and report["judge_cost_usd"] is None

    code, _ = in_process("eval", path, "--agent", agent, "--strict")
    assert code == cli.EXIT_USAGE
    assert "nothing was run (--strict)" in capsys.readouterr().err


def test_eval_on_a_runtime_and_model_with_a_scorer_flag(
    ato_home: Path, fake: FakeLLMServer, tmp_path: Path
) -> None:
    CredentialStore().set_key("openai", "sk-proj-test-key-0123456789")
    path = _suite(tmp_path / "plain.jsonl", {"input": "Give me JSON"})
    fake.scenario = Scenario(chunks=('{"ok": true}',))
    code, out = in_process(
        "eval",
        path,
        "--runtime",
        "codex",
        "--model",
        "gpt-5-mini",
        "--base-url",
        fake.openai_base_url,
        "--scorer",
        '{"type": "json", "schema": {"required": ["ok"]}}',
        "--json",
    )
    assert code == cli.EXIT_OK, out
    report = json.loads(out)
    assert report["target"] == "codex · gpt-5-mini" and report["passed"] == 1


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "no such file"),
        (b"\x00\x01\x02binary", "a binary file"),
        (b'{"input": "caf\xe9"}\n', "line 1 is not UTF-8"),
        (b"{nope\n[1]\n", "no usable case (line 1: not valid JSON"),
        (b'{"suite": {"scorers": ["fuzzy"]}}\n{"input": "a"}\n', "unknown scorer type 'fuzzy'"),
        (b"", "it is empty"),
    ],
)
def test_eval_says_clearly_what_is_wrong_with_the_file(
    agent: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    content: bytes | None,
    message: str,
) -> None:
    path = tmp_path / "bad.jsonl"
    if content is not None:
        path.write_bytes(content)
    code, _ = in_process("eval", str(path), "--agent", agent)
    assert code == cli.EXIT_USAGE
    assert message in capsys.readouterr().err


def test_eval_refuses_a_huge_file_and_bad_options(
    agent: str, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(eval_engine, "MAX_SUITE_BYTES", 100)
    path = _suite(tmp_path / "big.jsonl", *({"input": f"q{i}", "expected": "x"} for i in range(20)))
    assert in_process("eval", path, "--agent", agent)[0] == cli.EXIT_USAGE
    assert "bytes is more than an eval suite may be (100 bytes)" in capsys.readouterr().err
    monkeypatch.setattr(eval_engine, "MAX_SUITE_BYTES", 16 * 2**20)
    for args, message in (
        (["--agent", agent, "--min-pass-rate", "1.5"], "give a fraction (0.9) or a percent"),
        (["--runtime", "claude"], "--runtime and --model go together"),
        ([], "give --agent NAME"),
        (["--agent", "ghost"], "ghost"),
        (["--agent", agent, "--scorer", "{bad"], "not valid JSON"),
    ):
        assert in_process("eval", path, *args)[0] == cli.EXIT_USAGE, args
        assert message in capsys.readouterr().err


def test_dispatch_waits_for_its_runs_online_judge(
    agent: str, ato_home: Path, fake: FakeLLMServer
) -> None:
    from ato_desktop.engine.online_judge import configure_online_judge
    from ato_desktop.store import evals as eval_store

    ws = Workspace.open(DataPaths(ato_home))
    try:
        configure_online_judge(
            ws.store, agent, rubric="Correct.", sample_percent=100, judge_agent=agent
        )
    finally:
        ws.close()
    fake.enqueue(Scenario(chunks=("42",)), Scenario(chunks=('{"score": 10, "reason": "right"}',)))
    code, out = in_process("dispatch", "--agent", agent, "6 x 7?")
    assert code == cli.EXIT_OK and out.strip() == "42"
    ws = Workspace.open(DataPaths(ato_home))
    try:
        (run,) = [r for r in ws.store.list_runs(RunFilter()) if r.trigger == "cli"]
        (score,) = eval_store.run_scores(ws.store, run.id)
        assert (score.source, score.score, score.note) == ("judge", 1.0, "right")
    finally:
        ws.close()
