"""Opening the data directory to read it: the read-only counterpart of `Workspace.open`.

A process that only reads the log (`ato-desktop runs list`, `agents list`, `insights
regressions`, ...) needs none of what a workspace wires: no process lease, no dispatcher,
judge, automations or cloud sync, no token estimator, and no write connection. It still does
what every start does, where it costs nothing when there is nothing to do: a malformed
prices.json is refused, the files of exports a dead process left are removed, and
`needs_recovery` tells whether a dead process left a run `running` or an ingest half-written,
for the caller to open the whole workspace once (whose crash recovery ends them) before it
reads, so a reader never shows a dead process's run as still running.
"""

from __future__ import annotations

import os
from pathlib import Path

from ato_desktop.store.execution_log import ExecutionLog
from ato_desktop.store.paths import DataPaths, data_paths
from ato_desktop.store.process_lease import owner_is_alive


def open_log_for_reading(paths: DataPaths | None = None) -> ExecutionLog:
    """The execution log of the data directory, opened to read (ExecutionLog.open_for_reading:
    writes refused); a log that does not exist yet or needs migrating is created or migrated
    first, as by any process. Raises StoreError, and PriceFileError for a malformed
    prices.json (as Workspace.open does)."""
    paths = paths or data_paths()
    if not paths.database.exists():
        paths.ensure()  # a first run: the directory checks and messages of a full open
    if paths.prices_file.exists():  # read only when there is one: the price table is not needed
        from ato_desktop.engine.prices import load_price_book

        load_price_book(paths)
    if _any_entry(paths.exports_in_progress_dir):  # exports running, or killed half-way
        from ato_desktop.engine.export import clean_interrupted_exports

        clean_interrupted_exports(paths)  # removes what the dead ones left behind
    return ExecutionLog.open_for_reading(paths)


def needs_recovery(log: ExecutionLog) -> bool:
    """True when a process that died left a run `running` or an OTLP ingest unfinished: crash
    recovery (Workspace.open) has work to do. Reads the log and tries the owners' leases."""
    leases = log.paths.leases_dir
    if any(not owner_is_alive(leases, owner) for owner in log.running_owners()):
        return True
    return any(not owner_is_alive(leases, owner) for owner in log.ingest_owners())


def _any_entry(directory: Path) -> bool:
    try:
        with os.scandir(directory) as entries:
            return any(True for _ in entries)
    except OSError:  # no such directory: nothing was ever exported from here
        return False
