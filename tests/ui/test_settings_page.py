"""The Settings page: keys in the keyring, the prices.json editor, data, chat defaults."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import keyring
import pytest
from keyring.backend import KeyringBackend
from PySide6.QtWidgets import QLabel, QLineEdit

from ato_desktop.engine import credentials
from ato_desktop.engine.demo import build_demo_workspace
from ato_desktop.ui.context import AppContext
from ato_desktop.ui.pages.settings_page import SettingsPage
from tests.support.memory_keyring import MemoryKeyring
from tests.support.qt_helpers import Show

KEY = "sk-ant-api03-SETTINGSKEY-abcdefghijklmnopqrstuvwxyz0123"
KEY2 = "sk-ant-api03-REPLACEDKEY-zyxwvutsrqponmlkjihgfedcba9876"


class LowPriorityKeyring(MemoryKeyring):
    """A backend keyring itself would not recommend (like the plaintext file one)."""

    priority = 0.5  # type: ignore[assignment]


KeyringBackend._classes.discard(LowPriorityKeyring)  # type: ignore[attr-defined]


@pytest.fixture
def page(open_ctx: AppContext, qtbot: Any, show: Show) -> Iterator[SettingsPage]:
    settings = SettingsPage(open_ctx)
    show(settings)
    with qtbot.waitSignal(settings.keys.sig_refreshed, timeout=10_000):
        settings.activate(None)
    yield settings


def _texts(page: SettingsPage) -> list[str]:
    widgets = page.findChildren(QLabel) + page.findChildren(QLineEdit)
    return [w.text() for w in widgets] + [w.toolTip() for w in widgets]


# -- keys ---------------------------------------------------------------------------------


def test_set_replace_and_remove_a_key(
    page: SettingsPage, qtbot: Any, memory_keyring: MemoryKeyring
) -> None:
    row = page.keys.rows["anthropic"]
    assert "No key" in row.pill.text()
    assert not row.save_button.isEnabled() and not row.remove_button.isEnabled()
    assert row.field.echoMode() == QLineEdit.EchoMode.Password

    row.field.setText(KEY)
    assert row.save_button.isEnabled()
    with qtbot.waitSignal(page.keys.sig_refreshed, timeout=10_000):
        row.save_button.click()
    assert memory_keyring.store[("ato-desktop", "anthropic")] == KEY
    assert row.field.text() == ""  # cleared at once
    assert "Saved in the keyring" in row.pill.text()
    assert row.save_button.text() == "Replace" and row.remove_button.isEnabled()
    assert not any(KEY in text or KEY[-12:] in text for text in _texts(page))

    row.field.setText(KEY2)
    with qtbot.waitSignal(page.keys.sig_refreshed, timeout=10_000):
        row.field.returnPressed.emit()
    assert memory_keyring.store[("ato-desktop", "anthropic")] == KEY2
    assert not any(KEY2 in text for text in _texts(page))

    row.remove_button.click()  # asks first, in the row
    assert row.confirm.isVisible() and "Delete the Anthropic key" in row.confirm_text.text()
    row.cancel_button.click()
    assert not row.confirm.isVisible()
    assert ("ato-desktop", "anthropic") in memory_keyring.store
    row.remove_button.click()
    with qtbot.waitSignal(page.keys.sig_refreshed, timeout=10_000):
        row.confirm_button.click()
    assert ("ato-desktop", "anthropic") not in memory_keyring.store
    assert "No key" in row.pill.text() and row.save_button.text() == "Save"
    assert row.message.text() == "Removed."


def test_a_key_from_the_environment_shows_its_source_and_cannot_be_removed_here(
    open_ctx: AppContext, qtbot: Any, show: Show, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-proj-ENVKEY-0123456789abcdefghijklmnop")
    page = SettingsPage(open_ctx)
    show(page)
    with qtbot.waitSignal(page.keys.sig_refreshed, timeout=10_000):
        page.activate(None)
    row = page.keys.rows["openai"]
    assert row.pill.text() == "● From $OPENAI_API_KEY"
    assert not row.remove_button.isEnabled()
    assert "ENVKEY" not in " ".join(_texts(page))


def test_an_invalid_key_is_refused_with_the_reason_and_never_shown(
    page: SettingsPage, qtbot: Any, memory_keyring: MemoryKeyring
) -> None:
    row = page.keys.rows["openai-compatible"]
    row.field.setText("sk-bad key-with a space")
    with qtbot.waitSignal(page.keys.sig_refreshed, timeout=10_000):
        row.save_button.click()
    assert "contains spaces" in row.message.text() and row.message.isVisible()
    assert row.field.text() == ""
    assert memory_keyring.store == {}
    assert "sk-bad" not in " ".join(_texts(page))


def test_no_secure_keyring_is_said_plainly(
    open_ctx: AppContext, qtbot: Any, show: Show, memory_keyring: MemoryKeyring
) -> None:
    backend = LowPriorityKeyring()
    keyring.set_keyring(backend)  # the memory_keyring fixture restores the previous one
    page = SettingsPage(open_ctx)
    show(page)
    with qtbot.waitSignal(page.keys.sig_refreshed, timeout=10_000):
        page.activate(None)
    assert page.keys.secure is False
    assert page.keys.notice.isVisible()
    assert "No secure keyring on this system" in page.keys.notice.text()
    assert "not secure" in page.keys.backend.text()
    row = page.keys.rows["anthropic"]
    row.field.setText(KEY)
    try:
        with qtbot.waitSignal(page.keys.sig_refreshed, timeout=10_000):
            row.save_button.click()
        assert backend.store == {}  # nothing written to an insecure backend
        assert "kept for this process only" in row.message.text()
        assert row.pill.text() == "● This session only"
    finally:
        credentials._PROCESS_KEYS.clear()


# -- prices -------------------------------------------------------------------------------


def test_a_malformed_prices_file_is_refused_and_the_file_left_untouched(
    open_ctx: AppContext, qtbot: Any, show: Show, ato_home: Path
) -> None:
    prices = ato_home / "prices.json"
    original = b'{\n  "models": {"llama3.1": {"input_per_mtok": 0, "output_per_mtok": 0}}\n}\n'
    prices.write_bytes(original)
    open_ctx.workspace.reload_prices()
    book = open_ctx.workspace.prices
    page = SettingsPage(open_ctx)
    show(page)
    page.activate(None)
    qtbot.waitUntil(lambda: page.prices.editor.toPlainText() == original.decode())
    assert "1 override in effect" in page.prices.state.text()
    assert str(prices) in page.prices.path_label.text()

    for text, problem in (
        ('{"models": {"x": {"input_per_mtok": "0.5", "output_per_mtok": 1}}}', "must be a number"),
        ('{"models": {', "not valid JSON"),
        ("", "the file is empty"),
    ):
        page.prices.editor.setPlainText(text)
        with qtbot.waitSignal(page.prices.sig_refused, timeout=10_000) as refused:
            page.prices.save_button.click()
        assert problem in refused.args[0]
        assert problem in page.prices.validity.text()
        assert prices.read_bytes() == original
        assert open_ctx.workspace.prices is book
    assert sorted(p.name for p in ato_home.iterdir() if "prices" in p.name) == ["prices.json"]


def test_a_valid_prices_file_is_saved_atomically_and_prices_reloaded(
    open_ctx: AppContext, qtbot: Any, show: Show, ato_home: Path
) -> None:
    from ato_desktop.core.models import TokenUsage

    page = SettingsPage(open_ctx)
    show(page)
    page.activate(None)
    qtbot.waitUntil(lambda: page.prices._loaded)
    assert "no file yet" in page.prices.state.text()
    assert page.prices.example_button.isVisibleTo(page)
    assert (
        open_ctx.workspace.prices.cost("openai-compatible", "my-llama", TokenUsage(1000, 1000)).usd
        is None
    )

    text = json.dumps({"models": {"my-llama": {"input_per_mtok": 1, "output_per_mtok": 2}}})
    page.prices.editor.setPlainText(text)
    qtbot.waitUntil(lambda: "Valid: 1 price" in page.prices.validity.text())
    with qtbot.waitSignal(page.prices.sig_saved, timeout=10_000) as saved:
        page.prices.save_button.click()
    assert saved.args == [1]
    assert (ato_home / "prices.json").read_text() == text + "\n"
    cost = open_ctx.workspace.prices.cost("openai-compatible", "my-llama", TokenUsage(1000, 1000))
    assert cost.usd == pytest.approx(0.003)
    assert open_ctx.workspace.dispatcher._prices is open_ctx.workspace.prices
    assert "prices reloaded" in page.prices.validity.text()
    assert not page.prices.save_button.isEnabled()  # nothing unsaved any more
    assert "1 override in effect" in page.prices.state.text()
    assert [p.name for p in ato_home.iterdir() if "prices" in p.name] == ["prices.json"]


def test_the_example_and_revert(open_ctx: AppContext, qtbot: Any, show: Show) -> None:
    page = SettingsPage(open_ctx)
    show(page)
    page.activate(None)
    qtbot.waitUntil(lambda: page.prices._loaded)
    page.prices.example_button.click()
    qtbot.waitUntil(lambda: "Valid: 2 prices" in page.prices.validity.text())
    assert page.prices.revert_button.isEnabled()
    page.prices.revert_button.click()
    assert page.prices.editor.toPlainText() == ""
    assert "docs/pricing.md" in page.prices.doc_link.text()


# -- data and defaults --------------------------------------------------------------------


def test_data_shows_the_directory_size_and_run_count(
    open_ctx: AppContext, qtbot: Any, show: Show
) -> None:
    page = SettingsPage(open_ctx)
    show(page)
    with qtbot.waitSignal(page.data.sig_refreshed, timeout=10_000):
        page.activate(None)
    assert page.data.path_label.text() == str(open_ctx.paths.root)
    assert page.data.runs_value.text() == "0"
    assert page.data.size_value.text().endswith(("KB", "MB"))
    workspace = open_ctx.workspace
    build_demo_workspace(workspace.store, workspace.prices, runs=120, seed=1)
    with qtbot.waitSignal(page.data.sig_refreshed, timeout=10_000):
        page.activate(None)
    assert page.data.runs_value.text() == "120  (120 demo)"
    assert page.data.agents_value.text() == "5"


def test_chat_defaults_are_saved_with_model_suggestions(
    open_ctx: AppContext, qtbot: Any, show: Show
) -> None:
    page = SettingsPage(open_ctx)
    show(page)
    page.activate(None)
    defaults = page.defaults
    assert defaults.current_runtime() == "claude"
    qtbot.waitUntil(lambda: defaults.model.count() > 0, timeout=10_000)
    assert "claude-sonnet-5" in [defaults.model.itemText(i) for i in range(defaults.model.count())]
    with qtbot.waitSignal(defaults.sig_saved):
        defaults.runtime.setCurrentIndex(defaults.runtime.findData("codex"))
    qtbot.waitUntil(
        lambda: "gpt-5-mini" in [defaults.model.itemText(i) for i in range(defaults.model.count())],
        timeout=10_000,
    )
    defaults.model.setEditText("gpt-5-mini")
    with qtbot.waitSignal(defaults.sig_saved):
        defaults.model.lineEdit().editingFinished.emit()
    settings = open_ctx.settings
    assert settings.value("defaults/runtime") == "codex"
    assert settings.value("defaults/model") == "gpt-5-mini"
    assert not defaults.base_url.isVisibleTo(page)
    defaults.runtime.setCurrentIndex(defaults.runtime.findData("openai-compatible"))
    assert defaults.base_url.isVisibleTo(page)
    # A new page reads what was saved.
    again = SettingsPage(open_ctx)
    show(again)
    assert again.defaults.current_runtime() == "openai-compatible"


@pytest.mark.parametrize("section", ["keys", "prices", "data", "defaults"])
def test_navigation_targets_scroll_to_their_section(
    open_ctx: AppContext, qtbot: Any, show: Show, section: str
) -> None:
    page = SettingsPage(open_ctx)
    show(page, width=900, height=420)
    with qtbot.waitSignal(page.sig_section_shown, timeout=10_000) as shown:
        page.activate({"section": section})
    assert shown.args == [section] and page.current_section == section
    value = page.scroll_area.verticalScrollBar().value()
    card = page.sections[section]
    if section == "keys":
        assert value == 0
    else:
        assert value > 0
        assert card.y() - value <= 12 or value == page.scroll_area.verticalScrollBar().maximum()


def test_an_unknown_section_is_ignored(open_ctx: AppContext, qtbot: Any, show: Show) -> None:
    page = SettingsPage(open_ctx)
    show(page)
    page.activate({"section": "nonsense"})
    assert page.current_section is None


def test_keyring_calls_never_run_on_the_ui_thread(
    open_ctx: AppContext, qtbot: Any, show: Show
) -> None:
    import threading

    class RecordingKeyring(MemoryKeyring):
        def __init__(self) -> None:
            super().__init__()
            self.threads: set[str] = set()

        def get_password(self, service: str, username: str) -> str | None:
            self.threads.add(threading.current_thread().name)
            return super().get_password(service, username)

        def set_password(self, service: str, username: str, password: str) -> None:
            self.threads.add(threading.current_thread().name)
            super().set_password(service, username, password)

        def delete_password(self, service: str, username: str) -> None:
            self.threads.add(threading.current_thread().name)
            super().delete_password(service, username)

    KeyringBackend._classes.discard(RecordingKeyring)  # type: ignore[attr-defined]
    backend = RecordingKeyring()
    keyring.set_keyring(backend)
    page = SettingsPage(open_ctx)
    show(page)
    with qtbot.waitSignal(page.keys.sig_refreshed, timeout=10_000):
        page.activate(None)
    row = page.keys.rows["openai"]
    row.field.setText("sk-proj-THREADKEY-0123456789abcdefghijkl")
    with qtbot.waitSignal(page.keys.sig_refreshed, timeout=10_000):
        row.save_button.click()
    row.remove_button.click()
    with qtbot.waitSignal(page.keys.sig_refreshed, timeout=10_000):
        row.confirm_button.click()
    assert backend.threads and threading.main_thread().name not in backend.threads


def test_a_theme_change_restyles_the_page(open_ctx: AppContext, qtbot: Any, show: Show) -> None:
    from ato_desktop.ui.theme import DARK, LIGHT, current_theme, set_current_theme

    page = SettingsPage(open_ctx)
    show(page)
    with qtbot.waitSignal(page.keys.sig_refreshed, timeout=10_000):
        page.activate(None)
    before = current_theme()
    try:
        set_current_theme(DARK)
        open_ctx.theme.sig_theme_changed.emit(DARK)
        assert DARK.window in page.styleSheet()
        assert DARK.code_bg in page.prices.help_box.styleSheet()
    finally:
        set_current_theme(before if before is not DARK else LIGHT)
        open_ctx.theme.sig_theme_changed.emit(current_theme())
