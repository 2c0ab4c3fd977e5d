"""The window shows what other processes do (issue 14): real CLI processes against the wire fakes
write to the same log while the window is open, and the views follow within moments."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from ato_desktop.core.notify_rules import Notification, NotifyPolicy
from ato_desktop.ui.context import AppContext
from ato_desktop.ui.notifications import NotificationService
from ato_desktop.ui.pages.agents_page import AgentsPage
from ato_desktop.ui.pages.automations_page import AutomationsPage
from ato_desktop.ui.pages.chat_page import ChatPage
from ato_desktop.ui.pages.runs_page import RunsPage
from ato_desktop.ui.runs.live_view import COL_KILL, COL_OUTPUT, KILL_ROLE, RUN_ID_ROLE
from tests.fakes import FakeLLMServer, Scenario
from tests.support.builders import peer_env

REPO = Path(__file__).resolve().parents[2]


class Cli:
    """Starts `ato-desktop` processes on this test's data directory; kills leftovers."""

    def __init__(self, home: Path) -> None:
        self.home = home
        self.procs: list[subprocess.Popen[str]] = []

    def run(self, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        done = subprocess.run(
            [sys.executable, "-m", "ato_desktop", *args],
            env=peer_env(self.home),
            capture_output=True,
            text=True,
            timeout=timeout,
            cwd=REPO,
            start_new_session=True,
        )
        assert done.returncode in (0, 1), done.stderr
        return done

    def start(self, *args: str) -> subprocess.Popen[str]:
        proc = subprocess.Popen(
            [sys.executable, "-m", "ato_desktop", *args],
            env=peer_env(self.home),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            cwd=REPO,
            start_new_session=True,
        )
        self.procs.append(proc)
        return proc

    def close(self) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(10)


@pytest.fixture
def cli(ato_home: Path) -> Iterator[Cli]:
    runner = Cli(ato_home)
    yield runner
    runner.close()


def _agent(cli: Cli, fake: FakeLLMServer, name: str = "remote") -> None:
    cli.run(
        "agents", "add", name, "--runtime", "claude", "--model", "claude-sonnet-5",
        "--base-url", fake.anthropic_base_url,
    )  # fmt: skip


def _runs_page(ctx: AppContext, show: Any, tab: str) -> RunsPage:
    page = RunsPage(ctx)
    show(page)
    page.activate({"tab": tab})
    return page


def _live_rows(page: RunsPage) -> dict[str, int]:
    model = page.live.model
    return {str(model.index(r, 0).data(RUN_ID_ROLE)): r for r in range(model.rowCount())}


def test_a_stalled_cli_dispatch_shows_in_live_with_progress_and_dies_by_the_apps_kill(
    open_ctx: AppContext, qtbot: Any, fake: FakeLLMServer, cli: Cli, show: Any
) -> None:
    _agent(cli, fake)
    page = _runs_page(open_ctx, show, "live")
    # Three chunks a second apart, then a stall: the checkpoints (about once a second) move.
    fake.scenario = Scenario(chunks=("one ", "two ", "three ", "never"), delay_s=0.7, stall_after=3)
    proc = cli.start("dispatch", "--agent", "remote", "a long job")
    qtbot.waitUntil(lambda: page.live.model.rowCount() == 1, timeout=60_000)
    [(run_id, row)] = _live_rows(page).items()
    output = page.live.model.index(row, COL_OUTPUT)
    seen: set[str] = set()

    def progressed() -> bool:
        seen.add(str(output.data()))
        return len(seen) >= 3  # "—" then at least two sizes: it moved while we watched

    qtbot.waitUntil(progressed, timeout=30_000)
    assert open_ctx.workspace.live.get(run_id) is None  # not this process's run
    page.live.kill(run_id)
    assert page.live.model.index(row, COL_KILL).data(KILL_ROLE) == "requested"  # "Killing…" at once
    qtbot.waitUntil(lambda: page.live.model.rowCount() == 0, timeout=10_000)
    assert proc.wait(30) is not None
    assert open_ctx.workspace.store.get_run(run_id).status == "killed"


def test_a_kill_from_a_third_process_ends_the_row(
    open_ctx: AppContext, qtbot: Any, fake: FakeLLMServer, cli: Cli, show: Any
) -> None:
    _agent(cli, fake)
    page = _runs_page(open_ctx, show, "live")
    fake.scenario = Scenario(chunks=("partial ", "never"), stall_after=1)
    cli.start("dispatch", "--agent", "remote", "stall")
    qtbot.waitUntil(lambda: page.live.model.rowCount() == 1, timeout=60_000)
    [run_id] = _live_rows(page)
    done = cli.run("runs", "kill", run_id)
    assert "killed" in done.stdout
    qtbot.waitUntil(lambda: page.live.model.rowCount() == 0, timeout=10_000)


def test_a_cli_run_that_ended_appears_in_history_and_the_status_bar_counts_cli_runs(
    open_ctx: AppContext, qtbot: Any, fake: FakeLLMServer, cli: Cli, show: Any
) -> None:
    _agent(cli, fake)
    page = _runs_page(open_ctx, show, "history")
    qtbot.waitUntil(lambda: page.model.rowCount() == 0, timeout=10_000)
    fake.scenario = Scenario(chunks=("done",))
    done = cli.run("dispatch", "--agent", "remote", "short job")
    assert done.returncode == 0, done.stderr
    qtbot.waitUntil(lambda: page.model.rowCount() == 1, timeout=10_000)
    run = page.model.run_at(0)
    assert run is not None and run.status == "completed" and run.agent_name == "remote"


def test_agents_and_schedules_made_by_the_cli_appear_in_agents_chat_and_the_canvas(
    open_ctx: AppContext, qtbot: Any, fake: FakeLLMServer, cli: Cli, show: Any
) -> None:
    agents_page = AgentsPage(open_ctx)
    chat = ChatPage(open_ctx)
    canvas = AutomationsPage(open_ctx)
    show(agents_page, chat, canvas, height=900)
    for page in (agents_page, chat, canvas):
        page.activate(None)
    _agent(cli, fake, "scout")
    combo = chat.picker.agent_combo

    def names_in_chat() -> list[str]:
        return [combo.itemText(i) for i in range(combo.count())]

    qtbot.waitUntil(lambda: agents_page.agent_list.model().rowCount() == 1, timeout=10_000)
    qtbot.waitUntil(lambda: any("scout" in n for n in names_in_chat()), timeout=10_000)
    cli.run(
        "schedules", "add", "nightly", "--cron", "0 3 * * *", "--agent", "scout",
        "--prompt", "report",
    )  # fmt: skip
    qtbot.waitUntil(
        lambda: any(n.name == "nightly" for n in (canvas.data.graph.nodes if canvas.data else [])),
        timeout=10_000,
    )


def test_a_failed_run_fired_by_another_process_notifies_the_app(
    open_ctx: AppContext, qtbot: Any, fake: FakeLLMServer, cli: Cli
) -> None:
    service = NotificationService(
        open_ctx, tray_available=False, policy=NotifyPolicy(coalesce_ms=100, min_gap_ms=0)
    )
    open_ctx.bridge.sig_run_ended.connect(service.on_run_ended)
    shown: list[Notification] = []
    service.sig_notification_shown.connect(shown.append)
    _agent(cli, fake, "cron-bot")
    cli.run(
        "schedules", "add", "hourly", "--cron", "0 * * * *", "--agent", "cron-bot",
        "--prompt", "check",
    )  # fmt: skip
    fake.scenario = Scenario(status=500, error_message="upstream exploded")
    cli.run("schedules", "run", "hourly")  # returns once the failed run is in the log
    qtbot.waitUntil(lambda: bool(shown), timeout=10_000)
    [note] = shown
    assert note.kind == "failure" and "upstream exploded" in (note.body or "")


def test_a_cli_dispatch_killed_by_the_os_leaves_live_as_interrupted(
    open_ctx: AppContext, qtbot: Any, fake: FakeLLMServer, cli: Cli, show: Any
) -> None:
    _agent(cli, fake)
    page = _runs_page(open_ctx, show, "live")
    fake.scenario = Scenario(chunks=("partial ", "never"), stall_after=1)
    proc = cli.start("dispatch", "--agent", "remote", "stall")
    qtbot.waitUntil(lambda: page.live.model.rowCount() == 1, timeout=60_000)
    [run_id] = _live_rows(page)
    os.killpg(proc.pid, signal.SIGKILL)  # no goodbye: only its lease tells it is gone
    proc.wait(10)
    qtbot.waitUntil(lambda: page.live.model.rowCount() == 0, timeout=10_000)
    assert open_ctx.workspace.store.get_run(run_id).status == "interrupted"
