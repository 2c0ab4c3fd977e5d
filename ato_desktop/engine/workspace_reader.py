"""The light way in for commands that only read the log (`runs list`, `insights regressions`).

It imports the store alone: no provider SDK, price table, dispatcher or background service is
loaded or built, and nothing is written for crash recovery (that is `Workspace.open`'s job, in
the processes that run things).
"""

from __future__ import annotations

from ato_desktop.core.event_bus import EventBus
from ato_desktop.store.execution_log import ExecutionLog
from ato_desktop.store.paths import DataPaths, data_paths


class WorkspaceReader:
    """The log of a data directory, opened for commands that only read (`runs list`,
    `insights regressions`): no lease, no crash-recovery writes, no price book, dispatcher,
    judge, automations or sync. It satisfies `engine.parts.LogParts`."""

    def __init__(self, paths: DataPaths, store: ExecutionLog) -> None:
        self.paths = paths
        self.store = store
        self.bus: EventBus = store.bus

    def close(self) -> None:
        self.store.close()

    def __enter__(self) -> WorkspaceReader:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()


def open_for_reading(paths: DataPaths | None = None) -> WorkspaceReader:
    """Open the data directory's log to read it; raises StoreError with user messages (a log
    that is damaged, newer than the app or another program's is refused as on a full open).
    A log of an older version is still migrated first, as every reader of it needs."""
    paths = (paths or data_paths()).ensure()
    return WorkspaceReader(paths, ExecutionLog.open(paths))
