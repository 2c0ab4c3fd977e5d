"""One TLS context for every provider client of the process.

The SDKs build a new context for each client they make, and a client is made per dispatch:
parsing the CA bundle costs 20-40 ms (far more under load), on the event loop, which is the UI
thread, and 50 dispatches started at once stalled it for over a second (docs/benchmarks.md).
The context is built once, the way the SDKs' HTTP client builds its own (httpx2's
create_ssl_context: SSL_CERT_FILE / SSL_CERT_DIR, the system's trust store), and the first
one is made off the event loop (`warm_up`, from the dispatcher's worker thread).
"""

from __future__ import annotations

import ssl
import threading

_lock = threading.Lock()
_context: ssl.SSLContext | None = None


def shared_ssl_context() -> ssl.SSLContext:
    """The process's TLS context for provider connections (made on first use)."""
    global _context
    with _lock:
        if _context is None:
            import httpx2

            _context = httpx2.create_ssl_context()
        return _context


def warm_up() -> None:
    """Make the context now (call it from a worker thread, before the first client)."""
    shared_ssl_context()
