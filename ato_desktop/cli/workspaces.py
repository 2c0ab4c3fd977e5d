"""How a command opens the data directory: the whole workspace, or the log alone to read it.

A command that only reads (`runs list`, `agents list`, `insights regressions`, ...) opens the
log with `open_log_for_reading`: no process lease, no dispatcher, judge, automations or sync
wired, no price table or token estimator loaded, nothing written. Anything that writes or runs
a model opens the whole `Workspace` (engine.workspace), as the desktop app does.
"""

from __future__ import annotations

TYPE_CHECKING = False  # typing is not loaded at run time (a CLI command's start)
if TYPE_CHECKING:
    from ato_desktop.engine.workspace import Workspace
    from ato_desktop.store.execution_log import ExecutionLog


def open_workspace() -> Workspace:
    """The whole workspace of the data directory (crash recovery on open, services wired)."""
    from ato_desktop.engine.workspace import Workspace

    return Workspace.open()


def open_log_for_reading() -> ExecutionLog:
    """The data directory's execution log, to read (engine.reading). When a process that died
    left a run `running`, the whole workspace is opened once first: its crash recovery ends the
    run `interrupted`, as at any start, so what is read is never a dead process's run."""
    from ato_desktop.engine import reading

    log = reading.open_log_for_reading()
    if not reading.needs_recovery(log):
        return log
    log.close()
    open_workspace().close()
    return reading.open_log_for_reading()
