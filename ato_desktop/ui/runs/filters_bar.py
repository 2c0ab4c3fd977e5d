"""The Runs page filters: status chips, agent (type to search), minimum cost and time window.

The state is a small frozen dataclass that turns into a store RunFilter and is remembered in
the app settings (an ini file in the data directory), so a new Runs page opens as the user left
it.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import (
    QRegularExpression,
    QSettings,
    QSize,
    QStringListModel,
    Qt,
    QTimer,
    Signal,
)
from PySide6.QtGui import QColor, QIcon, QPainter, QPixmap, QRegularExpressionValidator
from PySide6.QtWidgets import (
    QButtonGroup,
    QCompleter,
    QFrame,
    QHBoxLayout,
    QLineEdit,
    QPushButton,
    QSizePolicy,
    QWidget,
)

from ato_desktop.core.chart_buckets import range_label
from ato_desktop.core.coerce import as_money
from ato_desktop.core.records import RunFilter
from ato_desktop.core.run_filter import (
    METADATA_HELP,
    MetadataQuery,
    MetadataQueryError,
    parse_metadata,
)
from ato_desktop.core.timefmt import TIME_WINDOWS, window_start_ms
from ato_desktop.ui.theme import current_theme
from ato_desktop.ui.widgets.flow_layout import FlowLayout

# Chips: label, the statuses they stand for, the theme colour of their dot.
STATUS_CHIPS: tuple[tuple[str, str, tuple[str, ...], str], ...] = (
    ("running", "Running", ("running",), "running"),
    ("completed", "Completed", ("completed",), "completed"),
    ("failed", "Failed", ("failed",), "failed"),
    ("stopped", "Killed / interrupted", ("killed", "interrupted"), "neutral"),
)
WINDOW_LABELS = {"24h": "24 h", "7d": "7 d", "30d": "30 d", "all": "All time"}
DEFAULT_WINDOW = "all"
RANGE_WINDOW = "range"  # a time range picked on the Runs timeline
_SETTINGS_PREFIX = "runs/filters/"


@dataclass(frozen=True, slots=True)
class RunsFilterState:
    """What the filter bar shows; combines into one RunFilter (AND)."""

    statuses: tuple[str, ...] = ()  # run statuses; empty = any
    agent_id: str | None = None
    agent_name: str | None = None  # shown in the search field
    agent_version_id: str | None = None
    agent_version_label: str | None = None  # e.g. "v3", shown on the version chip
    min_cost_usd: float | None = None
    window: str = DEFAULT_WINDOW
    metadata: str = ""  # "user:alice tenant:acme error:timeout >30s" (core.run_filter)
    include_simulations: bool = False  # simulation replays are hidden unless asked for
    # window "range": runs started in [range_since_ms, range_until_ms) (a drag on the timeline)
    range_since_ms: int | None = None
    range_until_ms: int | None = None

    @property
    def has_range(self) -> bool:
        return (
            self.window == RANGE_WINDOW
            and self.range_since_ms is not None
            and self.range_until_ms is not None
        )

    def to_run_filter(self, now_ms: int) -> RunFilter:
        try:
            meta = parse_metadata(self.metadata)
        except MetadataQueryError:  # the bar never keeps text it cannot read; belt and braces
            meta = MetadataQuery()
        since_ms = (
            self.range_since_ms
            if self.has_range
            else window_start_ms(self.window if self.window in TIME_WINDOWS else "all", now_ms)
        )
        return RunFilter(
            statuses=self.statuses,
            agent_id=self.agent_id,
            agent_version_id=self.agent_version_id,
            since_ms=since_ms,
            until_ms=self.range_until_ms if self.has_range else None,
            min_cost_usd=self.min_cost_usd if self.min_cost_usd else None,
            tags=meta.tags,
            error_class=meta.error_class,
            min_duration_ms=meta.min_duration_ms,
            include_simulations=self.include_simulations,
        )

    @property
    def is_narrowed(self) -> bool:
        """Any filter beyond 'everything, all time'."""
        return bool(
            self.statuses
            or self.agent_id
            or self.agent_version_id
            or self.min_cost_usd
            or self.metadata
            or self.window != "all"
        )

    def describe(self) -> str:
        """One line for the export dialog: 'failed, killed · agent writer · 7 d · ≥ $0.50'."""
        parts = [", ".join(self.statuses) if self.statuses else "any status"]
        if self.agent_id:
            agent = f"agent {self.agent_name or self.agent_id[-8:]}"
            if self.agent_version_label:
                agent += f" {self.agent_version_label}"
            parts.append(agent)
        parts.append(self.window_label())
        if self.min_cost_usd:
            parts.append(f"≥ ${self.min_cost_usd:,.2f}")
        if self.metadata:
            parts.append(self.metadata)
        if self.include_simulations:
            parts.append("simulations included")
        return " · ".join(parts)

    def window_label(self) -> str:
        if self.has_range:
            assert self.range_since_ms is not None and self.range_until_ms is not None
            return range_label(self.range_since_ms, self.range_until_ms)
        return WINDOW_LABELS.get(self.window, self.window)

    def save(self, settings: QSettings) -> None:
        values: dict[str, Any] = {
            "statuses": ",".join(self.statuses),
            "agent_id": self.agent_id or "",
            "agent_name": self.agent_name or "",
            "agent_version_id": self.agent_version_id or "",
            "agent_version_label": self.agent_version_label or "",
            "min_cost_usd": "" if not self.min_cost_usd else repr(self.min_cost_usd),
            "window": self.window,
            "metadata": self.metadata,
            "range_since_ms": "" if self.range_since_ms is None else str(self.range_since_ms),
            "range_until_ms": "" if self.range_until_ms is None else str(self.range_until_ms),
            "include_simulations": "true" if self.include_simulations else "false",
        }
        for key, value in values.items():
            settings.setValue(_SETTINGS_PREFIX + key, value)

    @classmethod
    def load(cls, settings: QSettings) -> RunsFilterState:
        def text(key: str) -> str:
            value = settings.value(_SETTINGS_PREFIX + key, "")
            if isinstance(value, list):  # QSettings reads "a,b" back as a list
                return ",".join(str(v) for v in value)
            return str(value or "")

        known = {s for chip in STATUS_CHIPS for s in chip[2]}
        statuses = tuple(s for s in text("statuses").split(",") if s in known)
        window = text("window") or DEFAULT_WINDOW
        cost = as_money(text("min_cost_usd"))
        metadata = text("metadata")
        try:
            parse_metadata(metadata)
        except MetadataQueryError:
            metadata = ""
        since, until = _int_or_none(text("range_since_ms")), _int_or_none(text("range_until_ms"))
        ranged = window == RANGE_WINDOW and since is not None and until is not None
        return cls(
            statuses=statuses,
            agent_id=text("agent_id") or None,
            agent_name=text("agent_name") or None,
            agent_version_id=text("agent_version_id") or None,
            agent_version_label=text("agent_version_label") or None,
            min_cost_usd=cost if cost and cost > 0 else None,
            window=window if window in TIME_WINDOWS or ranged else DEFAULT_WINDOW,
            metadata=metadata,
            range_since_ms=since if ranged else None,
            range_until_ms=until if ranged else None,
            include_simulations=text("include_simulations").lower() == "true",
        )


def _int_or_none(text: str) -> int | None:
    try:
        return int(text)
    except ValueError:
        return None


def _start_if_cleared(timer: QTimer, text: str) -> None:
    """A field emptied (its clear button) applies at once, like an edit after the pause."""
    if not text:
        timer.start()


def _group(name: str) -> tuple[QWidget, QHBoxLayout]:
    """A row of controls that wraps as one piece."""
    group = QWidget()
    group.setObjectName(name)
    row = QHBoxLayout(group)
    row.setContentsMargins(0, 0, 0, 0)
    row.setSpacing(6)
    group.setSizePolicy(QSizePolicy.Policy.Fixed, QSizePolicy.Policy.Fixed)
    return group, row


def dot_icon(color: QColor, *, hollow: bool = False, size: int = 10) -> QIcon:
    pixmap = QPixmap(size * 2, size * 2)
    pixmap.setDevicePixelRatio(2.0)
    pixmap.fill(Qt.GlobalColor.transparent)
    painter = QPainter(pixmap)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    if hollow:
        painter.setPen(color)
        painter.setBrush(Qt.BrushStyle.NoBrush)
    else:
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(color)
    painter.drawEllipse(2, 2, size - 4, size - 4)
    painter.end()
    return QIcon(pixmap)


class FiltersBar(QFrame):
    """Status chips, agent search, min cost and time window; emits the combined state."""

    sig_filters_changed = Signal(object)  # RunsFilterState

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("RunsFiltersBar")
        self._state = RunsFilterState()
        self._agents: dict[str, str] = {}  # lower-case name -> id
        self._names: dict[str, str] = {}  # id -> name
        self._updating = False

        # Three groups that wrap as wholes when the window is narrow (the default 1280 px one
        # cannot hold them in a row): the status chips, the fields, the time window and Reset.
        layout = FlowLayout(self, spacing=12, row_spacing=8)
        chips_group, chips = _group("FilterChips")
        fields_group, fields = _group("FilterFields")
        window_group, window_row = _group("FilterWindow")

        self._chips: dict[str, QPushButton] = {}
        for key, label, _statuses, colour in STATUS_CHIPS:
            chip = QPushButton(label)
            chip.setObjectName(f"StatusChip_{key}")
            chip.setProperty("chip", True)
            chip.setCheckable(True)
            chip.setToolTip(f"Show {label.lower()} runs (combine several, or none for all)")
            chip.setIcon(dot_icon(current_theme().color(colour), hollow=key == "stopped"))
            chip.setIconSize(QSize(10, 10))
            chip.toggled.connect(self._on_chip_toggled)
            chips.addWidget(chip)
            self._chips[key] = chip

        self.agent_edit = QLineEdit()
        self.agent_edit.setObjectName("AgentFilter")
        self.agent_edit.setPlaceholderText("Agent: type to search")
        self.agent_edit.setClearButtonEnabled(True)
        self.agent_edit.setMinimumWidth(150)
        self.agent_edit.setMaximumWidth(220)
        self._agent_model = QStringListModel(self)
        completer = QCompleter(self._agent_model, self)
        completer.setCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
        completer.setFilterMode(Qt.MatchFlag.MatchContains)
        completer.setCompletionMode(QCompleter.CompletionMode.PopupCompletion)
        completer.activated.connect(self._on_agent_chosen)
        self.agent_edit.setCompleter(completer)
        self.agent_edit.editingFinished.connect(self._on_agent_edited)
        self.agent_edit.textChanged.connect(self._on_agent_text)
        fields.addWidget(self.agent_edit)

        self.version_chip = QPushButton("")
        self.version_chip.setObjectName("VersionChip")
        self.version_chip.setProperty("chip", True)
        self.version_chip.setToolTip("Only runs of this config version; click to clear")
        self.version_chip.clicked.connect(self._clear_version)
        self.version_chip.hide()
        fields.addWidget(self.version_chip)

        self.cost_edit = QLineEdit()
        self.cost_edit.setObjectName("MinCost")
        self.cost_edit.setPlaceholderText("Min cost $")
        self.cost_edit.setClearButtonEnabled(True)
        self.cost_edit.setValidator(
            QRegularExpressionValidator(QRegularExpression(r"\s*\$?\s*\d{0,7}([.]\d{0,4})?\s*"))
        )
        self.cost_edit.setToolTip("Only runs that cost at least this much (USD); empty for any")
        self.cost_edit.setFixedWidth(112)
        self._cost_timer = QTimer(self, singleShot=True, interval=350)
        self._cost_timer.timeout.connect(self._emit)
        self.cost_edit.textEdited.connect(lambda _t: self._cost_timer.start())
        self.cost_edit.textChanged.connect(lambda t: _start_if_cleared(self._cost_timer, t))
        fields.addWidget(self.cost_edit)

        self.meta_edit = QLineEdit()
        self.meta_edit.setObjectName("MetadataFilter")
        self.meta_edit.setPlaceholderText("user:… tenant:… error:… >30s")
        self.meta_edit.setClearButtonEnabled(True)
        self.meta_edit.setToolTip(f"Search run metadata: {METADATA_HELP}")
        # Wide enough for its placeholder: it is the only hint of what the field takes.
        hint = self.meta_edit.fontMetrics().horizontalAdvance(self.meta_edit.placeholderText())
        self.meta_edit.setMinimumWidth(hint + 28)
        self.meta_edit.setMaximumWidth(max(240, hint + 28))
        self._meta_timer = QTimer(self, singleShot=True, interval=450)
        self._meta_timer.timeout.connect(self._emit)
        self.meta_edit.textEdited.connect(lambda _t: self._meta_timer.start())
        self.meta_edit.textChanged.connect(lambda t: _start_if_cleared(self._meta_timer, t))
        self.meta_edit.returnPressed.connect(self._emit)
        fields.addWidget(self.meta_edit)
        self.meta_error = ""  # why the text typed cannot be read ("" when it can)

        self._windows = QButtonGroup(self)
        self._windows.setExclusive(True)
        segment = QWidget()
        segment.setObjectName("WindowSegment")
        seg_layout = QHBoxLayout(segment)
        seg_layout.setContentsMargins(0, 0, 0, 0)
        seg_layout.setSpacing(0)
        for i, window in enumerate(TIME_WINDOWS):
            button = QPushButton(WINDOW_LABELS[window])
            button.setObjectName(f"Window_{window}")
            button.setCheckable(True)
            button.setProperty("segment", "first" if i == 0 else "last" if i == 3 else "mid")
            button.setToolTip("Runs started in the last " + WINDOW_LABELS[window].lower())
            self._windows.addButton(button)
            seg_layout.addWidget(button)
            button.toggled.connect(self._on_window_toggled)
        self._window_buttons = {
            w: b for w, b in zip(TIME_WINDOWS, self._windows.buttons(), strict=True)
        }
        self._window_buttons["all"].setToolTip("Runs of all time")
        window_row.addWidget(segment)

        self.range_chip = QPushButton("")
        self.range_chip.setObjectName("RangeChip")
        self.range_chip.setProperty("chip", True)
        self.range_chip.setToolTip(
            "Runs started in this range (picked on the timeline); click to clear"
        )
        self.range_chip.clicked.connect(self._clear_range)
        self.range_chip.hide()
        window_row.addWidget(self.range_chip)

        self.reset_button = QPushButton("Reset")
        self.reset_button.setObjectName("ResetFilters")
        self.reset_button.setFlat(True)
        self.reset_button.setToolTip("Clear every filter")
        self.reset_button.clicked.connect(self.reset)
        window_row.addWidget(self.reset_button)
        for group in (chips_group, fields_group, window_group):
            layout.addWidget(group)
        self._flow = layout
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)
        self._show_state(self._state)

    # -- public --------------------------------------------------------------------------------

    @property
    def rows(self) -> int:
        """How many rows the bar takes at its width (1 when everything fits)."""
        return self._flow.rows(self.contentsRect().width())

    def state(self) -> RunsFilterState:
        return self._state

    def set_state(self, state: RunsFilterState, *, emit: bool = True) -> None:
        self._state = state
        self._show_state(state)
        if emit:
            self.sig_filters_changed.emit(state)

    def reset(self) -> None:
        # Showing simulations is a choice of what the list holds, not a filter to clear.
        self.set_state(RunsFilterState(include_simulations=self._state.include_simulations))

    def set_agents(self, agents: list[tuple[str, str]]) -> None:
        """(id, name) of every agent, for type-to-search."""
        self._agents = {name.lower(): agent_id for agent_id, name in agents}
        self._names = dict(agents)
        self._agent_model.setStringList(sorted((name for _, name in agents), key=str.lower))
        state = self._state
        if state.agent_id and state.agent_id in self._names:
            name = self._names[state.agent_id]
            if name != state.agent_name:
                self._state = dataclasses.replace(state, agent_name=name)
                self._show_state(self._state)

    def agent_name(self, agent_id: str) -> str | None:
        return self._names.get(agent_id)

    def apply_theme(self) -> None:
        """Repaint the chips' dots in the current theme's colours."""
        for key, _label, _statuses, colour in STATUS_CHIPS:
            self._chips[key].setIcon(
                dot_icon(current_theme().color(colour), hollow=key == "stopped")
            )

    def focus_search(self) -> None:
        self.agent_edit.setFocus(Qt.FocusReason.ShortcutFocusReason)
        self.agent_edit.selectAll()

    # -- internals -----------------------------------------------------------------------------

    def _show_state(self, state: RunsFilterState) -> None:
        self._updating = True
        try:
            for key, _label, statuses, _c in STATUS_CHIPS:
                self._chips[key].setChecked(all(s in state.statuses for s in statuses))
            text = state.agent_name or (state.agent_id[-8:] if state.agent_id else "")
            if self.agent_edit.text() != text:
                self.agent_edit.setText(text)
            self.version_chip.setVisible(bool(state.agent_version_id))
            self.version_chip.setText(f"{state.agent_version_label or 'version'}  ✕")
            cost = f"{state.min_cost_usd:g}" if state.min_cost_usd else ""
            if as_money(self.cost_edit.text()) != state.min_cost_usd:
                self.cost_edit.setText(cost)
            if self.meta_edit.text().strip() != state.metadata:
                self.meta_edit.setText(state.metadata)
                self._set_meta_error("")
            self.range_chip.setVisible(state.has_range)
            if state.has_range:
                self.range_chip.setText(f"{state.window_label()}  ✕")
                self._windows.setExclusive(False)
                for button in self._window_buttons.values():
                    button.setChecked(False)
                self._windows.setExclusive(True)
            else:
                button = self._window_buttons.get(state.window, self._window_buttons["all"])
                button.setChecked(True)
            self.reset_button.setVisible(state.is_narrowed)
        finally:
            self._updating = False

    def _collect(self) -> RunsFilterState:
        statuses: list[str] = []
        for key, _label, chip_statuses, _c in STATUS_CHIPS:
            if self._chips[key].isChecked():
                statuses.extend(chip_statuses)
        window = next((w for w, b in self._window_buttons.items() if b.isChecked()), None)
        if window is None:
            window = RANGE_WINDOW if self._state.has_range else "all"
        ranged = window == RANGE_WINDOW
        cost = as_money(self.cost_edit.text()) or 0.0
        metadata = self._state.metadata
        text = self.meta_edit.text().strip()
        try:
            parse_metadata(text)
        except MetadataQueryError as exc:
            self._set_meta_error(str(exc))  # keep the last readable search until fixed
        else:
            self._set_meta_error("")
            metadata = text
        return dataclasses.replace(
            self._state,
            statuses=tuple(statuses),
            min_cost_usd=cost if cost > 0 else None,
            window=window,
            metadata=metadata,
            range_since_ms=self._state.range_since_ms if ranged else None,
            range_until_ms=self._state.range_until_ms if ranged else None,
        )

    def set_range(self, since_ms: int, until_ms: int) -> None:
        """Show runs started in [since_ms, until_ms) (the timeline's drag or click)."""
        self.set_state(
            dataclasses.replace(
                self._state,
                window=RANGE_WINDOW,
                range_since_ms=since_ms,
                range_until_ms=max(until_ms, since_ms + 1),
            )
        )

    def _clear_range(self) -> None:
        self.set_state(
            dataclasses.replace(self._state, window="all", range_since_ms=None, range_until_ms=None)
        )

    def _set_meta_error(self, error: str) -> None:
        self.meta_error = error
        self.meta_edit.setProperty("invalid", bool(error))
        self.meta_edit.setToolTip(error or f"Search run metadata: {METADATA_HELP}")
        self.meta_edit.style().unpolish(self.meta_edit)
        self.meta_edit.style().polish(self.meta_edit)

    def _on_window_toggled(self, checked: bool) -> None:
        if checked and not self._updating:
            self._emit()

    def _emit(self) -> None:
        if self._updating:
            return
        state = self._collect()
        if state != self._state:
            self._state = state
            self.reset_button.setVisible(state.is_narrowed)
            self.sig_filters_changed.emit(state)

    def _on_chip_toggled(self, _checked: bool) -> None:
        self._emit()

    def _set_agent(self, agent_id: str | None, name: str | None) -> None:
        state = self._state
        if agent_id == state.agent_id:
            return
        self._state = dataclasses.replace(
            state,
            agent_id=agent_id,
            agent_name=name,
            agent_version_id=None,
            agent_version_label=None,
        )
        self._show_state(self._state)
        self.sig_filters_changed.emit(self._state)

    def _on_agent_chosen(self, name: str) -> None:
        agent_id = self._agents.get(name.lower())
        if agent_id is not None:
            self._set_agent(agent_id, name)

    def _on_agent_edited(self) -> None:
        text = self.agent_edit.text().strip()
        if not text:
            self._set_agent(None, None)
            return
        agent_id = self._agents.get(text.lower())
        if agent_id is None:
            matches = [n for n in self._agents if text.lower() in n]
            if len(matches) == 1:
                agent_id = self._agents[matches[0]]
                text = self._names.get(agent_id, text)
        if agent_id is not None:
            self._set_agent(agent_id, text)

    def _on_agent_text(self, text: str) -> None:
        if not text and self._state.agent_id and not self._updating:
            self._set_agent(None, None)  # the clear button

    def _clear_version(self) -> None:
        self._state = dataclasses.replace(
            self._state, agent_version_id=None, agent_version_label=None
        )
        self._show_state(self._state)
        self.sig_filters_changed.emit(self._state)


def filters_stylesheet() -> str:
    """Chip and segmented-button styling, from the current theme."""
    t = current_theme()
    return f"""
    QPushButton[chip="true"] {{ border-radius: 13px; padding: 4px 11px; min-height: 17px;
        background: {t.surface}; color: {t.text_muted}; }}
    QPushButton[chip="true"]:checked {{ background: {t.surface_alt}; color: {t.text};
        border: 1px solid {t.accent}; }}
    QWidget#WindowSegment QPushButton {{ border-radius: 0px; padding: 4px 10px;
        min-height: 17px; color: {t.text_muted}; margin-left: -1px; }}
    QWidget#WindowSegment QPushButton[segment="first"] {{ border-top-left-radius: 6px;
        border-bottom-left-radius: 6px; margin-left: 0px; }}
    QWidget#WindowSegment QPushButton[segment="last"] {{ border-top-right-radius: 6px;
        border-bottom-right-radius: 6px; }}
    QWidget#WindowSegment QPushButton:checked {{ background: {t.accent};
        color: {t.accent_text}; border-color: {t.accent}; }}
    QPushButton#ResetFilters {{ border: none; color: {t.accent}; padding: 4px 6px; }}
    QPushButton#ResetFilters:hover {{ text-decoration: underline; }}
    QLineEdit#MetadataFilter[invalid="true"] {{ border: 1px solid {t.failed}; }}
    """
