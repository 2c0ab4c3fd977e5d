"""Regressions over a real log: a harmful config change is flagged on the right metric with the
right failing examples; a harmless change, and one with too few runs, are not."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ato_desktop.core.models import AgentConfig
from ato_desktop.core.records import AgentRecord, NewAction, NewRun, RunEnd
from ato_desktop.core.regressions import COST, EVAL, LATENCY, SUCCESS, Thresholds
from ato_desktop.engine.regressions import detect, detect_regressions, first_prompt
from ato_desktop.engine.settings_file import (
    SettingsFileError,
    regression_thresholds,
    save_regression_thresholds,
)
from ato_desktop.engine.workspace import Workspace
from ato_desktop.store.paths import DataPaths
from tests.support.builders import ticket_runs
from tests.test_cli import in_process

T0 = 1_790_000_000_000
HOUR = 3_600_000


@pytest.fixture
def triage(workspace: Workspace) -> AgentRecord:
    return workspace.agents.create("triage", AgentConfig("claude", "claude-sonnet-5"))


def test_a_harmful_change_is_flagged_with_its_failing_examples(
    workspace: Workspace, triage: AgentRecord
) -> None:
    ticket_runs(workspace.store, triage, T0, 40, failed=1, tag="a1", seed=1)
    workspace.agents.edit("triage", {"system_prompt": "Be terse."})  # v2: the harmful change
    failing = ticket_runs(workspace.store, triage, T0 + 10 * HOUR, 40, failed=16, tag="b2", seed=2)

    report = detect_regressions(workspace.store)
    (change,) = report.changes
    assert (
        change.regression
        and change.is_current
        and (change.previous_version, change.version) == (1, 2)
    )
    assert "system_prompt changed" in change.summary
    assert [c.metric for c in change.regressed] == [SUCCESS]  # latency and cost did not move
    success = change.regressed[0]
    assert success.n_before == 40 and success.n_after == 40 and (success.p_value or 1) < 0.001
    examples = change.examples[SUCCESS]
    assert len(examples) == 5 and {e.run_id for e in examples} <= set(failing[:16])
    assert all(e.error_class == "bad_request" and e.why == "failed" for e in examples)
    assert examples[0].prompt is not None and examples[0].prompt.startswith("Ticket b2-")
    assert report.active(triage.id) == change
    data = report.as_dict()
    assert data["regressions"] == 1 and data["changes"][0]["checks"][0]["test"].startswith("Fisher")

    # The CLI says so and exits 1 (an agent's current version regressed: CI can gate on it).
    code, out = in_process("insights", "regressions")
    assert code == 1 and "REGRESSION  @triage v1 → v2 (current version)" in out
    assert "✗ Success rate" in out
    assert all(run_id in out for run_id in failing[11:16])  # the newest five failures


def test_harmless_and_small_changes_are_not_flagged(
    workspace: Workspace, triage: AgentRecord
) -> None:
    ticket_runs(workspace.store, triage, T0, 40, failed=2, tag="c3", seed=3)
    workspace.agents.edit("triage", {"params": {"temperature": 0.3}})  # harmless
    ticket_runs(workspace.store, triage, T0 + 10 * HOUR, 40, failed=2, tag="d4", seed=4)
    workspace.agents.edit("triage", {"model": "claude-haiku-5"})  # bad, but only 6 runs
    ticket_runs(workspace.store, triage, T0 + 20 * HOUR, 6, failed=4, seconds=9, tag="e5", seed=5)

    report = detect_regressions(workspace.store)
    assert [c.version for c in report.changes] == [3, 2]  # newest first
    assert report.regressions == ()
    small = report.changes[0]
    assert all(not c.enough and c.reason.startswith("too few runs") for c in small.checks)
    harmless = report.changes[1]
    assert all(c.enough and not c.regression for c in harmless.checks)
    # The small change is not "ok": it has no verdict yet, and says why.
    assert small.verdict == "not_enough_data" and harmless.verdict == "ok"
    assert small.not_enough_text == "not enough data yet (40 before, 6 after; 20 needed)"
    assert in_process("insights", "regressions") == (
        0,
        "No regressions in 1 config change checked; 1 without enough data yet "
        "(--all lists them).\n",
    )
    code, out = in_process("insights", "regressions", "--all")
    assert "not enough data yet (40 before, 6 after; 20 needed)  @triage v2 → v3" in out
    # Lower the bar (thresholds are settings) and the small change is judged: with every run
    # at 9 s against 2 s, even 6 runs make the latency rise significant.
    assert in_process("insights", "thresholds", "min_runs=5")[0] == 0
    code, out = in_process("insights", "regressions", "--json")
    assert code == 1
    import json

    metrics = {c["metric"] for c in json.loads(out)["changes"][0]["checks"] if c["regression"]}
    assert LATENCY in metrics


def test_cost_and_eval_score_regressions(workspace: Workspace, triage: AgentRecord) -> None:
    before = ticket_runs(workspace.store, triage, T0, 30, tag="f6", seed=6)
    workspace.agents.edit("triage", {"model": "claude-opus-5"})
    after = ticket_runs(workspace.store, triage, T0 + 10 * HOUR, 30, cost=0.05, tag="a7", seed=7)
    versions = {v.version: v.id for v in workspace.store.agent_history(triage.id)}
    scores = {
        versions[1]: [(run_id, 0.9) for run_id in before],
        versions[2]: [(run_id, 0.5 + (i % 3) / 10) for i, run_id in enumerate(after)],
    }
    report = detect_regressions(workspace.store, eval_scores=lambda v: scores.get(v, []))
    (change,) = report.changes
    assert {c.metric for c in change.regressed} == {COST, EVAL}
    assert [e.why for e in change.examples[EVAL]] == ["lowest eval score"] * 5
    assert all(e.score == 0.5 for e in change.examples[EVAL])
    assert change.examples[COST][0].cost_usd == max(
        workspace.store.get_run(r).cost_usd or 0 for r in after
    )


def test_first_prompt_reads_the_users_last_message(workspace: Workspace) -> None:
    messages = [
        {"role": "user", "content": "first"},
        {"role": "assistant", "content": "ok"},
        {"role": "user", "content": [{"type": "text", "text": "second " * 100}]},
    ]
    workspace.store.ingest(
        [
            (
                NewRun("claude", "m", "cli", T0, id="9" * 32),
                RunEnd("completed", T0 + 1, 1),
                [NewAction("call_llm", "llm", "success", T0, inputs={"messages": messages})],
            )
        ]
    ).result()
    prompt = first_prompt(workspace.store, "9" * 32, limit=50)
    assert prompt is not None and prompt.startswith("second second") and len(prompt) == 50
    assert first_prompt(workspace.store, "0" * 32) is None


def test_thresholds_are_settings_and_a_broken_file_is_never_overwritten(
    ato_home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    paths = DataPaths(ato_home)
    assert regression_thresholds(paths) == Thresholds()
    save_regression_thresholds(paths, Thresholds(cost_rise_pct=40))
    assert regression_thresholds(paths).cost_rise_pct == 40
    assert in_process("insights", "thresholds", "alpha=0.01", "success_drop_pp=5")[0] == 0
    t = regression_thresholds(paths)
    assert (t.alpha, t.success_drop_pp, t.cost_rise_pct) == (0.01, 5.0, 40.0)
    assert in_process("insights", "thresholds", "alpha=2")[0] == 2
    assert "alpha must be between 0 and 0.5" in capsys.readouterr().err
    assert in_process("insights", "thresholds", "colour=red")[0] == 2
    assert in_process("insights", "thresholds", "--reset")[0] == 0
    assert regression_thresholds(paths) == Thresholds()

    paths.settings_file.write_text('{"regressions": {"alpha": 0.01,', encoding="utf-8")
    broken = paths.settings_file.read_bytes()
    with pytest.raises(SettingsFileError, match="not valid JSON"):
        regression_thresholds(paths)
    with pytest.raises(SettingsFileError):
        save_regression_thresholds(paths, Thresholds())
    assert in_process("insights", "thresholds", "alpha=0.02")[0] == 2
    assert "not valid JSON (line 1" in capsys.readouterr().err
    assert paths.settings_file.read_bytes() == broken  # never overwritten


def test_a_broken_settings_file_is_read_one_way_by_the_app_and_the_cli(
    workspace: Workspace, triage: AgentRecord, capsys: pytest.CaptureFixture[str]
) -> None:
    # A change that regresses under the default thresholds.
    ticket_runs(workspace.store, triage, T0, 40, failed=1, tag="a1", seed=1)
    workspace.agents.edit("triage", {"system_prompt": "Be terse."})
    ticket_runs(workspace.store, triage, T0 + 10 * HOUR, 40, failed=16, tag="b2", seed=2)
    paths = workspace.paths
    paths.settings_file.write_text('{"regressions": {"alpha": 0.01,', encoding="utf-8")
    broken = paths.settings_file.read_bytes()

    detection = detect(workspace.store, paths)  # what Insights -> Regressions shows
    assert detection.settings.thresholds == Thresholds()
    assert "not valid JSON" in detection.settings.error
    assert [c.regression for c in detection.report.changes] == [True]

    # The CLI judges with the same defaults and says why, instead of refusing to judge.
    code, out = in_process("insights", "regressions")
    err = capsys.readouterr().err
    assert code == 1 and "REGRESSION  @triage v1 → v2" in out
    assert "not valid JSON" in err and "using the default thresholds" in err
    code, out = in_process("insights", "thresholds", "--json")
    assert code == 0 and json.loads(out) == Thresholds().as_dict()
    assert "not valid JSON" in capsys.readouterr().err
    assert paths.settings_file.read_bytes() == broken  # never overwritten
