"""The contract every runtime adapter keeps."""

from __future__ import annotations

from collections.abc import AsyncGenerator
from typing import Protocol

from ato_desktop.core.models import RuntimeEvent, RuntimeRequest


class RuntimeAdapter(Protocol):
    """Streams one model call as RuntimeEvents.

    Contract:
    - yields ACCEPTED once the provider's response has begun (API runtimes; a call that ends
      without it never reached the model), TEXT events as chunks arrive, and a final USAGE, then
      exactly one FINISH, or an ERROR as the last event instead of FINISH;
    - a provisional USAGE with output_counted False may come earlier (the input the provider
      counted before answering); the last USAGE wins, and one with output_counted False leaves
      the output to estimate;
    - API runtimes offered request.tools yield one complete TOOL_CALL per call the model makes,
      in order, after the text and before USAGE / FINISH;
    - coding-agent runtimes (subprocesses) yield a STEP for each step the agent finishes (a tool
      use, a command, a file change), as it happens;
    - never raises for provider, network or stream failures: it yields an ERROR with an ErrorClass;
    - a stream with no chunk for request.stall_timeout_s ends with ERROR(stalled);
    - a connection that drops mid-stream ends with ERROR(stream_interrupted);
    - USAGE, when reported, comes before the final FINISH or ERROR (a stream that fails after
      the provider counted the input still reports what it counted);
    - cancellation (asyncio.CancelledError) propagates and closes the HTTP stream at once;
    - the API key never appears in an event message.
    """

    name: str
    env_key_var: str
    # The SDK the adapter imports lazily; the dispatcher imports it off the event loop first, so
    # the import never counts as time to first token.
    sdk_module: str

    def stream(self, request: RuntimeRequest) -> AsyncGenerator[RuntimeEvent, None]: ...
