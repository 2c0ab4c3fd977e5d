"""Settings → Retention on a real log: the days setting in settings.json, Archive now with its
progress, the archive listed and re-imported, and a broken settings.json reported untouched."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from ato_desktop.engine import retention
from ato_desktop.ui.context import AppContext
from ato_desktop.ui.settings.retention_section import RetentionSection
from tests.store.test_retention import build_workspace
from tests.support.qt_helpers import Show


def _runs(ctx: AppContext) -> int:
    return int(ctx.workspace.store.reader().execute("SELECT count(*) FROM runs").fetchone()[0])


@pytest.fixture
def section(open_ctx: AppContext, qtbot: Any, show: Show) -> Iterator[RetentionSection]:
    card = RetentionSection(open_ctx)
    show(card, height=900)
    yield card


def _load(card: RetentionSection, qtbot: Any) -> Any:
    with qtbot.waitSignal(card.sig_loaded, timeout=10_000) as blocker:
        card.ctx.spawn(card.refresh())
    return blocker.args[0]


def test_set_days_archive_now_with_progress_and_reimport(
    section: RetentionSection, open_ctx: AppContext, qtbot: Any
) -> None:
    ws = build_workspace(open_ctx.workspace.store, old_runs=25, actions=2)
    status = _load(section, qtbot)
    assert not section.off.isChecked() and section.days.value() == 90  # the default
    assert f"{status.due:,} runs are older than 90 days" in section.due.text()
    assert "held back" in section.due.text()
    assert not section.import_button.isEnabled()  # no archive yet

    # Off, then 120 days: each saved to settings.json (shared with the CLI).
    # (sig_loaded follows sig_saved: the count is read again for the new setting)
    with qtbot.waitSignals([section.sig_saved, section.sig_loaded], timeout=10_000):
        section.off.setChecked(True)
    assert retention.retention_days(open_ctx.paths) is None
    assert "Retention is off" in section.due.text()
    assert not section.archive_button.isEnabled() and not section.days.isEnabled()
    with qtbot.waitSignals([section.sig_saved, section.sig_loaded], timeout=10_000):
        section.off.setChecked(False)
        section.days.setValue(120)
    assert retention.retention_days(open_ctx.paths) == 120
    assert "older than 120 days" in section.due.text()

    before = _runs(open_ctx)
    progress: list[tuple[str, int, int]] = []
    section.sig_progress.connect(lambda *args: progress.append(args))
    with qtbot.waitSignal(section.sig_finished, timeout=30_000) as finished:
        section.archive_button.click()
        assert section.progress.isVisible() and section.cancel_button.isVisible()
        assert not section.archive_button.isEnabled()
    assert f"Archived {len(ws.old)} runs" in finished.args[0]
    assert section.result.text() == finished.args[0]
    assert {"archive", "remove", "reclaim"} <= {stage for stage, _d, _t in progress}
    assert not section.progress.isVisible() and not section.cancel_button.isVisible()
    assert _runs(open_ctx) == before - len(ws.old)
    assert section.archives.count() == 1 and ".jsonl.gz" in section.archives.item(0).text()

    # Re-import asks first; Cancel on the question does nothing.
    section.archives.setCurrentRow(0)
    section.import_button.click()
    assert section.confirm.isVisible() and "Import the runs in runs-" in section.confirm_text.text()
    section.confirm_cancel.click()
    assert not section.confirm.isVisible() and _runs(open_ctx) == before - len(ws.old)
    section.import_button.click()
    with qtbot.waitSignal(section.sig_finished, timeout=30_000) as finished:
        section.confirm_button.click()
    assert finished.args[0].startswith(f"Imported {len(ws.old)} runs")
    assert _runs(open_ctx) == before
    assert not section.error.isVisible()


def test_a_broken_settings_file_is_reported_and_never_overwritten(
    section: RetentionSection, open_ctx: AppContext, qtbot: Any
) -> None:
    broken = '{"retention": {"days": 90},'
    open_ctx.paths.settings_file.write_text(broken)
    assert _load(section, qtbot) is None
    assert section.error.isVisible() and "is not valid JSON" in section.error.text()
    section.days.setValue(30)
    qtbot.waitUntil(lambda: "Not saved" in section.error.text(), timeout=10_000)
    assert open_ctx.paths.settings_file.read_text() == broken


def test_cancel_while_archiving_removes_nothing_it_has_not_archived(
    section: RetentionSection, open_ctx: AppContext, qtbot: Any
) -> None:
    ws = build_workspace(open_ctx.workspace.store, old_runs=12, actions=1)
    _load(section, qtbot)
    before = _runs(open_ctx)

    def cancel_at_once(stage: str, _done: int, _total: int) -> None:
        if stage == "archive":
            section.cancel()

    section.sig_progress.connect(cancel_at_once)
    with qtbot.waitSignal(section.sig_finished, timeout=30_000) as finished:
        section.archive_button.click()
    text = finished.args[0]
    # Either stopped before the archive was complete (nothing removed) or during removal
    # (what was removed is in the archive): never a run lost.
    archives = retention.list_archives(open_ctx.paths)
    if "nothing was archived" in text:
        assert _runs(open_ctx) == before and archives == []
    else:
        assert len(archives) == 1
        in_archive = retention.verify_archive(archives[0].path)[1]
        assert in_archive == len(ws.old) and _runs(open_ctx) >= before - in_archive
    assert text.endswith(".") and len(text) > 20  # a sentence for the user


def test_the_runs_page_reloads_when_runs_are_archived_and_imported(
    section: RetentionSection, open_ctx: AppContext, qtbot: Any
) -> None:
    from tests.ui.test_runs_page import make_page, set_filters

    ws = build_workspace(open_ctx.workspace.store, old_runs=9, actions=1)
    page = make_page(open_ctx, qtbot)
    set_filters(qtbot, page, window="all")
    qtbot.waitUntil(lambda: page.total == _runs(open_ctx), timeout=5000)
    before = page.total
    _load(section, qtbot)
    with qtbot.waitSignal(section.sig_finished, timeout=30_000):
        section.archive_button.click()
    qtbot.waitUntil(lambda: page.total == _runs(open_ctx), timeout=5000)
    assert page.total is not None and before is not None and page.total < before - len(ws.old) + 1
    section.archives.setCurrentRow(0)
    section.import_button.click()
    with qtbot.waitSignal(section.sig_finished, timeout=30_000):
        section.confirm_button.click()
    qtbot.waitUntil(lambda: page.total == before, timeout=5000)
