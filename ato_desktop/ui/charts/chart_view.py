"""A ChartSpec drawn with Qt Charts, themed, with pointer and keyboard reading of exact values.

This is the only module that imports Qt Charts; ChartFrame imports it on first use.

- Categories sit at integer x (y for horizontal bars) on a value axis, labelled at the spec's
  ticks, so hundreds of time buckets stay readable and the pointer maps to a category exactly.
- Pointer: hovering a category reports it (the frame's readout, and a tooltip); a click gives
  it back; a drag across categories selects the range (shaded while dragging); a click on a
  config-change marker gives back the marker's key.
- Keyboard: Left/Right (Up/Down for horizontal bars) move a cursor from category to category,
  Home/End jump, Shift extends a selection, Enter or Space gives back the cursor's category or
  the selection, Escape clears it, M steps through the markers.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCharts import (
    QAbstractAxis,
    QAreaSeries,
    QBarCategoryAxis,
    QBarSeries,
    QBarSet,
    QCategoryAxis,
    QChart,
    QChartView,
    QHorizontalBarSeries,
    QLineSeries,
    QStackedBarSeries,
    QValueAxis,
)
from PySide6.QtCore import QMargins, QPointF, QRectF, Qt, Signal
from PySide6.QtGui import (
    QBrush,
    QColor,
    QFont,
    QKeyEvent,
    QKeySequence,
    QMouseEvent,
    QPainter,
    QPen,
)
from PySide6.QtWidgets import QGraphicsRectItem, QToolTip, QWidget

from ato_desktop.ui.charts.chart_spec import BARS, HBARS, LINE, STACKED, ChartSpec
from ato_desktop.ui.theme import Theme, mix

_MARKER_REACH = 0.35  # categories either side of a marker that a click or hover still hits
_REPLACE_AT_MOST = 16  # changed bars updated one by one; more and the whole row is put in at once


def theme_color(theme: Theme, name: str) -> QColor:
    """A Theme attribute's colour, or a literal '#rrggbb'."""
    return QColor(name) if name.startswith("#") else QColor(getattr(theme, name))


def _axis_format(unit: str, top: float) -> str:
    if unit == "USD":
        return "$%.2f" if top >= 1 else "$%.3f" if top >= 0.01 else "$%.5f"
    if unit == "%":
        return "%.0f %%"
    if unit == "score":
        return "%.2f"
    if unit == "s":
        return "%.0f s" if top >= 10 else "%.1f s"
    return "%.0f"


class ChartView(QChartView):
    sig_hovered = Signal(int)  # category, -1 when the pointer leaves
    sig_activated = Signal(int)
    sig_range_selected = Signal(int, int)
    sig_marker_clicked = Signal(object)
    sig_marker_hovered = Signal(str)
    sig_copy_requested = Signal()  # Ctrl+C: the data as CSV

    def __init__(self, parent: QWidget | None = None) -> None:
        self._chart = QChart()
        super().__init__(self._chart, parent)
        self.setRenderHint(QPainter.RenderHint.Antialiasing)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.setMouseTracking(True)
        self.setRubberBand(QChartView.RubberBand.NoRubberBand)
        self._chart.legend().setAlignment(Qt.AlignmentFlag.AlignTop)
        self._chart.setMargins(QMargins(4, 2, 4, 2))
        self._chart.setBackgroundRoundness(0)
        self._chart.layout().setContentsMargins(0, 0, 0, 0)
        self.spec: ChartSpec | None = None
        self.cursor_index = -1  # the keyboard's category
        self.anchor: int | None = None  # where a selection started (drag or Shift)
        self._pressed: int | None = None
        self._hover = -1
        self._theme: Theme | None = None
        self._bars: Any = None  # the bar series of a vertical bar chart (updated in place)
        self._value_axis: QValueAxis | None = None
        self._cursor_item = QGraphicsRectItem()
        self._cursor_item.setZValue(20)
        self._selection_item = QGraphicsRectItem()
        self._selection_item.setZValue(19)
        self._marker_focus: Any = None  # the marker M moved to (Enter opens it)
        for item in (self._cursor_item, self._selection_item):
            self.scene().addItem(item)
            item.hide()
        self._chart.plotAreaChanged.connect(lambda _r: self._place_overlays())

    # -- drawing --------------------------------------------------------------------------------

    def set_spec(self, spec: ChartSpec, theme: Theme) -> None:
        if self._update_values(spec, theme):
            return
        self.spec = spec
        self._theme = theme
        self._bars = None
        self._value_axis = None
        chart = self._chart
        # Hundreds of bars gain nothing from antialiasing and cost a lot of it on each paint.
        bars_heavy = spec.kind != LINE and len(spec.categories) * len(spec.series) > 240
        self.setRenderHint(QPainter.RenderHint.Antialiasing, not bars_heavy)
        chart.removeAllSeries()
        for axis in list(chart.axes()):
            chart.removeAxis(axis)
        chart.setBackgroundBrush(QBrush(QColor(theme.surface)))
        chart.setPlotAreaBackgroundVisible(False)
        chart.legend().setLabelColor(QColor(theme.text))
        chart.legend().setVisible(len(spec.series) > 1 or bool(spec.guides) or bool(spec.bands))
        font = QFont(self.font())
        font.setPointSizeF(max(7.5, font.pointSizeF() - 1))
        chart.legend().setFont(font)

        n = len(spec.categories)
        horizontal = spec.kind == HBARS
        category_axis: QAbstractAxis
        if horizontal:
            # Few categories, each named (actions): every name in full, first on top.
            names = QBarCategoryAxis()
            # Drawn bottom-up by Qt Charts (its reverse does not apply to bar series): the
            # categories go in reversed, so the first is on top (see _position).
            names.append(list(reversed(spec.categories)))
            category_axis = names
        else:
            ranged = QCategoryAxis()  # many categories (time buckets): labels at the ticks
            ranged.setLabelsPosition(QCategoryAxis.AxisLabelsPosition.AxisLabelsPositionOnValue)
            ranged.setRange(-0.5, n - 0.5)
            ranged.setStartValue(-0.5)
            ticks = spec.ticks or tuple((i, label) for i, label in enumerate(spec.categories))
            for index, label in ticks:
                ranged.append(label, index)
            category_axis = ranged
        category_axis.setTitleText(spec.x_title)
        self._category_axis = category_axis
        self._fit_titles()
        value_axis = QValueAxis()
        top = spec.max_value()
        if spec.unit == "%":
            value_axis.setRange(0.0, 100.0)  # a rate or a score: the whole scale, always
        else:
            value_axis.setRange(0.0, top * 1.08 if top > 0 else 1.0)
            value_axis.applyNiceNumbers()
        value_axis.setLabelFormat(_axis_format(spec.unit, top))
        value_axis.setTitleText(spec.y_title)
        for axis in (category_axis, value_axis):
            self._style_axis(axis, theme, font)
        x_axis, y_axis = (value_axis, category_axis) if horizontal else (category_axis, value_axis)
        chart.addAxis(x_axis, Qt.AlignmentFlag.AlignBottom)
        chart.addAxis(y_axis, Qt.AlignmentFlag.AlignLeft)

        for band in spec.bands:
            self._add_band(
                band.start,
                band.end,
                band.label,
                theme_color(theme, band.color),
                x_axis,
                y_axis,
                value_axis.max(),
            )
        if spec.kind in (STACKED, BARS, HBARS):
            bars = {STACKED: QStackedBarSeries, BARS: QBarSeries, HBARS: QHorizontalBarSeries}[
                spec.kind
            ]()
            # Horizontal bars stack a category's sets bottom-up: reversed, the first is on top.
            for series in reversed(spec.series) if horizontal else spec.series:
                bar_set = QBarSet(series.name)
                values = [float(v or 0.0) for v in series.values]
                bar_set.append(values[::-1] if horizontal else values)
                color = theme_color(theme, series.color)
                bar_set.setColor(color)
                bar_set.setBorderColor(color)
                bars.append(bar_set)
            bars.setBarWidth(0.82)
            if not horizontal:
                self._bars, self._value_axis = bars, value_axis
            chart.addSeries(bars)
            bars.attachAxis(x_axis)
            bars.attachAxis(y_axis)
        elif spec.kind == LINE:
            for series in spec.series:
                pen = QPen(theme_color(theme, series.color), 2.0)
                if series.dashed:
                    pen.setStyle(Qt.PenStyle.DashLine)
                # A bucket with no value (no runs that day) breaks the line: a line drawn
                # across the gap would show figures for days that had none.
                for k, segment in enumerate(_segments(series.values)):
                    line = QLineSeries()
                    line.setName(series.name)
                    for i, value in segment:
                        line.append(float(i), value)
                    line.setPen(pen)
                    line.setPointsVisible((n <= 62 or len(segment) == 1) and not series.dashed)
                    chart.addSeries(line)
                    line.attachAxis(x_axis)
                    line.attachAxis(y_axis)
                    if k:  # one legend entry per series
                        chart.legend().markers(line)[0].setVisible(False)
        for guide in spec.guides:
            pen = QPen(theme_color(theme, guide.color), 1.6, Qt.PenStyle.DashLine)
            if guide.axis == "y":
                points = [(-0.5, guide.value), (n - 0.5, guide.value)]
            else:
                points = [(guide.value, 0.0), (guide.value, value_axis.max())]
            self._add_line(points, guide.label, pen, x_axis, y_axis, horizontal)
        if horizontal:
            # Two sides only: their colours are the Left/Right ones the page shows above.
            chart.legend().setVisible(False)
        marker_pen = QPen(QColor(theme.accent), 1.4, Qt.PenStyle.DotLine)
        for marker in spec.markers:
            points = [(marker.position, 0.0), (marker.position, value_axis.max())]
            line = self._add_line(points, marker.label, marker_pen, x_axis, y_axis, horizontal)
            line.setPointLabelsVisible(False)
            chart.legend().markers(line)[0].setVisible(False)
        self._cursor_item.setBrush(QBrush(QColor(mix(theme.accent, theme.surface, 0.75))))
        self._cursor_item.setPen(QPen(QColor(theme.accent), 1.0))
        self._selection_item.setBrush(QBrush(QColor(mix(theme.accent, theme.surface, 0.82))))
        self._selection_item.setPen(QPen(Qt.PenStyle.NoPen))
        self._cursor_item.setOpacity(0.45)
        self._selection_item.setOpacity(0.5)
        if self.cursor_index >= n:
            self.cursor_index = -1
        self.anchor = None
        self._place_overlays()

    def _update_values(self, spec: ChartSpec, theme: Theme) -> bool:
        """The same chart with new values (the Runs timeline as runs arrive): change the bars'
        values in place instead of building the chart again, which cost tens of milliseconds of
        the UI thread each time. False when anything but the values changed."""
        old, bars, axis = self.spec, self._bars, self._value_axis
        if old is None or bars is None or axis is None or theme != self._theme:
            return False
        if spec.kind not in (STACKED, BARS) or spec.unit == "%":
            return False
        same_shape = (
            spec.kind == old.kind
            and spec.categories == old.categories
            and spec.ticks == old.ticks
            and spec.unit == old.unit
            and (spec.x_title, spec.y_title) == (old.x_title, old.y_title)
            and (spec.markers, spec.bands, spec.guides) == (old.markers, old.bands, old.guides)
            and [(x.name, x.color) for x in spec.series] == [(x.name, x.color) for x in old.series]
        )
        if not same_shape:
            return False
        for bar_set, series, before in zip(bars.barSets(), spec.series, old.series, strict=True):
            changed = [
                index
                for index, (value, prior) in enumerate(
                    zip(series.values, before.values, strict=True)
                )
                if value != prior
            ]
            if len(changed) > _REPLACE_AT_MOST:
                # Each replace lays the series out again (a filter change that moves every bar
                # of 180 cost 140 ms that way): put the whole row in at once.
                bar_set.remove(0, bar_set.count())
                bar_set.append([float(value or 0.0) for value in series.values])
                continue
            for index in changed:
                bar_set.replace(index, float(series.values[index] or 0.0))
        top = spec.max_value()
        if top != old.max_value():
            axis.setRange(0.0, top * 1.08 if top > 0 else 1.0)
            axis.applyNiceNumbers()
            axis.setLabelFormat(_axis_format(spec.unit, top))
        self.spec = spec
        return True

    def _style_axis(self, axis: QAbstractAxis, theme: Theme, font: QFont) -> None:
        axis.setLabelsColor(QColor(theme.text_muted))
        axis.setLabelsFont(font)
        axis.setTitleBrush(QBrush(QColor(theme.text_muted)))
        axis.setTitleFont(font)
        axis.setGridLineColor(QColor(mix(theme.border, theme.surface, 0.3)))
        axis.setLinePenColor(QColor(theme.border))
        axis.setShadesVisible(False)
        if isinstance(axis, QCategoryAxis | QBarCategoryAxis):
            axis.setGridLineVisible(False)
            # Qt Charts elides category labels long before they run out of room.
            axis.setTruncateLabels(False)

    def _add_line(
        self,
        points: list[tuple[float, float]],
        name: str,
        pen: QPen,
        x_axis: QAbstractAxis,
        y_axis: QAbstractAxis,
        horizontal: bool,
    ) -> QLineSeries:
        line = QLineSeries()
        line.setName(name)
        for a, b in points:
            line.append(QPointF(b, a) if horizontal else QPointF(a, b))
        line.setPen(pen)
        self._chart.addSeries(line)
        line.attachAxis(x_axis)
        line.attachAxis(y_axis)
        return line

    def _add_band(
        self,
        start: float,
        end: float,
        label: str,
        color: QColor,
        x_axis: QAbstractAxis,
        y_axis: QAbstractAxis,
        top: float,
    ) -> None:
        upper, lower = QLineSeries(), QLineSeries()
        upper.append(start, top)
        upper.append(end, top)
        lower.append(start, 0.0)
        lower.append(end, 0.0)
        area = QAreaSeries(upper, lower)
        # The area does not own its edges: parent them, or Python frees them under it.
        upper.setParent(area)
        lower.setParent(area)
        area.setName(label)
        fill = QColor(color)
        fill.setAlphaF(0.14)
        area.setBrush(QBrush(fill))
        area.setPen(QPen(Qt.PenStyle.NoPen))
        self._chart.addSeries(area)
        area.attachAxis(x_axis)
        area.attachAxis(y_axis)

    # -- geometry -------------------------------------------------------------------------------

    def index_at(self, pos: QPointF) -> int:
        """The category under a point of this view, or -1 outside the plot."""
        if self.spec is None or not self.spec.categories:
            return -1
        scene_pos = self.mapToScene(pos.toPoint())
        chart_pos = self._chart.mapFromScene(scene_pos)
        if not self._chart.plotArea().contains(chart_pos):
            return -1
        value = self._chart.mapToValue(chart_pos)
        coordinate = value.y() if self.spec.kind == HBARS else value.x()
        index = self._position(round(coordinate))
        return index if 0 <= index < len(self.spec.categories) else -1

    def _position(self, index: int) -> int:
        """A category's place on the axis (horizontal bars are drawn last first), and back."""
        if self.spec is not None and self.spec.kind == HBARS:
            return len(self.spec.categories) - 1 - index
        return index

    def category_rect(self, first: int, last: int | None = None) -> QRectF:
        """The plot-area rectangle of categories first..last, in chart coordinates."""
        last = first if last is None else last
        first, last = self._position(first), self._position(last)
        lo, hi = min(first, last) - 0.5, max(first, last) + 0.5
        area = self._chart.plotArea()
        if self.spec is not None and self.spec.kind == HBARS:
            a = self._chart.mapToPosition(QPointF(0, lo))
            b = self._chart.mapToPosition(QPointF(0, hi))
            return QRectF(area.left(), min(a.y(), b.y()), area.width(), abs(a.y() - b.y()))
        a = self._chart.mapToPosition(QPointF(lo, 0))
        b = self._chart.mapToPosition(QPointF(hi, 0))
        return QRectF(min(a.x(), b.x()), area.top(), abs(b.x() - a.x()), area.height())

    def _place_overlays(self) -> None:
        if self.spec is None:
            return
        if self.cursor_index >= 0:
            self._cursor_item.setRect(
                self._chart.mapRectToScene(self.category_rect(self.cursor_index))
            )
            self._cursor_item.show()
        else:
            self._cursor_item.hide()
        if self.anchor is not None and self._selection_end() is not None:
            end = self._selection_end()
            assert end is not None
            rect = self.category_rect(self.anchor, end)
            self._selection_item.setRect(self._chart.mapRectToScene(rect))
            self._selection_item.show()
        else:
            self._selection_item.hide()

    def _selection_end(self) -> int | None:
        if self._pressed is not None:
            return self._hover if self._hover >= 0 else None
        return self.cursor_index if self.cursor_index >= 0 else None

    def resizeEvent(self, event: Any) -> None:
        super().resizeEvent(event)
        self._fit_titles()
        self._place_overlays()

    def _fit_titles(self) -> None:
        """A short chart gives its height to the bars: the time axis's title goes (the frame
        says UTC, the CSV keeps the title)."""
        axis = getattr(self, "_category_axis", None)
        if axis is not None and self.spec is not None and self.spec.kind != HBARS:
            axis.setTitleVisible(self.height() >= 190)

    # -- pointer --------------------------------------------------------------------------------

    def _marker_near(self, pos: QPointF) -> Any:
        if self.spec is None or not self.spec.markers:
            return None
        chart_pos = self._chart.mapFromScene(self.mapToScene(pos.toPoint()))
        if not self._chart.plotArea().contains(chart_pos):
            return None
        x = self._chart.mapToValue(chart_pos).x()
        near = [m for m in self.spec.markers if abs(m.position - x) <= _MARKER_REACH]
        return min(near, key=lambda m: abs(m.position - x)) if near else None

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        super().mouseMoveEvent(event)
        index = self.index_at(event.position())
        marker = self._marker_near(event.position())
        if marker is not None and self._pressed is None:
            text = f"{marker.label}: {marker.detail} (click: its diff)"
            self.setToolTip(text)
            QToolTip.showText(event.globalPosition().toPoint(), text, self)
            self.sig_marker_hovered.emit(text)
            return
        if index != self._hover:
            self._hover = index
            self.sig_hovered.emit(index)
            if index >= 0 and self.spec is not None:
                QToolTip.showText(event.globalPosition().toPoint(), self.spec.describe(index), self)
            else:
                QToolTip.hideText()
            if self._pressed is not None:
                self._place_overlays()

    def leaveEvent(self, event: Any) -> None:
        super().leaveEvent(event)
        if self._hover != -1:
            self._hover = -1
            self.sig_hovered.emit(-1)

    def mousePressEvent(self, event: QMouseEvent) -> None:
        if event.button() == Qt.MouseButton.LeftButton:
            self.setFocus(Qt.FocusReason.MouseFocusReason)
            index = self.index_at(event.position())
            self._pressed = index if index >= 0 else None
            self.anchor = self._pressed
            self._hover = index
            event.accept()
            return
        super().mousePressEvent(event)

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:
        if event.button() != Qt.MouseButton.LeftButton:
            super().mouseReleaseEvent(event)
            return
        start, self._pressed = self._pressed, None
        end = self.index_at(event.position())
        self.anchor = None
        marker = self._marker_near(event.position())
        if start is not None and end >= 0 and end != start:
            self.cursor_index = end
            self._place_overlays()
            self.sig_range_selected.emit(min(start, end), max(start, end))
        elif marker is not None:
            self._place_overlays()
            self.sig_marker_clicked.emit(marker.key)
        elif start is not None and end == start:
            self.cursor_index = start
            self._place_overlays()
            self.sig_activated.emit(start)
        else:
            self._place_overlays()
        event.accept()

    # -- keyboard -------------------------------------------------------------------------------

    def hint(self) -> str:
        if self.spec is None:
            return ""
        along = "↑/↓" if self.spec.kind == HBARS else "←/→"
        return (
            f"Point at it or use {along} for exact values · click or Enter opens · drag or "
            "Shift+arrows picks a range"
        )

    def keyPressEvent(self, event: QKeyEvent) -> None:
        spec = self.spec
        if spec is None or not spec.categories:
            super().keyPressEvent(event)
            return
        if event.matches(QKeySequence.StandardKey.Copy):
            self.sig_copy_requested.emit()
            event.accept()
            return
        key = event.key()
        n = len(spec.categories)
        back, forward = (
            (Qt.Key.Key_Up, Qt.Key.Key_Down)
            if spec.kind == HBARS
            else (Qt.Key.Key_Left, Qt.Key.Key_Right)
        )
        moves: dict[int, int] = {back: -1, forward: 1, Qt.Key.Key_Home: -n, Qt.Key.Key_End: n}
        if key in moves:
            self._marker_focus = None
            shift = bool(event.modifiers() & Qt.KeyboardModifier.ShiftModifier)
            current = self.cursor_index
            if current < 0:  # no cursor yet: start at the end the key points from
                target = 0 if key in (forward, Qt.Key.Key_Home) else n - 1
            else:
                target = max(0, min(n - 1, current + moves[key]))
            if shift and self.anchor is None:
                self.anchor = max(0, current) if current >= 0 else target
            elif not shift:
                self.anchor = None
            self.move_cursor(target)
            event.accept()
            return
        if key in (Qt.Key.Key_Return, Qt.Key.Key_Enter, Qt.Key.Key_Space):
            if self._marker_focus is not None:
                self.sig_marker_clicked.emit(self._marker_focus.key)
            elif (
                self.anchor is not None
                and self.cursor_index >= 0
                and self.anchor != self.cursor_index
            ):
                first, last = sorted((self.anchor, self.cursor_index))
                self.anchor = None
                self._place_overlays()
                self.sig_range_selected.emit(first, last)
            elif self.cursor_index >= 0:
                self.sig_activated.emit(self.cursor_index)
            event.accept()
            return
        if key == Qt.Key.Key_Escape and self.anchor is not None:
            self.anchor = None
            self._place_overlays()
            event.accept()
            return
        if key == Qt.Key.Key_M and spec.markers:
            after = [m for m in spec.markers if m.position > self.cursor_index + 0.5]
            marker = after[0] if after else spec.markers[0]
            self.move_cursor(max(0, min(n - 1, int(marker.position))))
            self._marker_focus = marker
            self.sig_marker_hovered.emit(f"{marker.label}: {marker.detail} (Enter on it: its diff)")
            event.accept()
            return
        super().keyPressEvent(event)

    def move_cursor(self, index: int) -> None:
        """Put the keyboard's cursor on a category and read its values out."""
        self.cursor_index = index
        self._place_overlays()
        self.sig_hovered.emit(index)
        if self.spec is not None and self.hasFocus():
            rect = self._chart.mapRectToScene(self.category_rect(index))
            point = self.mapToGlobal(self.mapFromScene(rect.center()))
            QToolTip.showText(point, self.spec.describe(index), self)

    def focusOutEvent(self, event: Any) -> None:
        super().focusOutEvent(event)
        QToolTip.hideText()


def _segments(values: Any) -> list[list[tuple[int, float]]]:
    """The runs of consecutive known values, as (bucket, value) pairs."""
    segments: list[list[tuple[int, float]]] = []
    current: list[tuple[int, float]] = []
    for i, value in enumerate(values):
        if value is None:
            if current:
                segments.append(current)
                current = []
        else:
            current.append((i, float(value)))
    if current:
        segments.append(current)
    return segments
