"""Where Replay is offered on the Runs page: the run details' Replay… button, Telemetry's
"Replay this call…" on a model call, the run list's context menu (Replay selected…, Replay
failures of this agent…), and the commands (Shift+R) the palette and shortcuts are built from."""

from __future__ import annotations

from typing import Any

import shiboken6
from PySide6.QtCore import QObject, QPoint, Qt
from PySide6.QtWidgets import QDialog, QMenu, QWidget

from ato_desktop.ui.replay.batch_dialog import BatchReplayDialog
from ato_desktop.ui.replay.replay_dialog import ReplayDialog
from ato_desktop.ui.runs.runs_model import AGENT_ID_ROLE, RUN_ID_ROLE

REPLAY_SHORTCUT = "Shift+R"  # plain r is Simulation's
DETAILS = "details"
HISTORY = "history"


class ReplayLauncher(QObject):
    """Opens the replay dialogs from the Runs page (one at a time of each kind)."""

    def __init__(self, page: Any) -> None:
        super().__init__(page)
        self._page = page
        self.dialog: ReplayDialog | None = None
        self.batch_dialog: BatchReplayDialog | None = None
        details = page.details
        if hasattr(details, "sig_replay_requested"):
            details.sig_replay_requested.connect(lambda run_id: self.open_replay(run_id))
        telemetry = details.telemetry
        if hasattr(telemetry, "sig_replay_requested"):
            telemetry.sig_replay_requested.connect(self.open_replay)
        table = page.history.table
        table.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        table.customContextMenuRequested.connect(self._list_menu)

    # -- what its commands run (ui/pages/page_commands.py) -----------------------------------------

    def replay_current(self) -> None:
        """Shift+R: the open run; in the list, the selected run(s)."""
        page = self._page
        if page.view == DETAILS and page.details.run_id:
            self.open_replay(page.details.run_id)
            return
        if page.view == HISTORY:
            ids = self.selected_run_ids()
            if len(ids) > 1:
                self.open_batch(ids)
                return
            if ids:
                self.open_replay(ids[0])
                return
        page.ctx.status(
            "Select a run first (Ctrl+click or Shift+arrows for several), then press Shift+R."
        )

    def replay_failures(self, agent: str | None = None) -> None:
        if agent is None:
            agent = self._page.filters.state().agent_name
        self.open_batch(None, agent=agent)

    # -- the dialogs -----------------------------------------------------------------------------

    def open_replay(self, run_id: str, seq: int | None = None) -> ReplayDialog | None:
        if self._page.ctx.workspace is None:
            return None
        current = self.dialog
        if (
            current is not None
            and shiboken6.isValid(current)
            and current.isVisible()
            and (current.run_id, current.seq) == (run_id, seq)
        ):
            _raise(current)
            return current
        dialog = ReplayDialog(self._page.ctx, run_id, seq, self._page.window())
        self.dialog = _shown(dialog)
        return dialog

    def open_batch(
        self, run_ids: list[str] | None, *, agent: str | None = None
    ) -> BatchReplayDialog | None:
        if self._page.ctx.workspace is None:
            return None
        current = self.batch_dialog
        if current is not None and shiboken6.isValid(current) and current.isVisible():
            if current.state == "running":
                _raise(current)
                return current
            current.close()
        dialog = BatchReplayDialog(self._page.ctx, run_ids, agent=agent, parent=self._page.window())
        self.batch_dialog = _shown(dialog)
        return dialog

    # -- the run list ----------------------------------------------------------------------------

    def selected_run_ids(self) -> list[str]:
        """The selected runs, in list order."""
        table = self._page.history.table
        rows = sorted(index.row() for index in table.selectionModel().selectedRows())
        model = table.model()
        ids = [model.index(row, 0).data(RUN_ID_ROLE) for row in rows]
        return [str(run_id) for run_id in ids if run_id]

    def _list_menu(self, pos: QPoint) -> None:
        table = self._page.history.table
        index = table.indexAt(pos)
        if not index.isValid():
            return
        if not table.selectionModel().isRowSelected(index.row(), index.parent()):
            table.selectRow(index.row())
        ids = self.selected_run_ids()
        menu = QMenu(table)
        if len(ids) > 1:
            menu.addAction(f"Replay {len(ids)} selected runs…", lambda: self.open_batch(ids))
        elif ids:
            menu.addAction("Replay…", lambda: self.open_replay(ids[0]))
        agent_id = index.siblingAtColumn(0).data(AGENT_ID_ROLE)
        agent_name = _agent_name(index)
        if agent_id and agent_name:
            menu.addAction(
                f"Replay failures of {agent_name} since…",
                lambda: self.replay_failures(agent_name),
            )
        menu.popup(table.viewport().mapToGlobal(pos))


def _agent_name(index: Any) -> str | None:
    run = index.model().run_at(index.row()) if hasattr(index.model(), "run_at") else None
    return getattr(run, "agent_name", None) if run is not None else None


def _shown(dialog: QDialog) -> Any:
    dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
    dialog.show()
    return dialog


def _raise(widget: QWidget) -> None:
    widget.raise_()
    widget.activateWindow()
