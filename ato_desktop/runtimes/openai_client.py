"""Building an ``openai.AsyncOpenAI`` for one streaming call (codex and openai-compatible)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ato_desktop.core.models import RuntimeRequest

if TYPE_CHECKING:
    from openai import AsyncOpenAI


def make_openai_client(request: RuntimeRequest, *, api_key: str, base_url: str) -> AsyncOpenAI:
    """A client bound to exactly ``base_url`` with ``api_key``, the request's timeouts and retries.

    Passing both explicitly keeps the SDK from falling back to OPENAI_API_KEY / OPENAI_BASE_URL or
    to workload-identity configuration. The SDK is imported here, not at module import, so the
    app window paints before it loads.
    """
    import httpx2
    import openai

    from ato_desktop.runtimes.tls import shared_ssl_context

    return openai.AsyncOpenAI(
        api_key=api_key,
        base_url=base_url,
        timeout=httpx2.Timeout(request.request_timeout_s, connect=request.connect_timeout_s),
        max_retries=max(request.max_retries, 0),
        # One TLS context per process, not one per client (runtimes.tls).
        http_client=openai.DefaultAsyncHttpxClient(verify=shared_ssl_context()),
    )
