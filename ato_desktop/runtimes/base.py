"""The contract every runtime adapter keeps."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Protocol

from ato_desktop.core.models import RuntimeEvent, RuntimeRequest


class RuntimeAdapter(Protocol):
    """Streams one model call as RuntimeEvents.

    Contract:
    - yields TEXT events as chunks arrive, then at most one USAGE (when the provider reports it),
      then exactly one FINISH, or an ERROR as the last event instead of FINISH;
    - never raises for provider, network or stream failures: it yields an ERROR with an ErrorClass;
    - a stream with no chunk for request.stall_timeout_s ends with ERROR(stalled);
    - a connection that drops mid-stream ends with ERROR(stream_interrupted);
    - cancellation (asyncio.CancelledError) propagates and closes the HTTP stream at once;
    - the API key never appears in an event message.
    """

    name: str
    env_key_var: str

    def stream(self, request: RuntimeRequest) -> AsyncIterator[RuntimeEvent]: ...
