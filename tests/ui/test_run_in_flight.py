"""A run in flight in its details: the text streaming live (from the stream for this app's runs,
from checkpoints for another process's), tokens and cost so far, Kill, and a progress bar: a
percentage where it is knowable (a pipeline's stages, a tool-call ceiling), else the time against
the agent's usual duration. Notifications fire from this view (Watch this run, failures).

Real dispatches through the SDKs against the loopback fakes; a real second process (the CLI)."""

from __future__ import annotations

import re
import time
from pathlib import Path
from typing import Any

from ato_desktop.core.mcp_config import McpServerConfig
from ato_desktop.core.models import AgentConfig, Trigger
from ato_desktop.core.records import NewAction, NewRun, RunEnd, RunFilter
from ato_desktop.engine.dispatcher import DispatchRequest
from ato_desktop.store.execution_log import now_ms
from ato_desktop.store.live_progress import typical_duration_ms
from ato_desktop.store.mcp_servers import add_server
from ato_desktop.ui.context import AppContext
from ato_desktop.ui.pages.runs_page import RunsPage
from ato_desktop.ui.runs.live_run_panel import SOURCE_CHECKPOINT, SOURCE_STREAM
from tests.fakes import FakeLLMServer, FakeToolCall, Scenario
from tests.fakes.mcp_server import stdio_command
from tests.support.builders import article_group
from tests.support.qt_helpers import open_main_window
from tests.test_cli import _start_dispatch
from tests.ui.test_runs_page import make_page

ANTHROPIC_KEY = "sk-ant-api03-INFLIGHTKEY-abcdefghijklmnopqrstuvwxyz0123456789"
WORDS = tuple(f"w{i} " for i in range(400))
FIRST_SDK_IMPORT_S = 60  # the first dispatch imports the provider SDK: slow on a loaded machine


def _key(ctx: AppContext) -> None:
    assert ctx.workspace.credentials.set_key("anthropic", ANTHROPIC_KEY).persisted


def _history(ctx: AppContext, agent_id: str, seconds: list[int]) -> None:
    """Completed runs of the agent that took these many seconds (its usual duration)."""
    base = now_ms() - 3_600_000
    rows = []
    for i, took in enumerate(seconds):
        start = base + i * 60_000
        rows.append(
            (
                NewRun("claude", "claude-sonnet-4-5", "cli", start, agent_id=agent_id),
                RunEnd("completed", start + took * 1000, took * 1_000_000_000),
                [NewAction("call_llm", "llm", "success", start, start + took * 1000)],
            )
        )
    ctx.workspace.store.ingest(rows).result()


def _open_running(page: RunsPage, qtbot: Any, ctx: AppContext, timeout_s: float = 60) -> str:
    qtbot.waitUntil(lambda: bool(ctx.workspace.live.run_ids), timeout=int(timeout_s * 1000))
    run_id = ctx.workspace.live.run_ids[0]
    with qtbot.waitSignal(page.details.sig_run_loaded, timeout=5000):
        page.open_run(run_id)
    return run_id


def test_this_apps_run_streams_live_with_figures_so_far_and_is_killed_from_here(
    open_ctx: AppContext, qtbot: Any, fake: FakeLLMServer
) -> None:
    _key(open_ctx)
    writer = open_ctx.workspace.agents.create(
        "writer", AgentConfig("claude", "claude-sonnet-4-5", base_url=fake.anthropic_base_url)
    )
    _history(open_ctx, writer.id, [10, 14, 12, 11, 13])  # usually 12 s
    assert typical_duration_ms(open_ctx.workspace.store, writer.id) == (12_000, 5)
    fake.scenario = Scenario(chunks=WORDS, delay_s=0.05)
    page = make_page(open_ctx, qtbot)
    task = open_ctx.spawn(
        open_ctx.engine_run(
            open_ctx.workspace.dispatcher.dispatch(
                DispatchRequest("Write at length", agent="writer", trigger=Trigger.UI)
            )
        )
    )
    run_id = _open_running(page, qtbot, open_ctx, FIRST_SDK_IMPORT_S)
    details = page.details
    panel = details.live_panel
    assert panel.isVisible() and panel.source == SOURCE_STREAM
    # The text arrives chunk by chunk, as the stream sends it.
    qtbot.waitUntil(lambda: panel.text.count("w") >= 10, timeout=20_000)
    shown = panel.text
    assert "".join(WORDS).startswith(shown)
    qtbot.waitUntil(lambda: len(panel.text) > len(shown), timeout=5000)
    # Its time against the agent's usual, and what it has cost so far (estimated).
    qtbot.waitUntil(
        lambda: "usually 12 s" in details.live_panel.progress_label.text(), timeout=5000
    )
    assert not panel.percent_label.isVisible()  # no completion % is claimed
    qtbot.waitUntil(lambda: "so far" in panel.so_far.text(), timeout=5000)
    assert re.fullmatch(r"~[\d,]+ tokens out · ~\$\d+\.\d{4} so far", panel.so_far.text())
    assert details._stats["tokens"].value.text().split(" / ")[1].startswith("~")

    # Kill, after a confirmation: the run stops and keeps what was shown.
    panel.kill_button.click()
    box = details.kill_dialog
    assert box.isVisible() and "Kill run" in box.kill_button.text()
    box.kill_button.click()
    qtbot.waitUntil(task.done, timeout=5000)
    result = task.result()
    assert result.status.value == "killed" and result.run_id == run_id
    qtbot.waitUntil(lambda: not panel.isVisible(), timeout=5000)
    assert details.badge.status == "killed" and "killed" in details.banner_text.text().lower()
    (action,) = open_ctx.workspace.store.get_actions(run_id)
    assert action.outputs["text"].startswith(shown)


def test_a_tool_call_ceiling_gives_a_completion_percentage(
    open_ctx: AppContext, qtbot: Any, fake: FakeLLMServer, tmp_path: Path
) -> None:
    _key(open_ctx)
    command, args, env = stdio_command("--notes", str(tmp_path / "notes.txt"))
    add_server(
        open_ctx.workspace.store,
        McpServerConfig("shop", "stdio", command=command, args=args, env=env, timeout_s=10),
    ).result()
    open_ctx.workspace.agents.create(
        "clerk",
        AgentConfig(
            "claude",
            "claude-sonnet-4-5",
            base_url=fake.anthropic_base_url,
            mcp_servers=("shop",),
            max_tool_calls=4,
        ),
    )
    fake.enqueue(
        Scenario(
            chunks=("Noting.",), tool_calls=(FakeToolCall("shop__write_note", {"text": "a"}),)
        ),
        Scenario(chunks=("Then ", "I ", "stall"), stall_after=2),
    )
    page = make_page(open_ctx, qtbot)
    task = open_ctx.spawn(
        open_ctx.engine_run(
            open_ctx.workspace.dispatcher.dispatch(
                DispatchRequest("Note a", agent="clerk", trigger=Trigger.UI)
            )
        )
    )
    _open_running(page, qtbot, open_ctx, FIRST_SDK_IMPORT_S)
    panel = page.details.live_panel
    qtbot.waitUntil(
        lambda: len(fake.requests) == 2 and fake.requests[1].stalled.is_set(), timeout=30_000
    )
    qtbot.waitUntil(
        lambda: panel.progress_label.text() == "1 of at most 4 tool calls", timeout=10_000
    )
    assert panel.percent_label.text() == "25 %" and panel.bar.value() == 250
    # The second turn's text replaced the first's (the turn streaming now).
    qtbot.waitUntil(lambda: panel.text == "Then I ", timeout=5000)
    open_ctx.workspace.live.kill(open_ctx.workspace.live.run_ids)
    qtbot.waitUntil(task.done, timeout=10_000)


def test_a_pipeline_shows_its_stage_and_a_stage_its_place(
    open_ctx: AppContext, qtbot: Any, fake: FakeLLMServer
) -> None:
    _key(open_ctx)
    workspace = open_ctx.workspace
    article_group(workspace, fake)
    fake.enqueue(Scenario(chunks=("facts",)), Scenario(chunks=("slow ", "never"), stall_after=1))
    started: list[str] = []
    page = make_page(open_ctx, qtbot)
    task = open_ctx.spawn(
        open_ctx.engine_run(
            workspace.automations.pipelines.run_group(
                "article", "otters", on_started=started.append
            )
        )
    )
    qtbot.waitUntil(lambda: len(fake.requests) == 2, timeout=FIRST_SDK_IMPORT_S * 1000)
    qtbot.waitUntil(lambda: fake.requests[1].stalled.is_set(), timeout=10_000)
    parent = workspace.store.get_run(started[0])
    assert parent.pipeline_id is not None and parent.stage_index is None
    with qtbot.waitSignal(page.details.sig_run_loaded, timeout=5000):
        page.open_run(parent.id)
    panel = page.details.live_panel
    qtbot.waitUntil(lambda: panel.progress_label.text() == "Stage 2 of 3 (draft)", timeout=10_000)
    assert panel.percent_label.text() == "33 %"
    # The stage itself: its place in the pipeline, then its own time (no agent history).
    stage = next(
        r
        for r in workspace.store.list_runs(RunFilter(), limit=10)
        if r.parent_run_id == parent.id and r.status == "running"
    )
    with qtbot.waitSignal(page.details.sig_run_loaded, timeout=5000):
        page.open_run(stage.id)
    qtbot.waitUntil(
        lambda: panel.progress_label.text().startswith("Stage 2 of 3 of article · "), timeout=10_000
    )
    assert panel.progress_label.text().endswith(" so far")
    workspace.live.kill([parent.id])
    try:
        qtbot.waitUntil(task.done, timeout=10_000)
    finally:
        fake.release()


def test_another_process_run_shows_its_checkpoints_and_is_killed_from_here(
    open_ctx: AppContext, qtbot: Any, fake: FakeLLMServer, ato_home: Path
) -> None:
    # A real CLI dispatch in a second process on the same log, stalled after two chunks.
    process, run_id = _start_dispatch(ato_home, fake)
    try:
        store = open_ctx.workspace.store
        qtbot.waitUntil(lambda: bool(store.get_run(run_id).partial_output), timeout=10_000)
        page = make_page(open_ctx, qtbot)
        with qtbot.waitSignal(page.details.sig_run_loaded, timeout=5000):
            page.open_run(run_id)
        panel = page.details.live_panel
        assert panel.isVisible() and panel.source == SOURCE_CHECKPOINT
        assert panel.text == "partial answer "
        assert "another process" in panel.caption.text()
        # A newer checkpoint (what a RunProgressed from that process brings) replaces the text.
        run = store.get_run(run_id)
        with qtbot.waitSignal(open_ctx.bridge.sig_run_progressed, timeout=5000):
            store.checkpoint_run(run_id, run.run_no, "partial answer and more", now_ms())
        qtbot.waitUntil(lambda: panel.text == "partial answer and more", timeout=5000)
        # Kill from here: the other process is asked, and stops the run within a second.
        panel.kill_button.click()
        page.details.kill_dialog.kill_button.click()
        qtbot.waitUntil(lambda: not panel.kill_button.isEnabled(), timeout=5000)
        qtbot.waitUntil(lambda: store.get_run(run_id).kill_requested_at is not None, timeout=5000)
        qtbot.waitUntil(lambda: store.get_run(run_id).status == "killed", timeout=10_000)
        assert process.wait(timeout=60) == 130  # the CLI's exit code for a killed dispatch
        assert store.get_actions(run_id)[0].outputs["partial"] is True
    finally:
        if process.poll() is None:
            process.kill()
        for stream in (process.stdout, process.stderr):
            if stream is not None:
                stream.close()


def test_notifications_fire_from_this_view(
    ui_ctx: AppContext, qtbot: Any, fake: FakeLLMServer
) -> None:
    window = open_main_window(ui_ctx, qtbot)
    try:
        service = window.notifications
        assert service is not None
        _key(ui_ctx)
        ui_ctx.workspace.agents.create(
            "writer", AgentConfig("claude", "claude-sonnet-4-5", base_url=fake.anthropic_base_url)
        )
        shown: list[Any] = []
        service.sig_notification_shown.connect(shown.append)
        # A short run the user watches from its details: its completion notifies.
        fake.scenario = Scenario(chunks=WORDS[:40], delay_s=0.05)
        window.navigate("runs")
        page = window.page("runs")
        assert isinstance(page, RunsPage)
        task = ui_ctx.spawn(
            ui_ctx.engine_run(
                ui_ctx.workspace.dispatcher.dispatch(
                    DispatchRequest("Short one", agent="writer", trigger=Trigger.UI)
                )
            )
        )
        run_id = _open_running(page, qtbot, ui_ctx, FIRST_SDK_IMPORT_S)
        details = page.details
        qtbot.waitUntil(details.watch_button.isVisible, timeout=5000)
        details.watch_button.click()
        qtbot.waitUntil(task.done, timeout=20_000)
        qtbot.waitUntil(lambda: bool(shown), timeout=10_000)
        assert shown[0].kind == "completion" and shown[0].run_id == run_id
        # A failure notifies while it is on screen, unwatched.
        fake.scenario = Scenario(chunks=WORDS[:40], delay_s=0.05, stream_error_after=20)
        failing = ui_ctx.spawn(
            ui_ctx.engine_run(
                ui_ctx.workspace.dispatcher.dispatch(
                    DispatchRequest("Fails", agent="writer", trigger=Trigger.UI)
                )
            )
        )
        failed_id = _open_running(page, qtbot, ui_ctx)
        qtbot.waitUntil(failing.done, timeout=20_000)
        service.flush(now_ms=int(time.time() * 1000) + 60_000)  # past the quiet gap
        qtbot.waitUntil(lambda: any(n.run_id == failed_id for n in shown), timeout=10_000)
        failure = next(n for n in shown if n.run_id == failed_id)
        assert failure.kind == "failure"
    finally:
        done: list[bool] = []
        ui_ctx.spawn(ui_ctx.shutdown()).add_done_callback(lambda _t: done.append(True))
        qtbot.waitUntil(lambda: bool(done), timeout=10_000)
