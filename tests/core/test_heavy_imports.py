"""Settling the heap: what exists is frozen out of later full collections (each walked about
240,000 objects of the window and the SDKs: a 180 ms pause of every thread, felt by the UI
thread mid-stream), with no garbage cycle kept; a heavy import tells whoever listens (the
window, which settles on its own thread)."""

from __future__ import annotations

import gc
import sys
import weakref
from collections.abc import Iterator
from pathlib import Path

import pytest

from ato_desktop.core import heavy_imports
from ato_desktop.core.heavy_imports import after_heavy_import, import_heavy, settle_heap


class _Node:
    def __init__(self) -> None:
        self.me = self


class _Listener:
    def __init__(self) -> None:
        self.calls = 0

    def heard(self) -> None:
        self.calls += 1


@pytest.fixture
def probe_module(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    (tmp_path / "ato_heavy_probe.py").write_text("TABLE = [{'n': n} for n in range(1000)]\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, "ato_heavy_probe", raising=False)
    yield "ato_heavy_probe"
    sys.modules.pop("ato_heavy_probe", None)


def test_settling_freezes_what_exists_and_keeps_no_garbage(probe_module: str) -> None:
    module = import_heavy(probe_module)
    garbage = _Node()
    gone = weakref.ref(garbage)
    del garbage  # a cycle: only the collector frees it
    assert gone() is not None
    gc.unfreeze()
    try:
        settle_heap()
        assert gone() is None  # collected, not frozen for good
        assert gc.get_freeze_count() >= len(module.TABLE)
        tracked = {id(obj) for obj in gc.get_objects()}
        assert not any(id(row) in tracked for row in module.TABLE)  # out of every generation
    finally:
        gc.unfreeze()


def test_a_fresh_heavy_import_is_announced_once_to_live_listeners(probe_module: str) -> None:
    listener, dead = _Listener(), _Listener()
    after_heavy_import(listener.heard)
    after_heavy_import(dead.heard)
    registered = len(heavy_imports._after_import)
    del dead  # held weakly: it goes with its object
    gc.collect()
    import_heavy(probe_module)
    assert listener.calls == 1
    assert len(heavy_imports._after_import) == registered - 1  # the dead one dropped
    import_heavy(probe_module)  # already imported: nothing new to settle
    assert listener.calls == 1
