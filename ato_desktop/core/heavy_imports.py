"""The heavy third-party packages, imported lazily and one at a time.

The window must paint before these load, so they are imported late, on worker threads. Two
threads importing pydantic-based packages (anthropic, openai, genai-prices) at the same moment
can see a partially initialised module ("cannot import name ... partially initialized module"),
so every lazy import of them goes through `import_heavy`, under one lock.
"""

from __future__ import annotations

import importlib
import threading
from types import ModuleType

HEAVY_MODULES = ("anthropic", "openai", "genai_prices", "tiktoken")

_lock = threading.RLock()


def import_heavy(name: str) -> ModuleType:
    """Import (or fetch) a heavy package; concurrent callers wait for one complete import.

    Always under the lock: while another thread imports, sys.modules already holds the module
    half-initialised, so "already in sys.modules" does not mean "ready".
    """
    with _lock:
        return importlib.import_module(name)
