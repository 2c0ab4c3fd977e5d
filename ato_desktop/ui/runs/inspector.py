"""The operation inspector: the sidebar beside the action list that shows one action in full.

Metadata (run id, seq, span id, timestamps, tokens, cost, tags), for a tool call its server,
whether it is read-only and its approval (who answered, when), for a coding agent's step the
files it touched, the error if it failed, the run's compliance section (what applied to it:
config version, approvals, redaction, sync, retention; collapsed to one line until opened), and
the inputs, outputs and meta as highlighted JSON. Large or binary payloads are handled by
JsonView (formatted off the UI thread, truncated view, Save to file); a part with nothing
recorded says so instead of showing `null`.
"""

from __future__ import annotations

import html
from typing import Any

from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtWidgets import (
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QScrollArea,
    QSizePolicy,
    QTabBar,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from ato_desktop.core.compliance import ComplianceFacts, approval_fact
from ato_desktop.core.cost_rollup import format_cost
from ato_desktop.core.figures import DASH
from ato_desktop.core.records import ActionRecord, RunRecord
from ato_desktop.core.run_json import span_id
from ato_desktop.core.timefmt import human_duration
from ato_desktop.ui.runs.compliance_text import (
    approval_text,
    compliance_rows,
    compliance_summary,
)
from ato_desktop.ui.runs.formatting import full_time, precise_time, short_id
from ato_desktop.ui.theme import current_theme
from ato_desktop.ui.widgets.json_view import JsonView, monospace_font

PARTS = ("inputs", "outputs", "meta")
PART_TITLES = {"inputs": "Inputs", "outputs": "Outputs", "meta": "Meta"}
MAX_FILES_SHOWN = 40
APPROVAL_TEXT = {
    "requested": "Waiting for approval",
    "approved": "Approved before it ran",
    "denied": "Denied: it was not run",
}
CHANGE_COLOURS = {"created": "completed", "edited": "accent", "deleted": "failed"}
NOTHING_RECORDED = {
    "inputs": "No inputs were recorded for this action.",
    "outputs": "No outputs were recorded for this action.",
    "meta": "No metadata was recorded for this action.",
}


def action_meta(action: ActionRecord) -> dict[str, Any]:
    return action.meta if isinstance(action.meta, dict) else {}


def files_touched(action: ActionRecord) -> list[tuple[str, str]]:
    """(path, change) of the files a coding-agent step created, edited or deleted."""
    touched = action_meta(action).get("files_touched")
    if not isinstance(touched, list):
        return []
    files = []
    for entry in touched:
        if isinstance(entry, dict) and entry.get("path"):
            files.append((str(entry["path"]), str(entry.get("change") or "changed")))
    return files


def read_only_text(meta: dict[str, Any]) -> str:
    value = meta.get("read_only")
    if value is True:
        return "Yes: it only reads (simulation may re-run it)"
    if value is False:
        return "No: it may change things"
    return DASH


def files_html(files: list[tuple[str, str]]) -> str:
    """The files a step touched, one per line: the change (coloured), then the path."""
    theme = current_theme()
    rows = []
    for path, change in files[:MAX_FILES_SHOWN]:
        colour = getattr(theme, CHANGE_COLOURS.get(change, "neutral"))
        rows.append(
            f"<tr><td style='padding:1px 10px 1px 0; color:{colour}; font-weight:600'>"
            f"{html.escape(change)}</td><td style='padding:1px 0'>{html.escape(path)}</td></tr>"
        )
    more = len(files) - MAX_FILES_SHOWN
    tail = f"<p style='color:{theme.text_muted}'>… and {more} more</p>" if more > 0 else ""
    return f"<table cellspacing='0' cellpadding='0'>{''.join(rows)}</table>{tail}"


class _FittingScrollArea(QScrollArea):
    """A scroll area that asks for as much height as its contents need, as they are now (Qt's
    caches its contents' first size hint), and scrolls when it gets less."""

    def sizeHint(self) -> QSize:
        widget = self.widget()
        if widget is None:
            return super().sizeHint()
        hint = widget.sizeHint()
        frame = 2 * self.frameWidth()
        return QSize(hint.width() + frame, hint.height() + frame)


class OperationInspector(QFrame):
    """One action in full. Esc (the page's command) or the close button hides it."""

    sig_closed = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("OperationInspector")
        self.setMinimumWidth(320)
        self._run: RunRecord | None = None
        self._row: Any = None  # telemetry.ActionRow
        self._part = "inputs"

        layout = QVBoxLayout(self)
        layout.setContentsMargins(12, 10, 12, 10)
        layout.setSpacing(8)

        header = QHBoxLayout()
        self.title = QLabel("")
        self.title.setObjectName("InspectorTitle")
        self.title.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        header.addWidget(self.title, 1)
        self.outcome = QLabel("")
        self.outcome.setObjectName("InspectorOutcome")
        header.addWidget(self.outcome)
        close = QToolButton()
        close.setObjectName("InspectorClose")
        close.setText("✕")
        close.setAutoRaise(True)
        close.setToolTip("Close the inspector (Esc)")
        close.clicked.connect(lambda: self.close_inspector())
        header.addWidget(close)
        layout.addLayout(header)

        # Everything above the JSON scrolls when the window is too short for it (1280x820
        # with a tool call's box and the compliance section open): squeezed, its rows overlap.
        details = QWidget()
        details.setObjectName("InspectorDetails")
        above = QVBoxLayout(details)
        above.setContentsMargins(0, 0, 4, 0)
        above.setSpacing(8)
        self.details_scroll = _FittingScrollArea()
        self.details_scroll.setObjectName("InspectorDetailsScroll")
        self.details_scroll.setWidgetResizable(True)
        self.details_scroll.setFrameShape(QFrame.Shape.NoFrame)
        self.details_scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.details_scroll.setWidget(details)
        self.details_scroll.viewport().setAutoFillBackground(False)
        # As tall as what it holds when there is room (the JSON takes the rest), less and
        # scrolling when there is not.
        self.details_scroll.setSizePolicy(
            QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Preferred
        )
        details.setAutoFillBackground(False)

        self._meta = QGridLayout()
        self._meta.setHorizontalSpacing(10)
        self._meta.setVerticalSpacing(3)
        self._meta.setColumnStretch(1, 1)
        self._meta.setColumnStretch(3, 1)
        self._fields: dict[str, QLabel] = {}
        fields = (
            ("Run", "run"),
            ("Seq", "seq"),
            ("Span id", "span"),
            ("Parent", "parent"),
            ("Kind", "kind"),
            ("Model", "model"),
            ("Started", "started"),
            ("Ended", "ended"),
            ("Duration", "duration"),
            ("TTFT", "ttft"),
            ("Cost", "cost"),
        )
        for i, (label, key) in enumerate(fields):
            row, col = divmod(i, 2)
            self._add_field(label, key, row, col * 2, span=1)
        row = (len(fields) + 1) // 2
        self._add_field("Tokens", "tokens", row, 0, span=3)
        self.tags = self._add_field("Tags", "tags", row + 1, 0, span=3)
        self.tags.setWordWrap(True)
        above.addLayout(self._meta)

        # A tool call: where it ran, whether it only reads, what the user said.
        self.tool_box = QFrame()
        self.tool_box.setObjectName("InspectorTool")
        self._tool_grid = QGridLayout(self.tool_box)
        self._tool_grid.setContentsMargins(10, 6, 10, 6)
        self._tool_grid.setHorizontalSpacing(10)
        self._tool_grid.setVerticalSpacing(3)
        self._tool_grid.setColumnStretch(1, 1)
        self._tool_fields: dict[str, QLabel] = {}
        for i, (label, key) in enumerate(
            (("Server", "server"), ("Read-only", "read_only"), ("Approval", "approval"))
        ):
            caption = QLabel(label)
            caption.setObjectName("Muted")
            value = QLabel(DASH)
            value.setObjectName(f"Inspector_{key}")
            value.setWordWrap(True)
            value.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            self._tool_grid.addWidget(caption, i, 0, Qt.AlignmentFlag.AlignTop)
            self._tool_grid.addWidget(value, i, 1)
            self._tool_fields[key] = value
        above.addWidget(self.tool_box)
        self.tool_box.hide()

        # A coding agent's step: the files it created, edited or deleted.
        self.files_box = QFrame()
        self.files_box.setObjectName("InspectorFiles")
        files_layout = QVBoxLayout(self.files_box)
        files_layout.setContentsMargins(10, 6, 10, 6)
        files_layout.setSpacing(3)
        self.files_title = QLabel("Files touched")
        self.files_title.setObjectName("InspectorFilesTitle")
        files_layout.addWidget(self.files_title)
        self.files = QLabel()
        self.files.setObjectName("Inspector_files")
        self.files.setTextFormat(Qt.TextFormat.RichText)
        self.files.setWordWrap(True)
        self.files.setFont(monospace_font())
        self.files.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        files_layout.addWidget(self.files)
        above.addWidget(self.files_box)
        self.files_box.hide()

        self._build_compliance(above)

        self.error_box = QFrame()
        self.error_box.setObjectName("InspectorError")
        error_layout = QVBoxLayout(self.error_box)
        error_layout.setContentsMargins(10, 6, 10, 6)
        error_layout.setSpacing(2)
        self.error_title = QLabel("")
        self.error_title.setObjectName("InspectorErrorTitle")
        self.error_text = QLabel("")
        self.error_text.setObjectName("InspectorErrorText")
        self.error_text.setWordWrap(True)
        self.error_text.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        error_layout.addWidget(self.error_title)
        error_layout.addWidget(self.error_text)
        above.addWidget(self.error_box)
        above.addStretch(1)
        layout.addWidget(self.details_scroll)
        self.error_box.hide()

        self.tabs = QTabBar()
        self.tabs.setObjectName("InspectorTabs")
        self.tabs.setDrawBase(False)
        self.tabs.setExpanding(False)
        for part in PARTS:
            self.tabs.addTab(PART_TITLES[part])
        self.tabs.currentChanged.connect(self._on_tab)
        layout.addWidget(self.tabs)
        self.json = JsonView()
        # The details above first (up to what they need), the payload the rest, never less
        # than a few lines: its own size hint (a long document) must not push them out.
        self.json.setMinimumHeight(140)
        self.json.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Ignored)
        layout.addWidget(self.json, 1)

    def _build_compliance(self, layout: QVBoxLayout) -> None:
        """What applied to the run: a header line (the summary) that opens the details."""
        self.compliance: ComplianceFacts | None = None
        header = QHBoxLayout()
        header.setSpacing(6)
        self.compliance_toggle = QToolButton()
        self.compliance_toggle.setObjectName("ComplianceToggle")
        self.compliance_toggle.setText("Compliance")
        self.compliance_toggle.setCheckable(True)
        self.compliance_toggle.setAutoRaise(True)
        self.compliance_toggle.setArrowType(Qt.ArrowType.RightArrow)
        self.compliance_toggle.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self.compliance_toggle.setToolTip(
            "What applied to this run: its config version, tool approvals, redaction, cloud "
            "sync and retention"
        )
        self.compliance_toggle.toggled.connect(self._show_compliance_details)
        header.addWidget(self.compliance_toggle)
        self.compliance_summary = QLabel("")
        self.compliance_summary.setObjectName("ComplianceSummary")
        self.compliance_summary.setProperty("muted", True)
        self.compliance_summary.setSizePolicy(
            QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred
        )
        header.addWidget(self.compliance_summary, 1)
        header.addStretch(0)  # the toggle stays left when the summary hides
        self.compliance_header = QWidget()
        self.compliance_header.setObjectName("ComplianceHeader")
        self.compliance_header.setLayout(header)
        header.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.compliance_header)
        self.compliance_box = QFrame()
        self.compliance_box.setObjectName("InspectorCompliance")
        grid = QGridLayout(self.compliance_box)
        grid.setContentsMargins(10, 6, 10, 6)
        grid.setHorizontalSpacing(10)
        grid.setVerticalSpacing(3)
        grid.setColumnStretch(1, 1)
        self._compliance_fields: dict[str, QLabel] = {}
        for i, caption_text in enumerate(("Config", "Approvals", "Redaction", "Sync", "Retention")):
            caption = QLabel(caption_text)
            caption.setObjectName("Muted")
            value = QLabel(DASH)
            value.setObjectName(f"Compliance_{caption_text.lower()}")
            value.setWordWrap(True)
            value.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            grid.addWidget(caption, i, 0, Qt.AlignmentFlag.AlignTop)
            grid.addWidget(value, i, 1)
            self._compliance_fields[caption_text] = value
        layout.addWidget(self.compliance_box)
        self.compliance_box.hide()
        self.compliance_header.hide()

    def set_compliance(self, facts: ComplianceFacts | None) -> None:
        """The run's compliance facts (None while they are read, or for no run)."""
        self.compliance = facts
        self.compliance_header.setVisible(facts is not None)
        if facts is None:
            self.compliance_box.hide()
            return
        self.compliance_summary.setText(compliance_summary(facts))
        self.compliance_summary.setToolTip(compliance_summary(facts))
        for caption, text in compliance_rows(facts):
            self._compliance_fields[caption].setText(text)
        self._show_compliance_details(self.compliance_toggle.isChecked())

    def compliance_text(self) -> dict[str, str]:
        """Caption -> text of the section as shown (for tests and copying)."""
        return {k: v.text() for k, v in self._compliance_fields.items()}

    def _show_compliance_details(self, shown: bool) -> None:
        self.compliance_toggle.setArrowType(
            Qt.ArrowType.DownArrow if shown else Qt.ArrowType.RightArrow
        )
        self.compliance_box.setVisible(shown and self.compliance is not None)
        self.compliance_summary.setVisible(not shown)
        self.details_scroll.updateGeometry()

    def _add_field(self, label: str, key: str, row: int, col: int, *, span: int) -> QLabel:
        caption = QLabel(label)
        caption.setObjectName("Muted")
        value = QLabel(DASH)
        value.setObjectName(f"Inspector_{key}")
        value.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        value.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        if key in ("run", "span"):
            value.setFont(monospace_font())
        self._meta.addWidget(caption, row, col)
        self._meta.addWidget(value, row, col + 1, 1, span)
        self._fields[key] = value
        return value

    # -- public --------------------------------------------------------------------------------

    @property
    def action(self) -> ActionRecord | None:
        return self._row.action if self._row is not None else None

    @property
    def part(self) -> str:
        return self._part

    def set_run(self, run: RunRecord | None) -> None:
        self._run = run

    def show_action(self, run: RunRecord | None, row: Any, part: str = "inputs") -> None:
        """Show one action (a telemetry.ActionRow); part picks the JSON tab."""
        self._run = run
        self._row = row
        action: ActionRecord = row.action
        meta = action_meta(action)
        server = meta.get("server") if action.kind == "tool" else None
        name = f"{server}/{action.name}" if isinstance(server, str) and server else action.name
        self.title.setText(f"#{action.seq}  {name}")
        self.outcome.setText("⊘ blocked" if action.outcome == "blocked" else action.outcome)
        self.outcome.setProperty("outcome", action.outcome)
        self.outcome.style().unpolish(self.outcome)
        self.outcome.style().polish(self.outcome)
        self._fill_metadata(action)
        self._fill_tool(action)
        if action.error_class or action.error_message:
            self.error_title.setText(f"Error · {action.error_class or 'error'}")
            self.error_text.setText(action.error_message or "(no message recorded)")
            self.error_box.show()
        else:
            self.error_box.hide()
        self.show()
        self.details_scroll.updateGeometry()  # its contents changed: the layout asks again
        part = part if part in PARTS else "inputs"
        index = PARTS.index(part)
        if self.tabs.currentIndex() != index:
            self.tabs.setCurrentIndex(index)  # shows the JSON through _on_tab
        else:
            self._show_part(part)

    def show_part(self, part: str) -> None:
        if part in PARTS:
            self.tabs.setCurrentIndex(PARTS.index(part))

    def close_inspector(self, *, emit: bool = True) -> None:
        was_open = self.isVisible()
        self._row = None
        self.json.clear()
        self.hide()
        if emit and was_open:
            self.sig_closed.emit()

    # -- internals -----------------------------------------------------------------------------

    def _fill_metadata(self, action: ActionRecord) -> None:
        f = self._fields
        f["run"].setText(short_id(action.run_id))
        f["run"].setToolTip(action.run_id)
        f["seq"].setText(str(action.seq))
        f["span"].setText(span_id(action.run_id, action.seq))
        f["parent"].setText(str(action.parent_seq) if action.parent_seq is not None else DASH)
        f["kind"].setText(action.kind)
        meta = action.meta if isinstance(action.meta, dict) else {}
        model = meta.get("response_model") or meta.get("model")
        if not model and isinstance(action.inputs, dict):
            model = action.inputs.get("model")
        f["model"].setText(str(model) if model else DASH)
        for key, moment in (("started", action.started_at), ("ended", action.ended_at)):
            f[key].setText(precise_time(moment))
            f[key].setToolTip(full_time(moment))
        f["duration"].setText(
            human_duration(action.duration_ns) if action.duration_ns is not None else DASH
        )
        f["ttft"].setText(human_duration(action.ttft_ns) if action.ttft_ns is not None else DASH)
        usage = action.usage
        if usage is not None:
            tokens = f"{usage.input_tokens:,} in · {usage.output_tokens:,} out"
            if usage.cache_read_tokens:
                tokens += f" · {usage.cache_read_tokens:,} cached"
            if action.tokens_estimated:
                tokens += " (est.)"
        else:
            tokens = DASH
        f["tokens"].setText(tokens)
        f["tokens"].setToolTip(tokens)
        f["cost"].setText(format_cost(action.cost_usd, action.cost_source))
        tags = self._run.tags if self._run is not None else {}
        self.tags.setText(", ".join(f"{k}={v}" for k, v in tags.items()) if tags else DASH)

    def _fill_tool(self, action: ActionRecord) -> None:
        meta = action_meta(action)
        is_tool = action.kind == "tool" and ("server" in meta or "approval" in meta)
        self.tool_box.setVisible(is_tool)
        if is_tool:
            f = self._tool_fields
            f["server"].setText(str(meta.get("server") or DASH))
            f["read_only"].setText(read_only_text(meta))
            approval = meta.get("approval")
            fact = approval_fact(action.seq, action.name, meta)
            if fact is not None and fact.decision != "requested" and fact.by is not None:
                said = approval_text(fact)  # who answered and when
                text = said[:1].upper() + said[1:]
            elif approval:
                text = APPROVAL_TEXT.get(str(approval), str(approval))
            else:
                text = "Not needed"
            f["approval"].setText(text)
            f["approval"].setProperty("approval", str(approval or ""))
            f["approval"].style().unpolish(f["approval"])
            f["approval"].style().polish(f["approval"])
        files = files_touched(action)
        self.files_box.setVisible(bool(files))
        if files:
            count = len(files)
            self.files_title.setText(f"Files touched ({count})" if count > 1 else "File touched")
            self.files.setText(files_html(files))

    def _on_tab(self, index: int) -> None:
        if 0 <= index < len(PARTS):
            self._show_part(PARTS[index])

    def _show_part(self, part: str) -> None:
        self._part = part
        if self._row is None:
            return
        action: ActionRecord = self._row.action
        value = {"inputs": action.inputs, "outputs": action.outputs, "meta": action.meta}[part]
        if value is None or value == {}:  # nothing recorded: say so, never a bare `null`
            self.json.clear(NOTHING_RECORDED[part])
            return
        size = self._row.sizes.get(part)
        self.json.set_value(
            value, size_hint=size, name=f"run-{short_id(action.run_id)}-{action.seq}-{part}"
        )
