from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from ato_desktop.core.events import DomainEvent
from ato_desktop.store.execution_log import ExecutionLog
from ato_desktop.store.paths import DataPaths


@pytest.fixture
def paths(ato_home: Path) -> DataPaths:
    return DataPaths(ato_home).ensure()


@pytest.fixture
def store(paths: DataPaths) -> Iterator[ExecutionLog]:
    log = ExecutionLog.open(paths)
    yield log
    log.close()


@pytest.fixture
def events(store: ExecutionLog) -> list[DomainEvent]:
    seen: list[DomainEvent] = []
    store.bus.subscribe(seen.append)
    return seen
