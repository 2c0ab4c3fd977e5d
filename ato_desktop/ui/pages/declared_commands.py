"""Every page's commands as data, so the palette, menus and the shortcuts list offer them from
start-up, before the page is built (building one takes 0.2–1.4 s, so pages are built on first use).

The entries are the pages' own `commands()` without their callbacks. They are not a second list
to keep by hand: tests/ui/test_palette.py builds every page and checks that these equal what the
pages register; `ATO_WRITE_DECLARED_COMMANDS=1 pytest tests/ui/test_palette.py -k declared`
rewrites this table from the pages (then `ruff format` this file).

The main window registers each as a stand-in whose callback opens the page (building it, which
registers the real command under the same id, replacing the stand-in) and then runs the real one.
"""

# The table at the end is generated: its descriptions stay on one line each.
# ruff: noqa: E501

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import astuple, dataclass

from ato_desktop.ui.commands import Command


@dataclass(frozen=True)
class CommandDecl:
    """A command without its callback: what is needed to list it and bind its shortcut."""

    id: str
    title: str
    section: str
    shortcut: str | None
    description: str
    scope: str
    page_id: str | None
    keywords: tuple[str, ...]

    @staticmethod
    def of(command: Command) -> CommandDecl:
        return CommandDecl(
            command.id,
            command.title,
            command.section,
            command.shortcut,
            command.description,
            command.scope,
            command.page_id,
            tuple(command.keywords),
        )

    def command(self, callback: Callable[[], object]) -> Command:
        return Command(
            self.id,
            self.title,
            callback,
            section=self.section,
            shortcut=self.shortcut,
            description=self.description,
            scope=self.scope,
            page_id=self.page_id,
            keywords=self.keywords,
        )


def render(declared: dict[str, Iterable[CommandDecl]]) -> str:
    """The PAGE_COMMANDS table as Python source (to rewrite the end of this file)."""
    lines = ["PAGE_COMMANDS: dict[str, tuple[CommandDecl, ...]] = {"]
    for page_id, decls in declared.items():
        lines.append(f"    {page_id!r}: (")
        lines.extend(f"        CommandDecl{astuple(decl)!r}," for decl in decls)
        lines.append("    ),")
    lines.append("}")
    return "\n".join(lines) + "\n"


TABLE_MARKER = "# -- generated from the pages' commands() (see the module docstring) --"

# -- generated from the pages' commands() (see the module docstring) --
PAGE_COMMANDS: dict[str, tuple[CommandDecl, ...]] = {
    "chat": (
        CommandDecl(
            "chat.new_thread",
            "New thread",
            "Chat",
            "Ctrl+N",
            "Start a new conversation",
            "page",
            "chat",
            (),
        ),
        CommandDecl("chat.rename_thread", "Rename thread", "Chat", "F2", "", "page", "chat", ()),
        CommandDecl(
            "chat.delete_thread",
            "Delete thread",
            "Chat",
            None,
            "Delete the current thread and its messages (asks first)",
            "page",
            "chat",
            (),
        ),
        CommandDecl(
            "chat.stop",
            "Stop answer",
            "Chat",
            "Esc",
            "Stop the answer that is streaming; keeps what arrived",
            "page",
            "chat",
            (),
        ),
        CommandDecl(
            "chat.focus_composer", "Write a message", "Chat", "Ctrl+L", "", "page", "chat", ()
        ),
    ),
    "agents": (
        CommandDecl("agents.new", "New agent", "Agents", "Ctrl+N", "", "page", "agents", ()),
        CommandDecl(
            "agents.save",
            "Save agent",
            "Agents",
            "Ctrl+S",
            "Record a new config version",
            "page",
            "agents",
            (),
        ),
        CommandDecl(
            "agents.chat", "Chat with this agent", "Agents", None, "", "page", "agents", ()
        ),
        CommandDecl(
            "agents.history", "Show agent history", "Agents", None, "", "page", "agents", ()
        ),
        CommandDecl(
            "agents.trends",
            "Show agent trends",
            "Agents",
            None,
            "Runs, success rate, p95 latency, cost per call and eval score per day, with config changes marked",
            "page",
            "agents",
            (),
        ),
    ),
    "runs": (
        CommandDecl(
            "runs.telemetry",
            "Show telemetry",
            "Runs",
            "T",
            "Open the Telemetry tab of the run (the selected run in the list)",
            "page",
            "runs",
            ("actions", "trace"),
        ),
        CommandDecl(
            "runs.simulate",
            "Simulate replay",
            "Runs",
            "R",
            "Replay the run for free against its agent's current config (no network, $0)",
            "page",
            "runs",
            ("simulation", "zero cost", "divergence", "replay"),
        ),
        CommandDecl(
            "runs.simulation",
            "Show simulation",
            "Runs",
            "S",
            "Open the Simulation tab of the run (the selected run in the list)",
            "page",
            "runs",
            ("zero cost", "divergence"),
        ),
        CommandDecl(
            "runs.determinism",
            "Show determinism",
            "Runs",
            "D",
            "Open the Determinism tab: the run's score and findings",
            "page",
            "runs",
            ("reproducible", "score", "non-deterministic"),
        ),
        CommandDecl(
            "runs.search",
            "Focus search",
            "Runs",
            "/",
            "Search actions (run details) or agents (run list)",
            "page",
            "runs",
            (),
        ),
        CommandDecl(
            "runs.close_inspector",
            "Close inspector",
            "Runs",
            "Esc",
            "Close the operation inspector; again to go back to the list",
            "page",
            "runs",
            (),
        ),
        CommandDecl(
            "runs.export",
            "Export runs…",
            "Runs",
            "Ctrl+E",
            "Export the runs matching the Runs filters as CSV, JSON or JSONL",
            "window",
            None,
            ("csv", "json", "jsonl", "download"),
        ),
        CommandDecl(
            "runs.ledger",
            "Show Activity Ledger",
            "Runs",
            "L",
            "Every action across runs, filtered and sorted (from a run: its actions)",
            "page",
            "runs",
            ("actions", "ledger", "all actions", "most expensive"),
        ),
        CommandDecl(
            "runs.live",
            "Show live runs",
            "Runs",
            None,
            "",
            "page",
            "runs",
            ("in flight", "kill", "running"),
        ),
        CommandDecl(
            "runs.replay",
            "Replay…",
            "Runs",
            "Shift+R",
            "Send the open run's request again on another runtime or agent, and compare; with several runs selected in the list, replay them all",
            "page",
            "runs",
            ("a/b", "compare", "runtime", "model", "batch"),
        ),
        CommandDecl(
            "runs.replay_failures",
            "Replay failures of an agent…",
            "Runs",
            None,
            "Replay an agent's failed runs since a config change on another target: how many recover?",
            "page",
            "runs",
            ("batch", "recovered", "regression"),
        ),
        CommandDecl(
            "runs.compare_with",
            "Compare with…",
            "Runs",
            None,
            "Compare the run with another run of its agent (Insights → Compare)",
            "page",
            "runs",
            ("diff", "compare"),
        ),
    ),
    "insights": (
        CommandDecl(
            "insights.run_eval_suite",
            "Run an eval suite…",
            "Insights",
            None,
            "Insights → Evals: run a JSONL eval suite against an agent or model",
            "window",
            None,
            ("eval", "suite", "test", "score", "judge"),
        ),
        CommandDecl(
            "insights.regressions",
            "Show regressions",
            "Insights",
            None,
            "Insights → Regressions: config changes that made an agent worse",
            "window",
            None,
            ("regression", "config", "change", "worse", "alert"),
        ),
        CommandDecl(
            "insights.regression_thresholds",
            "Regression thresholds…",
            "Insights",
            None,
            "What counts as a regression: success rate, p95 latency, cost, eval score, minimum runs, significance",
            "window",
            None,
            ("threshold", "settings", "regression", "alpha"),
        ),
        CommandDecl(
            "insights.cost",
            "Show cost recommendations",
            "Insights",
            None,
            "Insights → Cost: cheaper runtimes/models that the evidence supports",
            "window",
            None,
            ("cost", "cheaper", "savings", "recommendation", "model", "budget"),
        ),
        CommandDecl(
            "insights.gather_evidence",
            "Gather cost evidence…",
            "Insights",
            None,
            "Replay a sample of an agent's runs on a candidate runtime and model, estimated cost first",
            "window",
            None,
            ("cost", "evidence", "replay", "candidate", "cheaper"),
        ),
        CommandDecl(
            "insights.compare_runs",
            "Compare two runs…",
            "Insights",
            None,
            "Insights → Compare: two runs of an agent, action by action",
            "window",
            None,
            ("diff", "compare", "runs"),
        ),
        CommandDecl(
            "insights.compare_versions",
            "Compare before/after a config change…",
            "Insights",
            None,
            "Insights → Compare: the runs of a config version against the version before it",
            "window",
            None,
            ("regression", "version", "config", "compare"),
        ),
    ),
    "automations": (
        CommandDecl(
            "automations.fit",
            "Fit the canvas to the view",
            "Automations",
            None,
            "Automations: everything in view",
            "page",
            "automations",
            ("zoom", "canvas", "fit"),
        ),
        CommandDecl(
            "automations.find",
            "Find a node on the canvas",
            "Automations",
            None,
            "Automations: focus a schedule, hook, group, skill flow or agent",
            "page",
            "automations",
            ("search", "canvas", "node"),
        ),
    ),
}
