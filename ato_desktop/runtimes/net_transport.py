"""The httpx transport of the SDK clients the app's engine makes: the network process
(`net_process`) moves the bytes."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

import httpx2

from ato_desktop.runtimes import net_wire as wire
from ato_desktop.runtimes.net_process import (
    Connection,
    NetProcess,
    PendingResponse,
    net_for_running_loop,
)

if TYPE_CHECKING:
    from collections.abc import AsyncIterator


# How many responses the network process carries at once; a request beyond that is made in
# the app's process. Measured (docs/benchmarks.md): 200 streams at once all through it, the
# engine thread's wakeups for its batches kept the UI thread from the GIL (lag p99 108-181 ms,
# 37 with this cap); up to 50 it halves the engine's CPU and the UI thread's lag.
MAX_STREAMS = 64


def transport_for_running_loop() -> ProcessTransport | None:
    """The transport for an SDK client made now, or None to use httpx's own."""
    net = net_for_running_loop()
    return None if net is None else ProcessTransport(net)


class _Body(httpx2.AsyncByteStream):
    """A response body read from the network process (httpx's AsyncByteStream protocol)."""

    def __init__(self, connection: Connection, stream_id: int, stream: PendingResponse) -> None:
        self._connection = connection
        self._id = stream_id
        self._stream = stream

    async def __aiter__(self) -> AsyncIterator[bytes]:
        stream = self._stream
        while True:
            if stream.chunks:
                # Everything that came for this stream since the last read, in one piece.
                chunks = stream.chunks
                data = chunks.popleft() if len(chunks) == 1 else b"".join(chunks)
                chunks.clear()
                yield data
            elif stream.error is not None:
                raise stream.error
            elif stream.done:
                return
            else:
                stream.waiter = asyncio.get_running_loop().create_future()
                await stream.waiter
                stream.waiter = None

    async def aclose(self) -> None:
        if not self._stream.done:
            self._connection.close_stream(self._id)


class ProcessTransport(httpx2.AsyncBaseTransport):
    """An httpx transport (AsyncBaseTransport's protocol) over the network process."""

    def __init__(self, net: NetProcess) -> None:
        self._net = net
        self._local: httpx2.AsyncHTTPTransport | None = None

    def _in_process(self) -> httpx2.AsyncHTTPTransport:
        if self._local is None:
            from ato_desktop.runtimes.net_worker import keepalive_options
            from ato_desktop.runtimes.tls import shared_ssl_context

            self._local = httpx2.AsyncHTTPTransport(
                verify=shared_ssl_context(), socket_options=keepalive_options()
            )
        return self._local

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        if self._net.unavailable is not None:
            return await self._in_process().handle_async_request(request)
        body = await request.aread()
        try:
            connection = await self._net.connection()
        except OSError:  # it could not start (logged): this client's HTTP in this process
            return await self._in_process().handle_async_request(request)
        if len(connection.streams) >= MAX_STREAMS:
            return await self._in_process().handle_async_request(request)
        stream_id, stream = connection.open(request, body)
        try:
            head = await stream.head
        except BaseException:
            connection.close_stream(stream_id)
            raise
        extensions: dict[str, Any] = {}
        if head.get("http_version"):
            extensions["http_version"] = head["http_version"].encode("latin-1")
        if head.get("reason"):
            extensions["reason_phrase"] = head["reason"].encode("latin-1")
        return httpx2.Response(
            status_code=head["status"],
            headers=wire.headers_in(head["headers"]),
            stream=_Body(connection, stream_id, stream),
            extensions=extensions,
        )

    async def aclose(self) -> None:
        """A client closing ends nothing but its own in-process pool, if it had one: the
        network process serves every client."""
        if self._local is not None:
            await self._local.aclose()
