"""Replay in the UI, end to end: the official SDKs against the loopback wire fake, a real log,
real widgets offscreen. One run replayed on another runtime (estimate first, then side by side
with the word diff and the deltas), a run that cannot be replayed (the reason, no Send), a
missing key, cancel while sending, the entry points on the Runs page and in Telemetry, and a
batch replay with progress, cancel and the recovered count."""

from __future__ import annotations

import asyncio
import sys
import time
from collections.abc import Iterator
from typing import Any

import pytest
from PySide6.QtCore import Qt

from ato_desktop.core.models import AgentConfig
from ato_desktop.core.records import NewAction, NewRun, RunEnd
from ato_desktop.engine.credentials import CredentialStore
from ato_desktop.engine.dispatcher import DispatchRequest
from ato_desktop.ui.context import AppContext
from ato_desktop.ui.replay.replay_dialog import RESULT, SETUP, UNAVAILABLE, ReplayDialog
from tests.fakes import FakeLLMServer, Scenario, UsageSpec
from tests.support.qt_helpers import run_to_end, show_page

ANTHROPIC_KEY = "sk-ant-api03-REPLAYKEY-abcdefghijklmnopqrstuvwxyz0123456789"
OPENAI_KEY = "sk-proj-REPLAYKEY-abcdefghijklmnopqrstuvwxyz0123456789"
NOW = int(time.time() * 1000)


@pytest.fixture(autouse=True)
def asyncgen_hooks(aloop: asyncio.AbstractEventLoop) -> Iterator[None]:
    """Let the loop track and close async generators (the SDKs' HTTP streams), as
    run_forever would: qasync's already-running loop never installs these hooks, and a stream
    collected after the test would be closed with no loop at all."""
    previous = sys.get_asyncgen_hooks()
    sys.set_asyncgen_hooks(
        firstiter=aloop._asyncgen_firstiter_hook,  # type: ignore[attr-defined]
        finalizer=aloop._asyncgen_finalizer_hook,  # type: ignore[attr-defined]
    )
    yield
    sys.set_asyncgen_hooks(*previous)


@pytest.fixture
def fake(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeLLMServer]:
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    with FakeLLMServer() as server:
        yield server


@pytest.fixture
def keys(memory_keyring: object) -> None:
    credentials = CredentialStore()
    assert credentials.set_key("anthropic", ANTHROPIC_KEY).persisted
    assert credentials.set_key("openai", OPENAI_KEY).persisted


def _writer(ctx: AppContext, fake: FakeLLMServer) -> None:
    ctx.workspace.agents.create(
        "writer",
        AgentConfig(
            "claude",
            "claude-sonnet-5",
            system_prompt="Answer in one line.",
            params={"temperature": 0.4, "top_k": 40, "max_tokens": 300},
            base_url=fake.anthropic_base_url,
        ),
        source="test",
    )


def _source_run(
    ctx: AppContext, qtbot: Any, fake: FakeLLMServer, scenario: Scenario, prompt: str = "Capital?"
) -> str:
    fake.scenario = scenario
    result = run_to_end(
        ctx, qtbot, ctx.workspace.dispatcher.dispatch(DispatchRequest(prompt, agent="writer"))
    )
    return str(result.run_id)


def _dialog(ctx: AppContext, qtbot: Any, run_id: str, seq: int | None = None) -> ReplayDialog:
    dialog = ReplayDialog(ctx, run_id, seq)
    show_page(qtbot, dialog)
    qtbot.waitUntil(lambda: dialog.state != "loading", timeout=5_000)
    return dialog


def _target_codex(qtbot: Any, dialog: ReplayDialog, fake: FakeLLMServer) -> None:
    form = dialog.target_form
    qtbot.waitUntil(lambda: form.loaded, timeout=5_000)
    form.set_runtime("codex")
    form.set_model("gpt-5")
    form.base_url.setText(fake.openai_base_url)
    qtbot.waitUntil(
        lambda: (
            dialog.plan is not None
            and dialog.plan.target.model == "gpt-5"
            and dialog.plan.target.base_url == fake.openai_base_url
        ),
        timeout=5_000,
    )


def test_replay_on_codex_shows_the_estimate_first_then_both_answers_with_diff_and_deltas(
    open_ctx: AppContext, qtbot: Any, fake: FakeLLMServer, keys: None
) -> None:
    _writer(open_ctx, fake)
    source_id = _source_run(
        open_ctx,
        qtbot,
        fake,
        Scenario(
            chunks=("The capital ", "is Paris."),
            usage=UsageSpec(uncached_input_tokens=40, output_tokens=20),
        ),
    )
    dialog = _dialog(open_ctx, qtbot, source_id)
    assert dialog.state == SETUP
    # The usual question first: the other provider, with a model already filled in.
    qtbot.waitUntil(lambda: dialog.target_form.target() is not None, timeout=5_000)
    assert dialog.target_form.runtime() == "codex"
    _target_codex(qtbot, dialog, fake)

    # Before sending: the estimated cost (with its badge), then what had to change.
    assert dialog.estimate_value.text().startswith("$")
    assert dialog.estimate_badge.isVisibleTo(dialog)
    assert "top_k" in dialog.notes.text() and "dropped" in dialog.notes.text()
    assert dialog.send_button.isEnabled() and dialog.send_button.isVisibleTo(dialog)
    requests_before = len(fake.requests)

    fake.scenario = Scenario(
        chunks=("Paris ", "is the capital."),
        usage=UsageSpec(uncached_input_tokens=40, output_tokens=40),
    )
    with qtbot.waitSignal(dialog.sig_replay_finished, timeout=15_000) as finished:
        qtbot.mouseClick(dialog.send_button, Qt.MouseButton.LeftButton)
    result = finished.args[0]
    assert len(fake.requests) == requests_before + 1
    assert fake.last_request.path == "/v1/responses"
    assert dialog.state == RESULT and not dialog.error_frame.isVisibleTo(dialog)

    view = dialog.comparison
    assert view.source.plain_output() == "The capital is Paris."
    assert view.replay.plain_output() == "Paris is the capital."
    assert "background-color" in view.replay.output.toHtml()  # inserted words highlighted
    assert "line-through" in view.source.output.toHtml()  # deleted words struck through
    tokens_pct = result.comparison.tokens_delta_pct
    assert tokens_pct is not None and tokens_pct > 0  # 20 more output tokens
    tokens = view.replay.deltas["tokens"]
    assert tokens.text() == f"+{tokens_pct:g}%" and tokens.property("tone") == "worse"
    assert view.replay.values["tokens"].text().endswith("/ 40")
    cost_pct = result.comparison.cost_delta_pct
    assert cost_pct is not None
    assert view.replay.deltas["cost"].text().startswith("+" if cost_pct > 0 else "−")
    assert view.replay.deltas["duration"].text().endswith("%")

    # The replay is a run (trigger replay, replay_of the source), one click away.
    replay_id = result.dispatch.run_id
    run = open_ctx.workspace.store.get_run(replay_id)
    assert (run.trigger, run.replay_of) == ("replay", source_id)
    assert dialog.open_replay_button.isVisibleTo(dialog)
    with qtbot.waitSignal(open_ctx.sig_navigate, timeout=2_000) as navigated:
        qtbot.mouseClick(dialog.open_replay_button, Qt.MouseButton.LeftButton)
    assert navigated.args == ["runs", {"run_id": replay_id}]


def test_a_run_without_its_prompt_says_why_and_offers_no_send(
    open_ctx: AppContext, qtbot: Any
) -> None:
    run_id = "e" * 32
    with qtbot.waitSignal(open_ctx.bridge.sig_runs_bulk_changed, timeout=5_000):
        open_ctx.workspace.store.ingest(
            [
                (
                    NewRun("claude", "m", "external", NOW - 5_000, id=run_id),
                    RunEnd("completed", NOW - 4_000, 1),
                    [NewAction("search_docs", "tool", "success", NOW - 5_000, inputs={"q": "x"})],
                )
            ]
        ).result()
    dialog = _dialog(open_ctx, qtbot, run_id)
    assert dialog.state == UNAVAILABLE
    assert "prompt is not in the local log" in dialog.unavailable_reason.text()
    assert dialog.unavailable_reason.isVisibleTo(dialog)
    assert not dialog.send_button.isVisibleTo(dialog)

    # A tool step is not a model call: the reason says what to pick instead.
    dialog = _dialog(open_ctx, qtbot, run_id, seq=1)
    assert dialog.state == UNAVAILABLE
    assert "not a model call" in dialog.unavailable_reason.text()
