"""Screenshots of every main view with the demo workspace, in light and dark (`make screenshots`).

Runs under a virtual display (the Makefile wraps it in xvfb-run). The parent builds a demo
workspace in a temporary data directory (fixed seed and clock, so the pictures are stable),
then runs one child per theme and window size that opens the real main window, walks the views
and saves docs/screenshots/<theme>-<view>.png at 1440x900 and
docs/screenshots/1280x820/<theme>-<view>.png at the default window size. One live run streams
from a loopback fake server so the Live view and run details have something in flight.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
OUT = REPO / "docs" / "screenshots"
DEMO_NOW_MS = 1_795_300_000_000  # a fixed "now" (2026-11-21): the same pictures every time
# Window sizes and where their pictures go: the README's, and the app's default size.
SIZES: dict[str, tuple[int, int]] = {"1440x900": (1440, 900), "1280x820": (1280, 820)}
SIZE_DIRS = {"1440x900": OUT, "1280x820": OUT / "1280x820"}


def build_workspace(home: Path, fake_port: int) -> None:
    from ato_desktop.core.mcp_config import McpServerConfig
    from ato_desktop.core.models import AgentConfig
    from ato_desktop.engine.demo import build_demo_workspace
    from ato_desktop.engine.workspace import Workspace
    from ato_desktop.store.mcp_servers import add_server
    from ato_desktop.store.paths import DataPaths
    from tests.fakes.mcp_server import stdio_command

    workspace = Workspace.open(DataPaths(home))
    try:
        build_demo_workspace(
            workspace.store, workspace.prices, runs=2000, seed=7, now_ms=DEMO_NOW_MS
        )
        # Tools: a local MCP server, and an agent whose note writing waits for approval.
        command, args, env = stdio_command("--notes", str(home / "notes.txt"))
        add_server(
            workspace.store,
            McpServerConfig("shop", "stdio", command=command, args=args, env=env, timeout_s=10),
        ).result()
        workspace.agents.create(
            "note-taker",
            AgentConfig(
                "openai-compatible",
                "llama3.1:8b",
                system_prompt="Keep the user's notes. Look orders up before answering.",
                base_url=f"http://127.0.0.1:{fake_port}/v1",
                mcp_servers=("shop",),
                tool_rules={"shop/write_note": "approve", "shop/lookup_order": "allow"},
                max_tool_calls=8,
            ),
            source="screenshots",
        )
    finally:
        workspace.close()


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def child(home: Path, empty_home: Path, theme: str, size: str = "1440x900") -> None:
    import qasync
    from PySide6.QtCore import QPoint
    from PySide6.QtWidgets import QApplication, QScrollArea

    from ato_desktop.core.records import RunFilter
    from ato_desktop.engine.dispatcher import DispatchRequest
    from ato_desktop.store.paths import DataPaths
    from ato_desktop.ui.commands import CommandRegistry
    from ato_desktop.ui.context import AppContext
    from ato_desktop.ui.main_window import MainWindow, app_icon
    from ato_desktop.ui.theme import ThemeManager
    from tests.fakes import FakeLLMServer, FakeToolCall, Scenario

    app = QApplication([sys.argv[0]])
    app.setWindowIcon(app_icon())
    loop = qasync.QEventLoop(app)
    asyncio.set_event_loop(loop)
    loop.set_default_executor(ThreadPoolExecutor(max_workers=4))
    manager = ThemeManager(app)

    async def shoot(window: MainWindow, name: str, settle: float = 1.2) -> None:
        await asyncio.sleep(settle)
        folder = SIZE_DIRS[size]
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"{theme}-{name}.png"
        # The screen, not the widget: dialogs over the window belong in the picture.
        geometry = window.frameGeometry()
        screen = app.primaryScreen().grabWindow(
            0, geometry.x(), geometry.y(), geometry.width(), geometry.height()
        )
        screen.save(str(path))
        print(f"saved {path.relative_to(REPO)}", flush=True)

    async def eval_runs(ctx: AppContext) -> str:
        """A small suite run twice on a local model (the fake), answers changing in between,
        so the report has a diff; the second run's id."""
        from ato_desktop.engine.evals import EvalTarget, run_suite
        from ato_desktop.engine.evals import load_suite as read_suite

        cases = [
            ("refund-window", "How long is the refund window?", "30 days"),
            ("capital", "Capital of France? One word.", "Paris"),
            ("plan-limit", "How many seats does the Team plan include?", "10 seats"),
            ("sso", "Which plans include SSO?", "Enterprise"),
            ("export", "Can I export my data as CSV?", "CSV"),
            ("status-page", "Where is the status page?", "status.example.com"),
        ]
        first = ("30 days", "Paris", "Up to 5 seats", "Enterprise plans", "Yes, CSV", "N/A")
        second = (
            "30 days",
            "Lyon",
            "10 seats",
            "Enterprise plans",
            "Yes, CSV",
            "status.example.com",
        )
        header = {
            "suite": {
                "name": "support-basics",
                "scorers": [{"type": "contains", "ignore_case": True}],
            }
        }
        lines = [header] + [{"id": i, "input": q, "expected": e} for i, q, e in cases]
        path = Path(tempfile.mkdtemp(prefix="ato-shots-evals-")) / "support-basics.jsonl"
        path.write_text("\n".join(json.dumps(line) for line in lines) + "\n", encoding="utf-8")
        suite, text = read_suite(path)
        report_id = ""
        with FakeLLMServer() as fake:
            os.environ["OPENAI_COMPATIBLE_API_KEY"] = "screenshot-placeholder"
            target = EvalTarget(
                runtime="openai-compatible", model="llama3.1:8b", base_url=fake.openai_base_url
            )
            for answers in (first, second):
                fake.enqueue(*(Scenario(chunks=(answer,)) for answer in answers))
                report = await run_suite(
                    ctx.workspace, suite, target, source_text=text, concurrency=1
                )
                report_id = report.suite_run_id
        return report_id

    async def open_window(data_home: Path) -> tuple[AppContext, MainWindow]:
        ctx = AppContext(CommandRegistry(app), manager, DataPaths(data_home))
        window = MainWindow(ctx)
        window.resize(*SIZES[size])
        window.show()
        await ctx.open_workspace()
        return ctx, window

    async def run() -> None:
        # First run: the welcome page of an empty log.
        ctx, window = await open_window(empty_home)
        await shoot(window, "welcome")
        await ctx.shutdown()
        window.hide()  # close() would quit the app, as it does for the user
        window.deleteLater()

        ctx, window = await open_window(home)
        store = ctx.workspace.store
        ctx.navigate("runs", {"tab": "history"})
        await shoot(window, "runs")

        failed = store.list_runs(RunFilter(statuses=("failed",)), limit=20)
        target = max(failed, key=lambda r: r.action_count)
        ctx.navigate("runs", {"run_id": target.id, "seq": 1})
        await shoot(window, "run-details")

        threads = store.list_threads()
        ctx.navigate("chat", {"thread_id": threads[0].id})
        await shoot(window, "chat")

        ctx.navigate("agents", {"agent_id": "support-triage"})
        await shoot(window, "agents")
        window.page("agents").show_tab(1)  # the config history with diffs
        await shoot(window, "agent-history")
        window.page("agents").show_tab(2)  # trends per day, config changes marked
        await shoot(window, "agent-trends", settle=2.5)

        ctx.navigate("settings")
        await shoot(window, "settings")
        ctx.navigate("settings", {"section": "mcp"})
        await shoot(window, "settings-mcp")
        ctx.navigate("settings", {"section": "sync"})
        await shoot(window, "settings-sync")

        ctx.navigate("agents", {"agent_id": "note-taker"})
        await asyncio.sleep(1.0)
        agents = window.page("agents")
        agents.show_tab(0)  # the form (the history tab was shown above)
        await asyncio.sleep(0.3)
        scroll = agents.findChild(QScrollArea, "EditorScroll")
        if scroll is not None:  # bring the Tools part of the form to the top
            heading = agents.editor.tools_heading
            top = heading.mapTo(scroll.widget(), QPoint(0, 0)).y()
            scroll.verticalScrollBar().setValue(max(0, top - 12))
        await shoot(window, "agent-tools")

        # A tool call waiting for approval in Chat: the loopback fake asks for write_note.
        port = int(os.environ["ATO_SHOT_FAKE_PORT"])
        with FakeLLMServer(port=port) as fake:
            os.environ["OPENAI_COMPATIBLE_API_KEY"] = "screenshot-placeholder"
            fake.enqueue(
                Scenario(
                    chunks=("Let me save that.",),
                    tool_calls=(
                        FakeToolCall(
                            "shop__write_note", {"text": "Call Priya about INV-20931 on Monday"}
                        ),
                    ),
                ),
                Scenario(chunks=("Saved. I'll remind you on Monday.",)),
            )
            agent = ctx.workspace.store.get_agent("note-taker")
            ctx.navigate("chat", {"agent_id": agent.id})
            chat = window.page("chat")
            await asyncio.sleep(0.8)
            chat.send("Note: call Priya about INV-20931 on Monday.")
            for _ in range(1200):
                if chat.pending_approval_cards():
                    break
                await asyncio.sleep(0.05)
            await shoot(window, "chat-approval", settle=0.8)
            for card in chat.pending_approval_cards():
                card.approve_button.click()
            for _ in range(1200):
                if not chat.streaming:
                    break
                await asyncio.sleep(0.05)

        # Live: a dispatch streaming slowly from a loopback fake (no network, no key needed).
        with FakeLLMServer() as fake:
            fake.scenario = Scenario(chunks=tuple(f"word{i} " for i in range(400)), delay_s=0.05)
            os.environ["OPENAI_COMPATIBLE_API_KEY"] = "screenshot-placeholder"
            request = DispatchRequest(
                "Summarise last week's incidents.",
                runtime="openai-compatible",
                model="llama3.1:8b",
                base_url=fake.openai_base_url,
            )
            task = asyncio.ensure_future(ctx.workspace.dispatcher.dispatch(request))
            # And a run of an agent with a history (its usual duration), in its details.
            import dataclasses

            summarizer = store.get_agent("local-summarizer")
            in_flight = asyncio.ensure_future(
                ctx.workspace.dispatcher.dispatch(
                    DispatchRequest(
                        "Summarise notes/incident-eu-502.md",
                        agent="local-summarizer",
                        config=dataclasses.replace(
                            summarizer.config, base_url=fake.openai_base_url
                        ),
                    )
                )
            )
            ctx.navigate("runs", {"tab": "live"})
            await shoot(window, "runs-live", settle=2.5)
            for _ in range(100):
                live = [r for r in ctx.workspace.live.run_ids if r]
                if len(live) == 2:
                    break
                await asyncio.sleep(0.05)
            summarizer_runs = store.list_runs(
                RunFilter(agent_id=summarizer.id, statuses=("running",)), limit=1
            )
            if summarizer_runs:
                ctx.navigate("runs", {"run_id": summarizer_runs[0].id})
                await shoot(window, "run-in-flight", settle=3.0)
            ctx.workspace.live.kill_all()
            await task
            await in_flight

        # Run details: simulation (r) of the note-taker's run above (recorded by the dispatcher,
        # with its tool call), and determinism (d) of the failed demo run.
        runs_page = window.page("runs")
        noted = store.list_runs(
            RunFilter(agent_id=store.get_agent("note-taker").id, statuses=("completed",)), limit=1
        )
        if noted:
            ctx.navigate("runs", {"run_id": noted[0].id})
            await asyncio.sleep(1.0)
            runs_page.simulate_run()
            await shoot(window, "run-simulation", settle=3.0)
            # Its approved tool call in the inspector, with the compliance section open.
            tool = next((a for a in store.get_actions(noted[0].id) if a.kind == "tool"), None)
            if tool is not None:
                ctx.navigate("runs", {"run_id": noted[0].id, "seq": tool.seq})
                await asyncio.sleep(1.5)
                inspector = runs_page.details.telemetry.inspector
                inspector.compliance_toggle.setChecked(True)
                await asyncio.sleep(0.5)
                bar = inspector.details_scroll.verticalScrollBar()
                bar.setValue(bar.maximum())  # the compliance section in view
                await shoot(window, "run-compliance", settle=1.0)
        ctx.navigate("runs", {"run_id": target.id})
        await asyncio.sleep(1.0)
        runs_page.show_run_tab("determinism")
        await shoot(window, "run-determinism", settle=2.5)
        runs_page.show_run_tab("telemetry")

        # Replay: the plan of this Claude run on Codex, its estimate first.
        dialog = runs_page.replay.open_replay(target.id)
        await shoot(window, "replay", settle=2.5)
        if dialog is not None:
            dialog.reject()

        # Insights: the planted regression, a compare of two of its runs, cost, evals.
        triage = store.get_agent("support-triage")
        ctx.navigate("insights", {"tab": "regressions", "agent_id": triage.id, "version": 3})
        await shoot(window, "insights-regressions", settle=2.5)
        pair = store.list_runs(RunFilter(agent_id=triage.id, statuses=("failed",)), limit=1)
        done = store.list_runs(RunFilter(agent_id=triage.id, statuses=("completed",)), limit=1)
        if pair and done:
            ctx.navigate("insights", {"tab": "compare", "run_a": done[0].id, "run_b": pair[0].id})
            await shoot(window, "insights-compare", settle=2.5)
        ctx.navigate("insights", {"tab": "cost"})
        await shoot(window, "insights-cost", settle=2.0)
        report_id = await eval_runs(ctx)
        ctx.navigate("insights", {"tab": "evals", "suite_run_id": report_id})
        await shoot(window, "insights-evals", settle=2.5)

        # --- Automations (added by the automations helper; one block) -------------------------
        async def plant_automations(ctx: AppContext) -> None:
            """A 3-stage pipeline over demo agents, a routed group, a schedule, a hook and a
            skill flow, and a few runs of the pipeline (ingested: no live runtime here)."""

            from ato_desktop.core.automations import (
                AutomationKind,
                GroupMode,
                GroupSpec,
                HookEvent,
                HookSpec,
                RouteRule,
                ScheduleSpec,
                Stage,
                TargetKind,
            )
            from ato_desktop.core.models import CostSource, TokenUsage
            from ato_desktop.core.records import NewAction, NewRun, RunEnd
            from ato_desktop.store import automations as automation_store
            from ato_desktop.store.execution_log import now_ms

            def plant() -> None:
                service = ctx.workspace.automations.definitions
                # save: the light and the dark run share the workspace (the second re-saves).
                pipeline, _changed = service.save(
                    AutomationKind.GROUP,
                    "release-review",
                    GroupSpec(
                        GroupMode.SEQUENTIAL,
                        stages=(
                            Stage("analyse", "data-analyst", "Summarise the changes: {input}"),
                            Stage("review", "code-reviewer", "Review: {previous}"),
                            Stage("notes", "release-notes", "Release notes from: {previous}"),
                        ),
                    ),
                )
                service.save(
                    AutomationKind.GROUP,
                    "inbox-router",
                    GroupSpec(
                        GroupMode.ROUTED,
                        members=("support-triage", "code-reviewer"),
                        rules=(RouteRule("code-reviewer", "pull request"),),
                        default_member="support-triage",
                    ),
                )
                service.save(
                    AutomationKind.SCHEDULE,
                    "nightly-release",
                    ScheduleSpec(
                        "0 2 * * 1-5", "UTC", TargetKind.GROUP, "release-review", "Tonight"
                    ),
                )
                service.save(
                    AutomationKind.HOOK,
                    "triage-escalation",
                    HookSpec(HookEvent.FAILED, "support-triage", TargetKind.AGENT, "data-analyst"),
                )
                skill = Path(tempfile.mkdtemp()) / "weekly-digest.md"
                skill.write_text(
                    "# Weekly digest\n\n## Step: gather\nCollect the week's runs.\n\n"
                    "## Step: summarise\nAgent: local-summarizer\nSummarise them.\n",
                    encoding="utf-8",
                )
                if not any(r.record.name == "weekly-digest" for r in service.rows()):
                    service.add_skill("weekly-digest", str(skill), "data-analyst")
                store = ctx.workspace.store
                if automation_store.list_pipeline_runs(store, pipeline_id=pipeline.id, limit=1):
                    return
                items = []
                base = now_ms() - 3_600_000
                agents = {
                    name: store.get_agent(name)
                    for name in ("data-analyst", "code-reviewer", "release-notes")
                }
                for i, failed_at in enumerate((None, 2, None, 1)):  # newest: stage 3 never ran
                    start = base + i * 600_000
                    parent = f"{start:012x}" + "a1" * 10
                    stages = []
                    t = start + 50
                    for index, (stage, agent) in enumerate(
                        (
                            ("analyse", "data-analyst"),
                            ("review", "code-reviewer"),
                            ("notes", "release-notes"),
                        )
                    ):
                        if failed_at is not None and index > failed_at:
                            break
                        took = 2_000 + 900 * index + 300 * i
                        bad = failed_at == index
                        files = (
                            [{"path": "CHANGELOG.md", "change": "edited"}]
                            if stage == "notes"
                            else []
                        )
                        action = NewAction(
                            "call_llm",
                            "llm",
                            "error" if bad else "success",
                            t,
                            t + took,
                            usage=TokenUsage(1_400 + 350 * index, 0 if bad else 420 + 60 * i),
                            duration_ns=took * 1_000_000,
                            cost_usd=None if bad else 0.0042 + 0.0031 * index + 0.0004 * i,
                            cost_source=None if bad else CostSource.ESTIMATED,
                            meta={"files_touched": files} if files else None,
                        )
                        stages.append(
                            (
                                NewRun(
                                    "claude",
                                    agents[agent].config.model,
                                    "pipeline",
                                    t,
                                    agent_id=agents[agent].id,
                                    parent_run_id=parent,
                                    pipeline_id=pipeline.id,
                                    stage_index=index,
                                    stage_name=stage,
                                    id=f"{t:012x}" + f"{index:02d}" * 10,
                                    tags={"pipeline": "release-review"},
                                    is_demo=True,
                                ),
                                RunEnd(
                                    "failed" if bad else "completed",
                                    t + took,
                                    took * 1_000_000,
                                    error_class="timeout" if bad else None,
                                    error_message="took longer than 90 s" if bad else None,
                                ),
                                [action],
                            )
                        )
                        t += took + 40
                    status = "failed" if failed_at is not None else "completed"
                    items.append(
                        (
                            NewRun(
                                "pipeline",
                                "release-review",
                                "cron" if i % 2 else "cli",
                                start,
                                pipeline_id=pipeline.id,
                                id=parent,
                                tags={
                                    "pipeline.kind": "group",
                                    "pipeline.version": str(pipeline.version),
                                },
                                is_demo=True,
                            ),
                            RunEnd(status, t, (t - start) * 1_000_000),
                            [],
                        )
                    )
                    items.extend(stages)
                # A hook chain: a failed triage run, then the hook's chain asking the analyst.
                hook = service.get(AutomationKind.HOOK, "triage-escalation")
                triage, analyst = store.get_agent("support-triage"), agents["data-analyst"]
                t = base - 1_200_000
                source, chain, stage = (f"{t:012x}" + c * 20 for c in "bcd")
                items += [
                    (
                        NewRun(
                            "claude", triage.config.model, "ui", t, agent_id=triage.id,
                            id=source, is_demo=True,
                        ),
                        RunEnd("failed", t + 1_800, 1_800_000_000, error_class="rate_limit",
                               error_message="429 from the provider after 3 retries"),
                        [NewAction("call_llm", "llm", "error", t, t + 1_800)],
                    ),
                    (
                        NewRun(
                            "pipeline", hook.name, "hook", t + 1_900, parent_run_id=source,
                            pipeline_id=hook.id, id=chain, is_demo=True,
                            tags={"pipeline.kind": "hook", "hook": hook.name,
                                  "hook.source_run": source},
                        ),
                        RunEnd("completed", t + 5_200, 3_300_000_000),
                        [],
                    ),
                    (
                        NewRun(
                            "claude", analyst.config.model, "hook", t + 1_950,
                            agent_id=analyst.id, parent_run_id=chain, pipeline_id=hook.id,
                            stage_index=0, stage_name=hook.name, id=stage, is_demo=True,
                            tags={"hook": hook.name, "hook.depth": "1", "hook.source_run": source,
                                  "hook.chain": chain},
                        ),
                        RunEnd("completed", t + 5_100, 3_150_000_000),
                        [
                            NewAction(
                                "call_llm", "llm", "success", t + 1_950, t + 5_100,
                                usage=TokenUsage(2_100, 380),
                                cost_usd=0.0119, cost_source=CostSource.ESTIMATED,
                            )
                        ],
                    ),
                ]  # fmt: skip
                store.ingest(items).result()

            await asyncio.to_thread(plant)

        await plant_automations(ctx)
        ctx.navigate("automations", {"node": "release-review"})
        await shoot(window, "automations", settle=2.0)
        ctx.navigate("insights", {"tab": "pipelines"})
        await shoot(window, "insights-pipelines", settle=2.0)
        # --- end of the automations block ------------------------------------------------------

        window.show_shortcuts()
        await shoot(window, "shortcuts", settle=0.6)
        await ctx.shutdown()
        app.quit()

    with loop:
        loop.run_until_complete(run())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--child", nargs=4, metavar=("HOME", "EMPTY_HOME", "THEME", "SIZE"))
    parser.add_argument(
        "--sizes", default=",".join(SIZES), help="window sizes to shoot (default: all)"
    )
    parser.add_argument("--themes", default="light,dark", help="themes to shoot")
    args = parser.parse_args()
    if args.child:
        home, empty, theme, size = args.child
        child(Path(home), Path(empty), theme, size)
        return
    OUT.mkdir(parents=True, exist_ok=True)
    sys.path.insert(0, str(REPO))  # the test fakes (MCP server, LLM server) live in tests/
    with tempfile.TemporaryDirectory(prefix="ato-shots-") as tmp:
        home, empty = Path(tmp) / "demo", Path(tmp) / "empty"
        env = {**os.environ, "ATO_OFFLINE": "1", "PYTHONPATH": str(REPO)}
        os.environ.update(ATO_OFFLINE="1")
        port = free_port()
        env["ATO_SHOT_FAKE_PORT"] = str(port)
        build_workspace(home, port)
        if os.environ.get("ATO_THROWAWAY_SECRET_SERVICE") == "1":
            # Only in the throwaway keyring of scripts/with-secret-service.sh: a placeholder key
            # so Settings shows a stored key the way a user sees theirs (never its value).
            from ato_desktop.engine.credentials import CredentialStore

            CredentialStore().set_key("anthropic", "sk-ant-screenshot-placeholder-000000000000")
        for size in args.sizes.split(","):
            for theme in args.themes.split(","):
                subprocess.run(
                    [sys.executable, __file__, "--child", str(home), str(empty), theme, size],
                    env={**env, "ATO_THEME": theme, "ATO_HOME": str(home)},
                    check=True,
                )


if __name__ == "__main__":
    main()
