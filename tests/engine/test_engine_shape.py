"""The engine's shape (issue 19.1): no service holds the workspace, engine/ has no import
cycle, and commands that only read open the log without the machinery that runs things."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import grimp

from ato_desktop.core.models import RunStatus
from ato_desktop.core.records import NewRun, RunFilter
from ato_desktop.engine.reading import needs_recovery, open_log_for_reading
from ato_desktop.engine.workspace import Workspace
from ato_desktop.store.paths import DataPaths

REPO = Path(__file__).resolve().parents[2]
ENGINE = "ato_desktop.engine"


def _engine_graph() -> grimp.ImportGraph:
    # TYPE_CHECKING imports count: an annotation naming Workspace is still a service locator.
    return grimp.build_graph("ato_desktop", exclude_type_checking_imports=False)


def test_nothing_in_engine_imports_the_composition_root() -> None:
    graph = _engine_graph()
    importers = graph.find_modules_that_directly_import(f"{ENGINE}.workspace")
    assert importers, "the front ends still build the workspace"
    assert sorted(m for m in importers if m.startswith(f"{ENGINE}.")) == []


def test_engine_modules_import_each_other_without_a_cycle() -> None:
    graph = _engine_graph()
    modules = sorted(m for m in graph.modules if m.startswith(f"{ENGINE}."))
    assert len(modules) > 20
    cycles = []
    for module in modules:
        for imported in graph.find_modules_directly_imported_by(module):
            if not imported.startswith(f"{ENGINE}.") or imported == module:
                continue
            back = graph.find_shortest_chain(importer=imported, imported=module)
            if back is not None:
                cycles.append((module, *back))
    assert cycles == []


def _orphan(ato_home: Path) -> str:
    """A running run whose owner is gone (no lease of that token exists)."""
    ws = Workspace.open(DataPaths(ato_home))
    try:
        run_id, _run_no = ws.store.create_run(
            NewRun("claude", "claude-x", "cli", 1_700_000_000_000), owner="dead-owner-token"
        ).result()
    finally:
        ws.close()
    return run_id


def test_opening_for_reading_writes_no_recovery_and_holds_no_lease(ato_home: Path) -> None:
    run_id = _orphan(ato_home)
    paths = DataPaths(ato_home)
    store = open_log_for_reading(paths)
    try:
        assert [r.id for r in store.iter_runs(RunFilter())] == [run_id]
        assert store.get_run(run_id).status == RunStatus.RUNNING.value
        assert list(paths.leases_dir.iterdir()) == []
        # It writes nothing, but it knows a dead process left work for crash recovery.
        assert needs_recovery(store)
    finally:
        store.close()
    store = open_log_for_reading(paths)
    try:
        assert store.get_run(run_id).status == RunStatus.RUNNING.value
    finally:
        store.close()
    # A full open, by contrast, ends the dead process's run.
    ws = Workspace.open(paths)
    try:
        assert ws.recovered_run_ids == [run_id]
        assert ws.store.get_run(run_id).status == RunStatus.INTERRUPTED.value
    finally:
        ws.close()


def test_opening_for_reading_builds_none_of_the_services(ato_home: Path) -> None:
    _orphan(ato_home)
    code = (
        "import json, sys\n"
        "from ato_desktop.core.records import RunFilter\n"
        "from ato_desktop.engine.reading import open_log_for_reading\n"
        "store = open_log_for_reading()\n"
        "store.count_runs(RunFilter())\n"
        "store.close()\n"
        "print(json.dumps(sorted(m for m in sys.modules if m.startswith(('ato_desktop.engine',"
        " 'anthropic', 'openai', 'genai_prices', 'mcp')))))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        cwd=REPO,
        env={**_env(), "ATO_HOME": str(ato_home), "PYTHONPATH": str(REPO)},
        timeout=60,
        check=True,
    )
    loaded = json.loads(done.stdout)
    assert loaded == ["ato_desktop.engine", "ato_desktop.engine.reading"]


def _env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
