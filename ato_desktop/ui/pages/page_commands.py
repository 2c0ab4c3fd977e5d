"""Every page's commands, declared as data and bound late: each names its page and the page's
method that runs it, and the page is found (built on first use) only when the command runs.

So the palette, the menus, the `?` overlay and the shortcuts offer them from start-up without
importing a page module (building a page takes 0.2–1.4 s: pages are built on first use).
tests/ui/test_palette.py checks that every method named here exists on its page.

A page command ("page" scope) works only while its page shows: running it from elsewhere (the
palette) opens the page first. A window command of a page (Ctrl+E, the Insights ones) runs on
the page where the user is.
"""

from __future__ import annotations

from typing import Any

from ato_desktop.ui.commands import Command


def _page_command(
    page_id: str,
    section: str,
    cid: str,
    title: str,
    method: str,
    shortcut: str | None = None,
    description: str = "",
    *,
    args: tuple[Any, ...] = (),
    keywords: tuple[str, ...] = (),
    scoped: bool = False,
) -> Command:
    """A page's command, run by `method` on the page; scoped: its shortcut works only while
    the page shows."""
    where: dict[str, Any] = {"scope": "page", "page_id": page_id} if scoped else {}
    return Command(
        cid,
        title,
        section=section,
        shortcut=shortcut,
        description=description,
        keywords=keywords,
        target=page_id,
        method=method,
        args=args,
        **where,
    )


def _on_page(*spec: Any, **options: Any) -> Command:
    """A command whose shortcut works only while its page shows."""
    return _page_command(*spec, scoped=True, **options)


def _of_page(*spec: Any, **options: Any) -> Command:
    """A page's command that works anywhere in the window."""
    return _page_command(*spec, **options)


def _chat(
    cid: str, title: str, method: str, shortcut: str | None = None, text: str = ""
) -> Command:
    return _on_page("chat", "Chat", cid, title, method, shortcut, text)


def _agents(
    cid: str, title: str, method: str, shortcut: str | None = None, text: str = "", **kw: Any
) -> Command:
    return _on_page("agents", "Agents", cid, title, method, shortcut, text, **kw)


def _runs(
    cid: str, title: str, method: str, shortcut: str | None = None, text: str = "", **kw: Any
) -> Command:
    return _on_page("runs", "Runs", cid, title, method, shortcut, text, **kw)


def _insights(cid: str, title: str, target: dict[str, Any], text: str, **kw: Any) -> Command:
    return _of_page("insights", "Insights", cid, title, "open_at", None, text, args=(target,), **kw)


def _automations(cid: str, title: str, method: str, text: str, **kw: Any) -> Command:
    return _on_page("automations", "Automations", cid, title, method, None, text, **kw)


PAGE_COMMANDS: tuple[Command, ...] = (
    # -- Chat ----------------------------------------------------------------------------------
    _chat("chat.new_thread", "New thread", "new_thread", "Ctrl+N", "Start a new conversation"),
    _chat("chat.rename_thread", "Rename thread", "start_rename", "F2"),
    _chat(
        "chat.delete_thread",
        "Delete thread",
        "delete_thread",
        None,
        "Delete the current thread and its messages (asks first)",
    ),
    _chat(
        "chat.stop",
        "Stop answer",
        "stop",
        "Esc",
        "Stop the answer that is streaming; keeps what arrived",
    ),
    _chat("chat.focus_composer", "Write a message", "composer.focus", "Ctrl+L"),
    # -- Agents --------------------------------------------------------------------------------
    _agents("agents.new", "New agent", "start_create", "Ctrl+N"),
    _agents("agents.save", "Save agent", "save", "Ctrl+S", "Record a new config version"),
    _agents("agents.chat", "Chat with this agent", "chat_with_agent"),
    _agents("agents.history", "Show agent history", "show_history"),
    _agents(
        "agents.trends",
        "Show agent trends",
        "show_trends",
        None,
        "Runs, success rate, p95 latency, cost per call and eval score per day, with config "
        "changes marked",
    ),
    # -- Runs ----------------------------------------------------------------------------------
    _runs(
        "runs.telemetry",
        "Show telemetry",
        "show_telemetry",
        "T",
        "Open the Telemetry tab of the run (the selected run in the list)",
        keywords=("actions", "trace"),
    ),
    _runs(
        "runs.simulate",
        "Simulate replay",
        "simulate_run",
        "R",
        "Replay the run for free against its agent's current config (no network, $0)",
        keywords=("simulation", "zero cost", "divergence", "replay"),
    ),
    _runs(
        "runs.simulation",
        "Show simulation",
        "show_simulation",
        "S",
        "Open the Simulation tab of the run (the selected run in the list)",
        keywords=("zero cost", "divergence"),
    ),
    _runs(
        "runs.determinism",
        "Show determinism",
        "show_determinism",
        "D",
        "Open the Determinism tab: the run's score and findings",
        keywords=("reproducible", "score", "non-deterministic"),
    ),
    _runs(
        "runs.search",
        "Focus search",
        "focus_search",
        "/",
        "Search actions (run details) or agents (run list)",
    ),
    _runs(
        "runs.close_inspector",
        "Close inspector",
        "escape",
        "Esc",
        "Close the operation inspector; again to go back to the list",
    ),
    _of_page(
        "runs",
        "Runs",
        "runs.export",
        "Export runs…",
        "export_from_anywhere",
        "Ctrl+E",
        "Export the runs matching the Runs filters as CSV, JSON or JSONL",
        keywords=("csv", "json", "jsonl", "download"),
    ),
    _runs(
        "runs.ledger",
        "Show Activity Ledger",
        "show_ledger",
        "L",
        "Every action across runs, filtered and sorted (from a run: its actions)",
        keywords=("actions", "ledger", "all actions", "most expensive"),
    ),
    _runs(
        "runs.live",
        "Show live runs",
        "show_live",
        keywords=("in flight", "kill", "running"),
    ),
    _runs(
        "runs.replay",
        "Replay…",
        "replay.replay_current",
        "Shift+R",
        "Send the open run's request again on another runtime or agent, and compare; with "
        "several runs selected in the list, replay them all",
        keywords=("a/b", "compare", "runtime", "model", "batch"),
    ),
    _runs(
        "runs.replay_failures",
        "Replay failures of an agent…",
        "replay.replay_failures",
        None,
        "Replay an agent's failed runs since a config change on another target: how many recover?",
        keywords=("batch", "recovered", "regression"),
    ),
    _runs(
        "runs.compare_with",
        "Compare with…",
        "compare_with",
        None,
        "Compare the run with another run of its agent (Insights → Compare)",
        keywords=("diff", "compare"),
    ),
    # -- Insights ------------------------------------------------------------------------------
    _insights(
        "insights.run_eval_suite",
        "Run an eval suite…",
        {"tab": "evals", "run_suite": True},
        "Insights → Evals: run a JSONL eval suite against an agent or model",
        keywords=("eval", "suite", "test", "score", "judge"),
    ),
    _insights(
        "insights.regressions",
        "Show regressions",
        {"tab": "regressions"},
        "Insights → Regressions: config changes that made an agent worse",
        keywords=("regression", "config", "change", "worse", "alert"),
    ),
    _insights(
        "insights.regression_thresholds",
        "Regression thresholds…",
        {"tab": "regressions", "thresholds": True},
        "What counts as a regression: success rate, p95 latency, cost, eval score, minimum "
        "runs, significance",
        keywords=("threshold", "settings", "regression", "alpha"),
    ),
    _insights(
        "insights.cost",
        "Show cost recommendations",
        {"tab": "cost"},
        "Insights → Cost: cheaper runtimes/models that the evidence supports",
        keywords=("cost", "cheaper", "savings", "recommendation", "model", "budget"),
    ),
    _insights(
        "insights.gather_evidence",
        "Gather cost evidence…",
        {"tab": "cost", "gather": ""},
        "Replay a sample of an agent's runs on a candidate runtime and model, estimated cost first",
        keywords=("cost", "evidence", "replay", "candidate", "cheaper"),
    ),
    _of_page(
        "insights",
        "Insights",
        "insights.compare_runs",
        "Compare two runs…",
        "open_compare",
        None,
        "Insights → Compare: two runs of an agent, action by action",
        args=("runs",),
        keywords=("diff", "compare", "runs"),
    ),
    _of_page(
        "insights",
        "Insights",
        "insights.compare_versions",
        "Compare before/after a config change…",
        "open_compare",
        None,
        "Insights → Compare: the runs of a config version against the version before it",
        args=("version",),
        keywords=("regression", "version", "config", "compare"),
    ),
    # -- Automations ---------------------------------------------------------------------------
    _automations(
        "automations.fit",
        "Fit the canvas to the view",
        "view.fit",
        "Automations: everything in view",
        keywords=("zoom", "canvas", "fit"),
    ),
    _automations(
        "automations.find",
        "Find a node on the canvas",
        "focus_search",
        "Automations: focus a schedule, hook, group, skill flow or agent",
        keywords=("search", "canvas", "node"),
    ),
)


def commands_of_page(page_id: str) -> tuple[Command, ...]:
    """The commands that run on this page, in their declared order."""
    return tuple(c for c in PAGE_COMMANDS if c.target == page_id)
