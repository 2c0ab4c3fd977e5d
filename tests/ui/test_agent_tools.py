"""The agent editor's tools, coding-agent runtimes and their history: servers, Load tools from
the real MCP test server over stdio, rules and read-only marks saved as a new config version."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QComboBox

from ato_desktop.core.mcp_config import McpServerConfig
from ato_desktop.core.models import AgentConfig
from ato_desktop.core.records import AgentRecord
from ato_desktop.core.tools import McpTool
from ato_desktop.store.mcp_servers import add_server
from ato_desktop.ui.agents.config_history import describe_changes
from ato_desktop.ui.agents.tool_rules import COL_READ_ONLY, COL_RULE, ToolRulesModel
from ato_desktop.ui.context import AppContext
from ato_desktop.ui.pages.agents_page import AgentsPage
from tests.fakes.mcp_server import stdio_command
from tests.support.qt_helpers import show_page

TOOLS = [
    McpTool("shop", "add", "Add two numbers.", read_only=True),
    McpTool("shop", "lookup_order", "Look up an order.", read_only=True),
    McpTool("shop", "write_note", "Append a line.", read_only=False),
    McpTool("shop", "fail", "Always fails."),
]


@pytest.fixture
def page(open_ctx: AppContext, qtbot: Any) -> AgentsPage:
    return show_page(qtbot, AgentsPage(open_ctx))


def _register_shop(ctx: AppContext, notes: Path) -> None:
    command, args, env = stdio_command("--notes", str(notes))
    add_server(
        ctx.workspace.store,
        McpServerConfig("shop", "stdio", command=command, args=args, env=env, timeout_s=30),
    ).result()


def _create(ctx: AppContext, name: str = "clerk", **config: Any) -> AgentRecord:
    values = {"runtime": "claude", "model": "claude-sonnet-5", **config}
    return ctx.workspace.agents.create(name, AgentConfig(**values), source="test")


def _open(page: AgentsPage, qtbot: Any, agent: AgentRecord) -> None:
    page.select_agent(agent.id)
    qtbot.waitUntil(lambda: page.agent is not None and page.agent.id == agent.id, timeout=5_000)


def _rows(model: ToolRulesModel) -> dict[str, tuple[str, bool]]:
    return {row.key: (model.rule_of(row)[0], model.read_only_of(row)[0]) for row in model.rows()}


def _save(page: AgentsPage, qtbot: Any) -> None:
    qtbot.mouseClick(page.editor.save_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(page.editor.save_button.isEnabled, timeout=5_000)


def test_an_agent_uses_a_server_with_rules_saved_as_a_new_version(
    page: AgentsPage, qtbot: Any, tmp_path: Path
) -> None:
    ctx = page.ctx
    _register_shop(ctx, tmp_path / "notes.txt")
    agent = _create(ctx)
    _open(page, qtbot, agent)
    tools = page.editor.tools
    qtbot.waitUntil(lambda: tools.servers.count() == 1, timeout=5_000)
    assert tools.servers.isVisible() and not tools.no_servers.isVisible()
    assert not tools.load_button.isEnabled()  # nothing checked yet
    assert not tools.table.isVisible()

    tools.servers.item(0).setCheckState(Qt.CheckState.Checked)
    assert tools.checked_servers() == ("shop",) and tools.load_button.isEnabled()
    with qtbot.waitSignal(tools.model.modelReset, timeout=20_000):
        tools.load_button.click()
        assert tools.load_button.text() == "Loading…"
    qtbot.waitUntil(lambda: "shop: 6 tools" in tools.status.text(), timeout=20_000)
    rows = _rows(tools.model)
    assert rows["shop/lookup_order"] == ("allow", True)  # the server's readOnlyHint
    assert rows["shop/write_note"] == ("allow", False)
    lookup = tools.model.index(tools.model.row_of("shop/lookup_order"), COL_READ_ONLY)
    assert not (tools.model.flags(lookup) & Qt.ItemFlag.ItemIsEnabled)  # the server says so

    # The rule through the combo in the table, as a user picks it.
    write_row = tools.model.row_of("shop/write_note")
    combo = tools.table.indexWidget(tools.model.index(write_row, COL_RULE))
    assert isinstance(combo, QComboBox) and combo.currentText() == "Allow"
    combo.setCurrentIndex(combo.findData("approve"))
    combo.activated.emit(combo.currentIndex())
    fail = tools.model.index(tools.model.row_of("shop/fail"), COL_READ_ONLY)
    assert tools.model.setData(fail, Qt.CheckState.Checked, Qt.ItemDataRole.CheckStateRole)
    page.editor.max_tool_calls_edit.setText("5")
    page.editor.max_cost_edit.setText("$0.50")
    assert page.editor.is_dirty()
    _save(page, qtbot)

    saved = ctx.workspace.store.get_agent("clerk")
    assert saved.current_version == 2
    assert saved.config.mcp_servers == ("shop",)
    assert saved.config.tool_rules == {"shop/write_note": "approve"}
    assert saved.config.read_only_tools == ("shop/fail",)
    assert saved.config.max_tool_calls == 5 and saved.config.max_cost_usd == 0.5
    assert "Saved as version 2" in page.editor.status_label.text()
    assert not page.editor.is_dirty()

    changes = {c.label: (c.before, c.after) for c in describe_changes(
        ctx.workspace.store.agent_history(agent.id)[0]
    )}  # fmt: skip
    assert changes["MCP servers"] == ("none", "shop")
    assert changes["Tool rule shop/write_note"] == ("not set", "approve (asks first)")
    assert changes["Read-only tools"] == ("none", "shop/fail")
    assert changes["Tool calls per run (limit)"] == ("not set", "5")
    qtbot.waitUntil(lambda: page.history.model.rowCount() == 2, timeout=5_000)
    assert "Tool rule shop/write_note" in page.history.browser.toPlainText()

    # Unticking the server drops it and its rules on the next save.
    tools.set_checked("shop", False)
    assert tools.model.rowCount() == 0
    _save(page, qtbot)
    config = ctx.workspace.store.get_agent("clerk").config
    assert config.mcp_servers == () and config.tool_rules == {} and config.read_only_tools == ()


def test_no_servers_links_to_settings(page: AgentsPage, qtbot: Any) -> None:
    agent = _create(page.ctx)
    _open(page, qtbot, agent)
    tools = page.editor.tools
    assert tools.no_servers.isVisible() and not tools.servers.isVisible()
    assert "Settings → MCP servers" in tools.no_servers.text()
    with qtbot.waitSignal(page.ctx.sig_navigate) as nav:
        tools.no_servers.linkActivated.emit("settings")
    assert nav.args == ["settings", {"section": "mcp"}]


def test_a_server_that_fails_to_start_says_why(
    page: AgentsPage, qtbot: Any, tmp_path: Path
) -> None:
    add_server(
        page.ctx.workspace.store,
        McpServerConfig("gone", "stdio", command=str(tmp_path / "no-such-server"), timeout_s=5),
    ).result()
    _create(page.ctx, mcp_servers=("gone",))
    agent = page.ctx.workspace.store.get_agent("clerk")
    _open(page, qtbot, agent)
    tools = page.editor.tools
    qtbot.waitUntil(lambda: tools.servers.count() == 1, timeout=5_000)
    assert tools.checked_servers() == ("gone",)
    tools.load_button.click()
    qtbot.waitUntil(lambda: "does not exist" in tools.status.text(), timeout=20_000)
    assert tools.load_button.isEnabled() and tools.load_button.text() == "Load tools"


def test_coding_agents_need_a_working_directory(
    page: AgentsPage, qtbot: Any, tmp_path: Path
) -> None:
    ctx = page.ctx
    page.activate({"new": True})
    editor = page.editor
    runtimes = [editor.runtime_combo.itemData(i) for i in range(editor.runtime_combo.count())]
    assert runtimes[-2:] == ["claude-code", "codex-cli"]
    qtbot.keyClicks(editor.name_edit, "coder")
    assert not editor.working_dir_edit.isVisible() and editor.base_url_edit.isVisible()
    editor.runtime_combo.setCurrentIndex(editor.runtime_combo.findData("claude-code"))
    assert editor.working_dir_edit.isVisible() and editor.working_dir_button.isVisible()
    assert not editor.base_url_edit.isVisible() and not editor.tools.table.isVisible()
    assert editor.coding_tools_note.isVisible()
    editor.model_combo.set_model_name("claude-sonnet-5")
    editor.save_button.click()
    assert "needs a working directory" in editor.error_text("working_dir")
    assert not ctx.workspace.store.list_agents()

    editor.working_dir_edit.setText(str(tmp_path / "missing"))
    _save(page, qtbot)
    assert "does not exist" in editor.error_text("working_dir")

    dialog = editor.choose_working_dir()  # the picker fills the field
    dialog.fileSelected.emit(str(tmp_path))
    dialog.close()
    assert editor.working_dir_edit.text() == str(tmp_path)
    _save(page, qtbot)
    agent = ctx.workspace.store.get_agent("coder")
    assert agent.config.runtime == "claude-code" and agent.config.working_dir == str(tmp_path)


def test_rules_inherit_from_a_server_wide_rule() -> None:
    model = ToolRulesModel()
    model.load({"shop/*": "approve", "other/x": "deny"}, ["shop/fail"], ["shop"])
    assert _rows(model) == {"shop/*": ("approve", False), "shop/fail": ("approve", True)}
    model.set_listed("shop", TOOLS)
    rows = _rows(model)
    assert rows["shop/write_note"] == ("approve", False) and rows["shop/add"] == ("approve", True)
    write = model.row_of("shop/write_note")
    assert model.rule_of(model.rows()[write]) == ("approve", False)
    assert "from the rule shop/*" in model.index(write, COL_RULE).data(Qt.ItemDataRole.ToolTipRole)

    assert model.set_rule(write, "allow")
    assert model.tool_rules()["shop/write_note"] == "allow"
    assert model.set_rule(write, "approve")  # what the wildcard gives anyway: no rule of its own
    assert "shop/write_note" not in model.tool_rules()
    assert model.set_rule(model.row_of("shop/*"), "allow")  # the wildcard back to the default
    assert model.tool_rules() == {"other/x": "deny"}
    assert _rows(model)["shop/write_note"] == ("allow", False)
    # Rules of a server the agent dropped in this form are left out of what is saved.
    assert model.tool_rules(dropped_servers=["OTHER"]) == {}
    assert model.read_only_tools() == ("shop/fail",)
    assert not model.set_read_only(model.row_of("shop/add"), False)  # the server's hint stands


def test_tool_rules_model(qtmodeltester: Any) -> None:
    model = ToolRulesModel()
    qtmodeltester.check(model)
    model.load({"shop/write_note": "approve", "slow": "deny"}, ["shop/fail"], ["shop"])
    qtmodeltester.check(model)
    model.set_listed("shop", TOOLS)
    qtmodeltester.check(model)
    model.set_servers([])
    qtmodeltester.check(model)
    assert [row.key for row in model.rows()] == ["slow"]
