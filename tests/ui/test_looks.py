"""What the app looks like at its default window size (1280x820) and in both themes: the Runs
filter bar and a running run's header fit or wrap (never squeezed stubs), open dropdowns draw
their current item with contrast, the mouse wheel scrolls Settings instead of changing a field,
the `?` overlay's order, Cost's layout when nothing qualifies, an Automations edge that crosses a
card is not hidden under it, and the sync line right after enabling sync."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import QPoint, QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QImage, QPainterPath, QWheelEvent
from PySide6.QtWidgets import (
    QApplication,
    QComboBox,
    QLineEdit,
    QPushButton,
    QScrollArea,
    QTreeWidget,
    QWidget,
)

from ato_desktop.core.automation_graph import (
    AutomationGraph,
    EdgeKind,
    GraphEdge,
    GraphNode,
    NodeKind,
)
from ato_desktop.core.models import AgentConfig
from ato_desktop.core.records import NewAction, NewRun, RunEnd
from ato_desktop.engine.otlp_sync import SyncState, SyncStatus
from ato_desktop.store.execution_log import now_ms
from ato_desktop.store.process_lease import ProcessLease
from ato_desktop.ui.automations.canvas_scene import AutomationScene
from ato_desktop.ui.context import AppContext
from ato_desktop.ui.insights.cost_view import STATE_NONE
from ato_desktop.ui.main_window import MainWindow, ShortcutsDialog
from ato_desktop.ui.pages.runs_page import RunsPage
from ato_desktop.ui.runs.telemetry import TelemetryView
from ato_desktop.ui.theme import DARK, LIGHT, Theme, build_palette, set_current_theme, stylesheet
from tests.support.builders import priced_runs
from tests.support.qt_helpers import Show, open_main_window
from tests.ui.test_cost_ui import DAY, loaded_view

SIZES = {"1280x820": (1280, 820), "1440x900": (1440, 900)}


@pytest.fixture
def window(ui_ctx: AppContext, qtbot: Any) -> Iterator[MainWindow]:
    window = open_main_window(ui_ctx, qtbot, SIZES["1280x820"])
    qtbot.waitUntil(lambda: window.current_page_id is not None, timeout=5000)
    t = now_ms()
    ui_ctx.workspace.store.ingest(
        [
            (
                NewRun("claude", "claude-sonnet-5", "cli", t - i * 1000),
                RunEnd("completed", t, 1_000_000),
                [NewAction("call_llm", "llm", "success", t - 1, t)],
            )
            for i in range(3)
        ]
    ).result()
    yield window
    done: list[bool] = []
    ui_ctx.spawn(ui_ctx.shutdown()).add_done_callback(lambda _t: done.append(True))
    qtbot.waitUntil(lambda: bool(done), timeout=10_000)


def _squeezed(container: QWidget) -> list[str]:
    """Visible buttons narrower than they ask to be, and fields too narrow for their
    placeholder (their text cut)."""
    cut = []
    for widget in container.findChildren(QWidget):
        if not widget.isVisible():
            continue
        if isinstance(widget, QPushButton) and widget.width() + 1 < widget.sizeHint().width():
            cut.append(f"{widget.text()!r}: {widget.width()} < {widget.sizeHint().width()}")
        if isinstance(widget, QLineEdit) and widget.placeholderText():
            needed = widget.fontMetrics().horizontalAdvance(widget.placeholderText()) + 12
            if widget.width() < needed:
                cut.append(f"{widget.placeholderText()!r}: {widget.width()} < {needed}")
    return cut


def _inside(widget: QWidget, container: QWidget) -> bool:
    top_left = widget.mapTo(container, QPoint(0, 0))
    return QRectF(container.rect()).contains(QRectF(top_left, widget.size().toSizeF()))


@pytest.mark.parametrize("size", list(SIZES))
def test_the_filter_bar_fits_or_wraps_at_each_window_size(
    window: MainWindow, qtbot: Any, tmp_path: Path, size: str
) -> None:
    window.resize(*SIZES[size])
    window.navigate("runs", {"tab": "history"})
    page = window.page("runs")
    assert isinstance(page, RunsPage)
    bar = page.filters
    qtbot.waitUntil(lambda: bar.isVisible() and bar.width() > 0, timeout=5000)
    QApplication.processEvents()
    shot = window.grab()
    assert shot.save(str(tmp_path / f"runs-{size}.png"))  # the picture the checks are about
    assert not _squeezed(bar), _squeezed(bar)
    for chip in bar.findChildren(QPushButton):
        if chip.isVisible():
            assert _inside(chip, bar), chip.text()  # nothing clipped off the bar's edge
    if size == "1440x900":
        assert bar.rows == 1  # room enough: one row
    assert bar.height() >= bar.rows * bar._chips["running"].height()


def test_a_running_runs_header_fits_or_wraps_at_1280(
    window: MainWindow, qtbot: Any, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    store = window.ctx.workspace.store
    agent = window.ctx.workspace.agents.create(
        "a-rather-long-agent-name", AgentConfig("openai-compatible", "llama3.1:8b-instruct-q4")
    )
    # Owned by a lease that lives for the test (another process's, as far as the window can
    # tell): a made-up owner has no lease, and the window's sweep ends its run `interrupted`.
    other = ProcessLease(window.ctx.workspace.paths.leases_dir)
    request.addfinalizer(other.release)
    run_id, _ = store.create_run(
        NewRun(
            "openai-compatible", "llama3.1:8b-instruct-q4", "schedule", now_ms(), agent_id=agent.id
        ),
        owner=other.token,
    ).result()
    window.navigate("runs", {"run_id": run_id})
    page = window.page("runs")
    assert isinstance(page, RunsPage)
    details = page.details
    qtbot.waitUntil(
        lambda: details.run is not None and details.watch_button.isVisible(), timeout=5000
    )
    QApplication.processEvents()
    assert window.grab().save(str(tmp_path / "run-in-flight-1280x820.png"))
    header = details.findChild(QWidget, "RunHeader")
    assert header is not None
    assert not _squeezed(header), _squeezed(header)
    for label in (details.title, details.agent_link, details.model_label):
        assert label.width() + 1 >= label.sizeHint().width(), label.text()
        assert _inside(label, details)


def _luminance(color: QColor) -> float:
    def channel(value: int) -> float:
        c = value / 255
        return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4

    return (
        0.2126 * channel(color.red())
        + 0.7152 * channel(color.green())
        + 0.0722 * channel(color.blue())
    )


def _contrast(a: QColor, b: QColor) -> float:
    la, lb = sorted((_luminance(a), _luminance(b)), reverse=True)
    return (la + 0.05) / (lb + 0.05)


def _row_colours(image: QImage, rect: Any) -> tuple[QColor, float]:
    """A row's background (its most common colour) and the best contrast of any pixel on it."""
    counts: dict[int, int] = {}
    pixels = []
    right = min(rect.right(), image.width() - 1)
    bottom = min(rect.bottom(), image.height() - 1)
    for y in range(max(rect.top(), 0) + 2, bottom - 1):
        for x in range(max(rect.left(), 0) + 2, right - 1):
            rgb = image.pixel(x, y)
            counts[rgb] = counts.get(rgb, 0) + 1
            pixels.append(rgb)
    background = QColor.fromRgb(max(counts, key=lambda k: counts[k]))
    best = max(_contrast(background, QColor.fromRgb(p)) for p in set(pixels))
    return background, best


def _apply(theme: Theme) -> None:
    app = QApplication.instance()
    assert isinstance(app, QApplication)
    set_current_theme(theme)
    app.setPalette(build_palette(theme))
    app.setStyleSheet(stylesheet(theme))


@pytest.mark.qt_log_ignore("does not support grabbing the keyboard", "does not support raise")
@pytest.mark.parametrize("theme", [LIGHT, DARK], ids=["light", "dark"])
def test_open_dropdowns_draw_the_current_item_with_contrast(
    open_ctx: AppContext, qtbot: Any, show: Show, theme: Theme
) -> None:
    from ato_desktop.ui.chat.target_picker import TargetPicker
    from ato_desktop.ui.insights.compare_view import CompareView
    from ato_desktop.ui.replay.target_form import ReplayTargetForm

    _apply(theme)
    try:
        telemetry = TelemetryView()  # the Outcome filter
        compare = CompareView(open_ctx)  # Compare's agent
        compare.agent_combo.addItems(["support-triage", "code-reviewer", "data-analyst"])
        replay = ReplayTargetForm(open_ctx)  # Replay's runtime
        chat = TargetPicker()  # Chat's agent
        chat.agent_combo.addItems(["No agent", "support-triage", "code-reviewer"])
        show(telemetry, compare, replay, chat, width=900, height=760)
        combos = (telemetry.outcome, compare.agent_combo, replay.runtime_combo, chat.agent_combo)
        for combo in combos:
            assert combo.count() >= 3
            assert isinstance(combo, QComboBox)
            combo.setCurrentIndex(1)
            combo.showPopup()
            view = combo.view()
            qtbot.waitUntil(view.isVisible, timeout=2000)
            QApplication.processEvents()
            image = view.viewport().grab().toImage()
            current = view.visualRect(view.model().index(1, 0))
            other = view.visualRect(view.model().index(2, 0))
            current_bg, current_contrast = _row_colours(image, current)
            other_bg, _ = _row_colours(image, other)
            # The current item stands out from the others, and its text from its background.
            assert _contrast(current_bg, other_bg) >= 1.5, (current_bg.name(), other_bg.name())
            assert current_contrast >= 3.0, (theme.name, combo.objectName(), current_bg.name())
            combo.hidePopup()
    finally:
        _apply(LIGHT)


def _wheel(widget: QWidget, steps: int = -1) -> None:
    point = QPointF(widget.rect().center())
    event = QWheelEvent(
        point,
        QPointF(widget.mapToGlobal(widget.rect().center())),
        QPoint(0, 0),
        QPoint(0, 120 * steps),
        Qt.MouseButton.NoButton,
        Qt.KeyboardModifier.NoModifier,
        Qt.ScrollPhase.NoScrollPhase,
        False,
    )
    QApplication.sendEvent(widget, event)


def test_the_wheel_scrolls_settings_and_changes_a_field_only_when_it_is_chosen(
    window: MainWindow, qtbot: Any
) -> None:
    window.navigate("settings", {"section": "sync"})
    page = window.page("settings")
    port = page.sync.receiver_port
    qtbot.waitUntil(port.isVisible, timeout=5000)
    assert port.focusPolicy() == Qt.FocusPolicy.StrongFocus  # the wheel gives it no focus
    scroll = next(a for a in page.findChildren(QScrollArea) if a.isAncestorOf(port))
    bar = scroll.verticalScrollBar()
    bar.setValue(bar.maximum() // 2)
    before, value = bar.value(), port.value()
    window.setFocus()
    _wheel(port, steps=-2)  # scrolling the page over the field, down
    assert port.value() == value  # untouched (it went 4318 -> 4312 before)
    assert bar.maximum() == 0 or bar.value() != before  # the page scrolled instead
    port.setFocus()
    qtbot.waitUntil(port.hasFocus, timeout=2000)
    _wheel(port, steps=1)  # chosen: now the wheel steps it
    assert port.value() == value + 1


def test_the_shortcut_overlay_lists_keys_in_a_sensible_order(
    window: MainWindow, qtbot: Any
) -> None:
    for page_id in ("chat", "agents", "runs"):
        window.navigate(page_id)  # their own keys join the registry
    window.show_shortcuts()
    dialog = window.findChild(ShortcutsDialog)
    assert dialog is not None
    tree = dialog.findChild(QTreeWidget, "ShortcutTree")
    groups = [tree.topLevelItem(i).text(0) for i in range(tree.topLevelItemCount())]
    assert groups == ["Anywhere", "Chat page", "Agents page", "Runs page"]  # sidebar order
    anywhere = tree.topLevelItem(0)
    titles = [anywhere.child(i).text(1) for i in range(anywhere.childCount())]
    # Going places first, in the sidebar's order (Ctrl+1, Ctrl+2, ...), then search; the app's
    # own keys (help, quit) last.
    goes = [t for t in titles if t.startswith("Go to ")]
    assert goes == [
        "Go to Chat",
        "Go to Agents",
        "Go to Runs",
        "Go to Insights",
        "Go to Automations",
        "Go to Settings",
    ]
    assert titles.index("Search everything…") == len(goes)
    assert titles[-2:] == ["Keyboard shortcuts", "Quit"]
    keys = [anywhere.child(i).text(0) for i in range(len(goes))]
    assert keys[:5] == ["Ctrl+1", "Ctrl+2", "Ctrl+3", "Ctrl+4", "Ctrl+5"]
    dialog.close()


def test_cost_gives_why_not_the_room_when_nothing_qualifies(
    open_ctx: AppContext, qtbot: Any, show: Show
) -> None:
    agents = open_ctx.workspace.agents
    agents.create("writer", AgentConfig("codex", "gpt-5-mini"), source="test")
    start = now_ms() - 5 * DAY
    priced_runs(open_ctx.workspace.store, "writer", "d1", 4, 0.004, ok=4, start=start)
    agents.edit("writer", {"runtime": "claude", "model": "claude-sonnet-5"})
    priced_runs(open_ctx.workspace.store, "writer", "d2", 30, 0.020, ok=30, start=start + DAY)
    view = loaded_view(open_ctx, qtbot, show)
    assert view.state == STATE_NONE
    view.why_not_button.setChecked(True)
    QApplication.processEvents()
    explanation, tree = view.explanation, view.why_not
    # The one line is as tall as its text (no empty box), the table below gets the height.
    assert explanation.height() <= explanation.heightForWidth(explanation.width()) + 40
    assert tree.height() > 3 * explanation.height()
    view.why_not_button.setChecked(False)
    QApplication.processEvents()
    assert explanation.height() <= explanation.heightForWidth(explanation.width()) + 40


def _canvas(middle_cards: int) -> tuple[AutomationScene, Any]:
    """A hook (column 0) reaching an agent two columns away, past `middle_cards` pipelines'
    cards stacked in column 1 (each also handing off to the agent)."""
    nodes = [GraphNode("hook", NodeKind.HOOK, "escalate", 0)]
    nodes += [GraphNode(f"p{i}", NodeKind.PIPELINE, f"pipe-{i}", 1) for i in range(middle_cards)]
    nodes.append(GraphNode("agent", NodeKind.AGENT, "editor", 2))
    edges = [GraphEdge("hook", "agent", EdgeKind.DISPATCHES, "on failed")]
    edges += [GraphEdge(f"p{i}", "agent", EdgeKind.STAGE) for i in range(middle_cards)]
    scene = AutomationScene()
    scene.set_graph(AutomationGraph(tuple(nodes), tuple(edges)))
    hook_edge = next(e for e in scene.edges if e.edge.src == "hook")
    return scene, hook_edge


def _render(scene: AutomationScene) -> QImage:
    from PySide6.QtGui import QPainter

    image = QImage(scene.sceneRect().size().toSize(), QImage.Format.Format_ARGB32)
    image.fill(QColor("white"))
    painter = QPainter(image)
    scene.render(painter, QRectF(image.rect()), scene.sceneRect())
    painter.end()
    return image


def test_an_edge_that_would_pass_under_a_card_bends_around_it(qtbot: Any) -> None:
    scene, edge = _canvas(1)
    cards = [item.sceneBoundingRect() for key, item in scene.nodes.items() if key.startswith("p")]
    straight = QPainterPath(edge.start)  # its usual course runs under the pipeline's card
    dx = (edge.end.x() - edge.start.x()) / 2
    straight.cubicTo(
        QPointF(edge.start.x() + dx, edge.start.y()), QPointF(edge.end.x() - dx, edge.end.y()),
        edge.end,
    )  # fmt: skip
    assert any(
        cards[0].adjusted(2, 2, -2, -2).contains(straight.pointAtPercent(i / 48)) for i in range(49)
    )
    # Bent: it passes no card, under the cards as every edge, its label off them.
    assert edge.bend != 0 and not edge.crossed_cards(cards)
    assert not edge.crosses_node and edge.zValue() < scene.nodes["p0"].zValue()
    assert not any(card.intersects(edge._label_rect) for card in cards)
    assert not _render(scene).isNull()


def test_an_edge_that_cannot_clear_the_cards_is_drawn_over_them(qtbot: Any) -> None:
    scene, edge = _canvas(13)  # a wall of cards: no bend clears it
    cards = [item.sceneBoundingRect() for key, item in scene.nodes.items() if key.startswith("p")]
    assert edge.crossed_cards(cards)
    assert edge.crosses_node and all(
        edge.zValue() > scene.nodes[f"p{i}"].zValue() for i in range(13)
    )
    assert not any(card.intersects(edge._label_rect) for card in cards)  # its label stays legible
    # Rendered: on a card it crosses, the edge's pixels show (not the card's face).
    card = next(c for c in cards if edge.passes_through(c))
    point = next(
        edge.path.pointAtPercent(i / 200)
        for i in range(201)
        if card.adjusted(6, 6, -6, -6).contains(edge.path.pointAtPercent(i / 200))
    )
    image = _render(scene)
    origin = scene.sceneRect().topLeft()
    face = image.pixelColor(
        int(card.center().x() - origin.x()), int(card.bottom() - 8 - origin.y())
    )
    near = [
        image.pixelColor(int(point.x() - origin.x()) + dx, int(point.y() - origin.y()) + dy)
        for dx in (-1, 0, 1)
        for dy in (-1, 0, 1)
    ]
    assert any(_contrast(c, face) > 1.3 for c in near)


def test_the_sync_line_does_not_say_synced_before_anything_was_sent() -> None:
    status = SyncStatus(
        SyncState.IDLE, "https://otlp.example.com/v1/traces", 0, 0, None, None, 0, 0, None,
        None, 0, None, None,
    )  # fmt: skip
    assert status.line == "Nothing sent yet: runs go as they end · 0 queued"
    sent = SyncStatus(
        SyncState.IDLE, "https://otlp.example.com/v1/traces", 0, 0, None, int(time.time() * 1000),
        3, 3, None, None, 0, None, None,
    )  # fmt: skip
    assert sent.line.startswith("Synced · 0 queued · last success ")


def test_the_inspectors_details_scroll_instead_of_overlapping_at_1280(
    window: MainWindow, qtbot: Any, tmp_path: Path
) -> None:
    store = window.ctx.workspace.store
    t = now_ms()
    run_id = f"{t:012x}" + "ef" * 10
    store.ingest(
        [
            (
                NewRun("claude", "claude-sonnet-5", "cli", t - 5000, id=run_id),
                RunEnd("completed", t, 5_000_000_000),
                [
                    NewAction("call_llm", "llm", "success", t - 5000, t - 4000),
                    NewAction(
                        "write_note",
                        "tool",
                        "success",
                        t - 4000,
                        t - 3000,
                        meta={"server": "shop", "read_only": False, "approval": "approved"},
                    ),
                ],
            )
        ]
    ).result()
    window.navigate("runs", {"run_id": run_id, "seq": 2})
    page = window.page("runs")
    assert isinstance(page, RunsPage)
    inspector = page.details.telemetry.inspector
    qtbot.waitUntil(
        lambda: inspector.isVisible() and inspector.compliance is not None, timeout=10_000
    )
    inspector.compliance_toggle.setChecked(True)
    QApplication.processEvents()
    assert window.grab().save(str(tmp_path / "inspector-1280x820.png"))
    from PySide6.QtWidgets import QLabel

    labels = [
        label
        for label in inspector.findChild(QWidget, "InspectorDetails").findChildren(QLabel)
        if label.isVisible() and label.text()
    ]
    for label in labels:  # every line as tall as its text: none squeezed over another
        needed = (
            label.heightForWidth(label.width()) if label.wordWrap() else label.sizeHint().height()
        )
        assert label.height() + 1 >= needed, (label.text()[:40], label.height(), needed)
    assert inspector.json.height() >= 140  # the payload keeps its room
