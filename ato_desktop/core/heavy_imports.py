"""The heavy third-party packages, imported lazily and one at a time.

The window must paint before these load, so they are imported late, on worker threads. Two
threads importing pydantic-based packages (anthropic, openai, genai-prices) at the same moment
can see a partially initialised module ("cannot import name ... partially initialized module"),
so every lazy import of them goes through `import_heavy`, under one lock.

What such an import builds (classes, pydantic schemas, tables) lives as long as the process. Left
to the cyclic garbage collector, every full collection walks all of it again: about 240,000
objects once the window and the SDKs are loaded, a 180 ms pause of every thread (the collector
holds the GIL) that the UI thread felt as a frozen frame in the middle of streaming answers. So
once the window has started, and after each heavy import, the window calls `settle_heap` on its
own thread: it moves what exists to the collector's permanent generation (gc.freeze), and later
collections walk only what came after. Not on the importing thread: its full collection may
free garbage Qt objects, which only their own thread may delete.
"""

from __future__ import annotations

import gc
import importlib
import logging
import sys
import threading
import weakref
from collections.abc import Callable
from types import ModuleType

log = logging.getLogger(__name__)

HEAVY_MODULES = ("anthropic", "openai", "genai_prices", "tiktoken")

_lock = threading.RLock()
_after_import: list[weakref.WeakMethod[Callable[[], object]]] = []


def import_heavy(name: str) -> ModuleType:
    """Import (or fetch) a heavy package; concurrent callers wait for one complete import.

    Always under the lock: while another thread imports, sys.modules already holds the module
    half-initialised, so "already in sys.modules" does not mean "ready".
    """
    with _lock:
        fresh = name not in sys.modules
        module = importlib.import_module(name)
        if fresh:
            _announce()
        return module


def after_heavy_import(method: Callable[[], object]) -> None:
    """Call a bound method after each first import of a heavy package, on the importing thread
    (a Qt signal it emits carries it to its own). Held weakly: it goes with its object."""
    _after_import.append(weakref.WeakMethod(method))


def _announce() -> None:
    for ref in list(_after_import):
        method = ref()
        try:
            if method is None:
                raise RuntimeError("gone")
            method()
        except RuntimeError:  # its object, or the Qt object behind it, was deleted
            if ref in _after_import:
                _after_import.remove(ref)
        except Exception:  # the import stands whatever a listener does
            log.exception("after importing a heavy package")


def settle_heap() -> None:
    """Take what exists now out of the cyclic collector's future full collections (on the UI
    thread, in the window).

    A full collection first, so no garbage cycle is kept (a cycle among frozen objects is never
    collected; a frozen object is still freed when its last reference goes): one pause the
    size of the ones it saves, at a moment that is already one of loading.
    """
    gc.collect()
    gc.freeze()
