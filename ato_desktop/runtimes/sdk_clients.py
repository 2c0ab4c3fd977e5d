"""The provider SDK clients, built for one streaming call with ATO's timeouts and retry policy.

Both SDKs retry on their own: a 429 or 5xx after the wait the server names (``retry-after``,
honoured up to 49 days), and a timeout right away. Left alone, a 429 with ``retry-after: 3600``
holds a dispatch for an hour, and a server that takes the connection but never answers holds it
for the read timeout times every attempt. The policy is set where those decisions are made, in
the SDK client itself (its ``_should_retry`` and ``_sleep_for_retry`` hooks, stable across
both SDKs' generations):

- a response that asks for a wait longer than ``request.max_retry_wait_s`` is not retried: the
  SDK raises its error (RateLimitError, ...) at once and the adapter reports the wait;
- an attempt that timed out (nothing within the stall timeout) is not retried: a server silent
  for that long has had its chance;
- connect, response headers and every read of the body are each bounded by the stall timeout
  (the connect timeout too, when it is shorter).

Connection failures and short waits are still retried by the SDK (``request.max_retries``).
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any, cast

from ato_desktop.core.models import RuntimeRequest
from ato_desktop.runtimes.errors import is_timeout, retry_after_seconds

if TYPE_CHECKING:
    import httpx2
    from anthropic import AsyncAnthropic
    from openai import AsyncOpenAI

_bounded_classes: dict[type[Any], type[Any]] = {}


def headers_timeout_s(request: RuntimeRequest) -> float:
    """How long an attempt may wait for the response to begin (and for each read after it)."""
    return request.stall_timeout_s if request.stall_timeout_s > 0 else request.request_timeout_s


def http_timeout(request: RuntimeRequest) -> httpx2.Timeout:
    """The httpx timeouts of one call: connect and every read within the stall timeout."""
    import httpx2

    wait = headers_timeout_s(request)
    return httpx2.Timeout(
        request.request_timeout_s,
        connect=min(request.connect_timeout_s, wait),
        read=wait,
    )


def bounded_retries(base: type[Any]) -> type[Any]:
    """``base`` (an SDK's async client class) with ATO's retry policy (see the module doc)."""
    cached = _bounded_classes.get(base)
    if cached is not None:
        return cached

    class BoundedRetries(base):  # type: ignore[misc]
        """The SDK client, refusing long retry waits and retries of a silent server."""

        ato_max_retry_wait_s: float = 60.0

        def _should_retry(self, response: Any) -> bool:
            wait = retry_after_seconds(getattr(response, "headers", None))
            if wait is not None and wait > self.ato_max_retry_wait_s:
                return False  # the SDK raises the status error now; the adapter says the wait
            return bool(super()._should_retry(response))

        async def _sleep_for_retry(self, **kwargs: Any) -> None:
            # Called from inside the SDK's except clause: the failure being handled is the one
            # about to be retried. A timeout (the stall allowance spent in silence) is final.
            failure = sys.exc_info()[1]
            if kwargs.get("response") is None and failure is not None and is_timeout(failure):
                raise failure
            await super()._sleep_for_retry(**kwargs)

    BoundedRetries.__name__ = BoundedRetries.__qualname__ = f"Bounded{base.__name__}"
    _bounded_classes[base] = BoundedRetries
    return BoundedRetries


def network_process_transport() -> dict[str, Any]:
    """``transport=`` for a client made on the app's engine loop, whose requests the network
    process makes (runtimes.net_process); nothing elsewhere (httpx's own transport)."""
    from ato_desktop.runtimes.net_process import net_for_running_loop

    if net_for_running_loop() is None:
        return {}
    from ato_desktop.runtimes.net_transport import transport_for_running_loop

    return {"transport": transport_for_running_loop()}


def make_anthropic_client(
    request: RuntimeRequest, *, api_key: str, base_url: str
) -> AsyncAnthropic:
    """An ``anthropic.AsyncAnthropic`` bound to exactly ``base_url`` with ``api_key``.

    An explicit key and base URL: the SDK then reads no credential profile, config directory or
    federation variables, and talks to nothing but base_url.
    """
    import anthropic

    from ato_desktop.runtimes.tls import shared_ssl_context

    client = bounded_retries(anthropic.AsyncAnthropic)(
        api_key=api_key,
        base_url=base_url,
        timeout=http_timeout(request),
        max_retries=max(request.max_retries, 0),
        # One TLS context per process, not one per client (parsing the CA bundle each time
        # stalled the UI thread); the SDK's own defaults otherwise.
        http_client=anthropic.DefaultAsyncHttpxClient(
            verify=shared_ssl_context(), **network_process_transport()
        ),
        # ATO exports its own traces from the execution log; SDK spans would duplicate them
        # and propagation headers would leak trace context to the provider.
        open_telemetry=False,
    )
    client.ato_max_retry_wait_s = request.max_retry_wait_s
    return cast("AsyncAnthropic", client)


def make_openai_client(request: RuntimeRequest, *, api_key: str, base_url: str) -> AsyncOpenAI:
    """An ``openai.AsyncOpenAI`` bound to exactly ``base_url`` with ``api_key``.

    Passing both explicitly keeps the SDK from falling back to OPENAI_API_KEY / OPENAI_BASE_URL or
    to workload-identity configuration.
    """
    import openai

    from ato_desktop.runtimes.tls import shared_ssl_context

    client = bounded_retries(openai.AsyncOpenAI)(
        api_key=api_key,
        base_url=base_url,
        timeout=http_timeout(request),
        max_retries=max(request.max_retries, 0),
        # One TLS context per process, not one per client (runtimes.tls).
        http_client=openai.DefaultAsyncHttpxClient(
            verify=shared_ssl_context(), **network_process_transport()
        ),
    )
    client.ato_max_retry_wait_s = request.max_retry_wait_s
    return cast("AsyncOpenAI", client)


def prepare_sdk(sdk_module: str) -> None:
    """Import an SDK with everything its first streaming call would load, and the TLS context.

    Call it from a worker thread before a run starts: the first client and its resources
    (``client.messages``, ``client.responses``, ``client.chat``) import modules lazily, which
    took a second under load; a run's duration and TTFT must measure the provider, not that.
    """
    from ato_desktop.core.heavy_imports import import_heavy
    from ato_desktop.runtimes import tls

    import_heavy(sdk_module)
    tls.warm_up()
    request = RuntimeRequest(model="-", messages=())
    if sdk_module == "anthropic":
        anthropic_client = make_anthropic_client(
            request, api_key="-", base_url="http://127.0.0.1:9"
        )
        _ = anthropic_client.messages
    elif sdk_module == "openai":
        openai_client = make_openai_client(request, api_key="-", base_url="http://127.0.0.1:9")
        _ = (openai_client.responses, openai_client.chat.completions)
