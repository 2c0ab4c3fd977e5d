"""Settings → MCP servers: add (secrets into the keyring), test against the real MCP test
server over stdio, remove; inline validation; no secure keyring; updates from the log."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import keyring
import pytest
from PySide6.QtWidgets import QLabel, QLineEdit

from ato_desktop.core.mcp_config import McpServerConfig
from ato_desktop.core.tools import McpTool
from ato_desktop.store.mcp_servers import add_server, list_servers
from ato_desktop.ui.context import AppContext
from ato_desktop.ui.pages.settings_page import SettingsPage
from ato_desktop.ui.settings.mcp_section import McpToolsModel
from tests.fakes.mcp_server import stdio_command
from tests.support.memory_keyring import MemoryKeyring
from tests.support.qt_helpers import Show

SECRET = "shop-token-VERYSECRET-0123456789"


class LowPriorityKeyring(MemoryKeyring):
    """A backend keyring itself would not recommend (like the plaintext file one)."""

    priority = 0.5  # type: ignore[assignment]


keyring.backend.KeyringBackend._classes.discard(LowPriorityKeyring)  # type: ignore[attr-defined]


@pytest.fixture
def page(open_ctx: AppContext, qtbot: Any, show: Show) -> Iterator[SettingsPage]:
    settings = SettingsPage(open_ctx)
    show(settings, height=900)
    with qtbot.waitSignal(settings.mcp.sig_refreshed, timeout=10_000):
        settings.activate({"section": "mcp"})
    yield settings


def _texts(page: SettingsPage) -> list[str]:
    widgets = page.findChildren(QLabel) + page.findChildren(QLineEdit)
    return [w.text() for w in widgets] + [w.toolTip() for w in widgets]


def _fill_stdio(page: SettingsPage, qtbot: Any, name: str, notes: Path) -> None:
    command, args, _env = stdio_command("--notes", str(notes))
    section = page.mcp
    section.add_button.click()
    form = section.form
    assert form.isVisible() and form.name_edit.hasFocus()
    qtbot.keyClicks(form.name_edit, name)
    form.command_edit.setText(command)
    form.args_edit.setText(" ".join(f"'{a}'" for a in args))
    form.env.model.add_row("SHOP_REGION", "eu")
    form.secret_env.model.add_row("SHOP_TOKEN", SECRET)
    form.timeout_edit.setText("10")


def test_add_test_and_remove_a_stdio_server(
    page: SettingsPage, qtbot: Any, tmp_path: Path, memory_keyring: MemoryKeyring
) -> None:
    section = page.mcp
    assert section.empty.isVisible() and not section.rows
    _fill_stdio(page, qtbot, "shop", tmp_path / "notes.txt")
    with qtbot.waitSignal(section.sig_added, timeout=10_000):
        section.form.add_button.click()
    assert not section.form.isVisible() and "Added shop" in section.message.text()
    assert memory_keyring.store[("ato-desktop", "mcp:shop:env:SHOP_TOKEN")] == SECRET
    (record,) = list_servers(page.ctx.workspace.store)
    assert record.config.env == {"SHOP_REGION": "eu"}
    assert record.config.secret_env_names == ("SHOP_TOKEN",)
    assert record.config.args[-2:] == ("--notes", str(tmp_path / "notes.txt"))

    row = section.rows["shop"]
    assert row.isVisible() and not section.empty.isVisible()
    assert row.target.text().startswith(sys.executable)
    assert "SHOP_TOKEN" in row.details.text() and "✓" in row.details.text()
    assert "Timeout 10 s" in row.details.text()
    assert not any(SECRET in text for text in _texts(page))  # the value is never shown

    with qtbot.waitSignal(section.sig_tested, timeout=20_000) as tested:
        row.test_button.click()
        assert row.test_button.text() == "Testing…" and not row.test_button.isEnabled()
    assert tested.args[1].ok
    assert "Connected to ato-test-tools 1.0.0" in row.result.text()
    assert "6 tools, 3 read-only" in row.result.text()
    assert row.tools.isVisible() and not row.error.isVisible()
    shown = {
        row.tools_model.index(r, 0).data(): row.tools_model.index(r, 1).data()
        for r in range(row.tools_model.rowCount())
    }
    assert shown["lookup_order"] == "read-only"
    assert shown["write_note"] == "side effects"
    assert shown["fail"] == "not declared"

    row.remove_button.click()  # asks first, in the row
    assert row.confirm.isVisible() and "deleted from the keyring" in row.confirm_text.text()
    row.cancel_button.click()
    assert not row.confirm.isVisible() and list_servers(page.ctx.workspace.store)
    row.remove_button.click()
    with qtbot.waitSignal(section.sig_removed, timeout=10_000):
        row.confirm_button.click()
    assert not list_servers(page.ctx.workspace.store)
    assert ("ato-desktop", "mcp:shop:env:SHOP_TOKEN") not in memory_keyring.store
    assert "Removed shop and 1 secret from the keyring" in section.message.text()
    assert not section.rows and section.empty.isVisible()


def test_the_form_shows_errors_under_their_fields(page: SettingsPage, qtbot: Any) -> None:
    section = page.mcp
    section.add_button.click()
    form = section.form
    form.add_button.click()
    assert form.error_text("name") == "Give the server a name."
    form.name_edit.setText("bad name")
    form.command_edit.setText("server")
    form.add_button.click()
    assert "may only use letters" in form.error_text("name")
    form.name_edit.setText("good")
    form.args_edit.setText("--flag 'unclosed")
    form.add_button.click()
    assert "do not split" in form.error_text("args") and not form.error_text("name")
    form.args_edit.setText("")
    form.timeout_edit.setText("soon")
    form.add_button.click()
    assert "not a number of seconds" in form.error_text("timeout")
    form.timeout_edit.setText("30")
    form.secret_env.model.add_row("TOKEN", "")
    form.add_button.click()
    assert "needs a name and a value" in form.error_text("secret_env")

    form.http_radio.setChecked(True)
    assert not form.command_edit.isVisible() and form.url_edit.isVisible()
    form.url_edit.setText("ftp://example.com/mcp")
    form.add_button.click()
    assert "must be http(s)" in form.error_text("url")
    assert not list_servers(page.ctx.workspace.store)

    with qtbot.waitSignal(section.sig_add_refused, timeout=10_000):
        add_server(
            page.ctx.workspace.store,
            McpServerConfig("good", "http", url="http://127.0.0.1:9/mcp"),
        ).result()
        form.url_edit.setText("https://example.com/mcp")
        form.add_button.click()
    assert "already exists" in form.error_text("name")


def test_secrets_are_refused_without_a_secure_keyring(
    page: SettingsPage, qtbot: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    insecure = LowPriorityKeyring()
    monkeypatch.setattr(keyring, "get_keyring", lambda: insecure)
    _fill_stdio(page, qtbot, "shop", tmp_path / "notes.txt")
    with qtbot.waitSignal(page.mcp.sig_add_refused, timeout=10_000) as refused:
        page.mcp.form.add_button.click()
    assert "No secure keyring" in refused.args[0] and "nothing was saved" in refused.args[0]
    assert page.mcp.form.isVisible() and "No secure keyring" in page.mcp.form.error_text("")
    assert not list_servers(page.ctx.workspace.store) and not insecure.store
    # The typed secret does not linger in the form.
    assert page.mcp.form.secret_env.model.pairs() == [("SHOP_TOKEN", "")]


def test_a_failing_server_says_why_and_the_list_follows_the_log(
    page: SettingsPage, qtbot: Any
) -> None:
    store = page.ctx.workspace.store
    with qtbot.waitSignal(page.mcp.sig_refreshed, timeout=10_000):
        add_server(
            store,
            McpServerConfig(
                "broken",
                "stdio",
                command=sys.executable,
                args=("-c", "import sys; print('no config file', file=sys.stderr); sys.exit(3)"),
                timeout_s=5,
            ),
        ).result()  # as if `ato-desktop mcp add` ran in a terminal
    row = page.mcp.rows["broken"]
    with qtbot.waitSignal(page.mcp.sig_tested, timeout=20_000):
        row.test_button.click()
    assert "Could not connect to broken" in row.result.text()
    assert "exited with code 3" in row.error.text() and "no config file" in row.error.text()
    assert not row.tools.isVisible()

    with qtbot.waitSignal(page.mcp.sig_refreshed, timeout=10_000):
        add_server(
            store, McpServerConfig("missing", "stdio", command="no-such-mcp-server-x")
        ).result()
    row = page.mcp.rows["missing"]
    with qtbot.waitSignal(page.mcp.sig_tested, timeout=20_000):
        row.test_button.click()
    assert "was not found on PATH" in row.error.text()
    assert list(page.mcp.rows) == ["broken", "missing"]


def test_tools_model(qtmodeltester: Any) -> None:
    model = McpToolsModel()
    qtmodeltester.check(model)
    model.set_tools(
        [
            McpTool("shop", "add", "Add two numbers.", read_only=True),
            McpTool("shop", "write_note", "Append\na line.", read_only=False),
            McpTool("shop", "fail", "", read_only=None),
        ]
    )
    qtmodeltester.check(model)
    assert model.index(1, 2).data() == "Append a line."
