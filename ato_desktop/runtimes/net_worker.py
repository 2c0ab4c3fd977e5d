"""The network process: makes the provider SDKs' HTTP requests for the app (`net_process`).

It runs httpx's own transport (connection pool, TLS, HTTP/1.1, timeouts) on its own asyncio
loop and sends each response back over one socket, the body's chunks gathered for a couple of
milliseconds so the app wakes once for many streams' deltas. It ends when the app's end of the
socket closes. It logs nothing: a request's headers hold an API key.

    python -m ato_desktop.runtimes.net_worker FD
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import os
import socket
import sys
from typing import Any

import orjson

from ato_desktop.runtimes import net_wire as wire

FLUSH_S = 0.002
NICENESS = 10
HIGH_WATER = 4 * 1024 * 1024


class Outbox:
    """Frames for the app, written together: DATA within FLUSH_S, the rest at once."""

    def __init__(self, writer: asyncio.StreamWriter) -> None:
        self._writer = writer
        self._buffer = bytearray()
        self._timer: asyncio.TimerHandle | None = None

    def send(self, kind: int, stream_id: int, payload: bytes = b"", *, now: bool = False) -> None:
        self._buffer += wire.frame(kind, stream_id, payload)
        if now:
            self.flush()
        elif self._timer is None:
            self._timer = asyncio.get_running_loop().call_later(FLUSH_S, self.flush)

    def flush(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if self._buffer and not self._writer.is_closing():
            self._writer.write(bytes(self._buffer))
        self._buffer.clear()

    async def drained(self) -> None:
        """Wait while the app is behind (its socket's buffer is full): TCP's back-pressure."""
        transport = self._writer.transport
        if transport.get_write_buffer_size() > HIGH_WATER:
            self.flush()
            await self._writer.drain()


async def fetch(transport: Any, out: Outbox, stream_id: int, payload: bytes) -> None:
    import httpx2

    (head_size,) = wire.REQUEST_HEAD.unpack_from(payload)
    head = orjson.loads(payload[wire.REQUEST_HEAD.size : wire.REQUEST_HEAD.size + head_size])
    body = payload[wire.REQUEST_HEAD.size + head_size :]
    try:
        request = httpx2.Request(
            head["method"],
            head["url"],
            headers=wire.headers_in(head["headers"]),
            stream=httpx2.ByteStream(body),
            extensions={"timeout": head["timeout"]} if head.get("timeout") else {},
        )
        response = await transport.handle_async_request(request)
        try:
            out.send(
                wire.HEAD,
                stream_id,
                orjson.dumps(
                    {
                        "status": response.status_code,
                        "headers": wire.headers_out(response.headers.raw),
                        "http_version": _text(response.extensions.get("http_version")),
                        "reason": _text(response.extensions.get("reason_phrase")),
                    }
                ),
                now=True,
            )
            async for part in response.stream:
                out.send(wire.DATA, stream_id, part)
                await out.drained()
            out.send(wire.END, stream_id, now=True)
        finally:
            await response.aclose()
    except asyncio.CancelledError:
        raise
    except Exception as exc:
        error = {"type": type(exc).__name__, "message": str(exc)}
        out.send(wire.ERROR, stream_id, orjson.dumps(error), now=True)


def _forget(tasks: dict[int, asyncio.Task[None]], stream_id: int, _task: object) -> None:
    tasks.pop(stream_id, None)


def _text(value: object) -> str | None:
    return value.decode("latin-1") if isinstance(value, bytes) else None


def keepalive_options() -> list[tuple[int, int, int]]:
    """TCP keep-alive on provider connections, as the Anthropic SDK's own client sets it: a
    long silent stream's connection is probed, not dropped by a middlebox."""
    options = [(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)]
    for name, value in (("TCP_KEEPINTVL", 60), ("TCP_KEEPCNT", 5), ("TCP_KEEPIDLE", 60)):
        option = getattr(socket, name, None)
        if option is not None:
            options.append((socket.IPPROTO_TCP, option, value))
    return options


async def serve(sock: socket.socket) -> None:
    import httpx2

    from ato_desktop.runtimes.tls import shared_ssl_context

    transport = httpx2.AsyncHTTPTransport(
        verify=shared_ssl_context(),
        # Every dispatch of the app shares this pool: no cap on concurrent streams. No
        # connection is kept for the next request, as when each dispatch had a client of its
        # own: a reused connection to a server that writes small segments with Nagle's
        # algorithm on (the test fakes, Python's http.server) waits for delayed ACKs, 40 ms a
        # request.
        limits=httpx2.Limits(max_connections=None, max_keepalive_connections=0),
        socket_options=keepalive_options(),
    )
    reader, writer = await asyncio.open_unix_connection(sock=sock)
    out = Outbox(writer)
    tasks: dict[int, asyncio.Task[None]] = {}
    try:
        while True:
            try:
                header = await reader.readexactly(wire.HEADER.size)
                length, stream_id, kind = wire.HEADER.unpack(header)
                payload = await reader.readexactly(length)
            except (asyncio.IncompleteReadError, ConnectionError):
                return  # the app closed its end (or ended)
            if kind == wire.REQUEST:
                task = asyncio.create_task(fetch(transport, out, stream_id, payload))
                tasks[stream_id] = task
                task.add_done_callback(functools.partial(_forget, tasks, stream_id))
            elif kind == wire.CLOSE:
                running = tasks.get(stream_id)
                if running is not None:
                    running.cancel()
    finally:
        for task in list(tasks.values()):
            task.cancel()
        with contextlib.suppress(Exception):
            await asyncio.gather(*tasks.values(), return_exceptions=True)
        with contextlib.suppress(Exception):
            await transport.aclose()
        writer.close()


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    # The window comes first: when the cores are all busy (many streams, a busy machine), the
    # network waits, not the UI thread (a delta a few ms late is not seen; a frame is).
    with contextlib.suppress(AttributeError, OSError):
        os.nice(NICENESS)
    sock = socket.socket(fileno=int(args[0]))
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve(sock))
    return 0


if __name__ == "__main__":
    sys.exit(main())
