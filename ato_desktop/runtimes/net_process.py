"""The provider SDKs' HTTP in a process of its own, for the desktop app (issue 20.1).

The engine's thread shares the GIL with the UI thread, and most of its Python per streamed
delta was the network's: the selector waking for each chunk, httpcore and h11 reading it,
httpx handing it up (docs/benchmarks.md). In the app, the SDK clients get `ProcessTransport`:
the SDK still builds the request, sends it through its client (auth, retries, timeouts, the
status check, the error of a failed request) and reads the body; only the transport, the part
below the client that moves bytes, is in the network process (`net_worker`). That process
gathers what arrives for every stream for a couple of milliseconds and sends it in one write,
so the engine wakes once for many deltas and parses no HTTP.

Contract (what the tests hold it to): a response, its status, headers and body are exactly what
httpx's own transport gives; an httpx error in the network process (connect, timeout, a peer
that closed) is raised here as the same httpx class with the same message, so the SDKs and
`runtimes.errors` classify it as before; closing a response (a kill, a stop, an SDK done
early) closes its connection there; a network process that dies fails the requests in flight
with ReadError (the SDK's own retry policy applies) and the next request starts a new one.

The CLI does not use it: it has no UI thread to protect, and a process per command would cost
more than it saves.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import socket
import subprocess
import sys
import weakref
from collections import deque
from typing import TYPE_CHECKING, Any

import orjson

from ato_desktop.runtimes import net_wire as wire

if TYPE_CHECKING:
    import httpx2

log = logging.getLogger(__name__)

_for_loop: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, NetProcess] = (
    weakref.WeakKeyDictionary()
)


def use_for_loop(loop: asyncio.AbstractEventLoop, net: NetProcess | None) -> None:
    """The SDK clients made on ``loop`` (the engine's) send through ``net`` (None: in process)."""
    if net is None:
        _for_loop.pop(loop, None)
    else:
        _for_loop[loop] = net


def _command(fd: int) -> list[str]:
    if getattr(sys, "frozen", False):  # the bundle's entry script knows this argument
        return [sys.executable, "--ato-net-worker", str(fd)]
    return [sys.executable, "-m", "ato_desktop.runtimes.net_worker", str(fd)]


class PendingResponse:
    __slots__ = ("chunks", "done", "error", "head", "waiter")

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.head: asyncio.Future[dict[str, Any]] = loop.create_future()
        self.chunks: deque[bytes] = deque()
        self.done = False
        self.error: BaseException | None = None
        self.waiter: asyncio.Future[None] | None = None

    def wake(self) -> None:
        if self.waiter is not None and not self.waiter.done():
            self.waiter.set_result(None)


class Connection(asyncio.Protocol):
    """The app's end of the socket: frames in, routed to their streams."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.streams: dict[int, tuple[PendingResponse, httpx2.Request]] = {}
        self.lost = False
        self.opened = 0
        self._buffer = bytearray()
        self._ids = itertools.count(1)

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def open(self, request: httpx2.Request, body: bytes) -> tuple[int, PendingResponse]:
        stream_id = next(self._ids)
        self.opened += 1
        stream = PendingResponse(asyncio.get_running_loop())
        if self.lost or self.transport is None or self.transport.is_closing():
            # It ended between the caller getting this connection and sending: a request written
            # nowhere would wait for its head forever.
            import httpx2

            self._fail(stream, httpx2.ReadError("the network process ended", request=request))
            return stream_id, stream
        self.streams[stream_id] = (stream, request)
        head = orjson.dumps(
            {
                "method": request.method,
                "url": str(request.url),
                "headers": wire.headers_out(request.headers.raw),
                "timeout": request.extensions.get("timeout"),
            }
        )
        self._write(
            wire.frame(wire.REQUEST, stream_id, wire.REQUEST_HEAD.pack(len(head)) + head + body)
        )
        return stream_id, stream

    def close_stream(self, stream_id: int) -> None:
        if self.streams.pop(stream_id, None) is not None:
            self._write(wire.frame(wire.CLOSE, stream_id))

    def _write(self, data: bytes) -> None:
        if self.transport is not None and not self.transport.is_closing():
            self.transport.write(data)

    def data_received(self, data: bytes) -> None:
        self._buffer += data
        for kind, stream_id, payload in wire.split(self._buffer):
            entry = self.streams.get(stream_id)
            if entry is None:
                continue  # closed here already
            stream, request = entry
            if kind == wire.DATA:
                stream.chunks.append(payload)
                stream.wake()
            elif kind == wire.HEAD:
                if not stream.head.done():
                    stream.head.set_result(orjson.loads(payload))
            elif kind == wire.END:
                del self.streams[stream_id]
                stream.done = True
                stream.wake()
            elif kind == wire.ERROR:
                del self.streams[stream_id]
                self._fail(stream, _exception(orjson.loads(payload), request))

    def connection_lost(self, exc: Exception | None) -> None:
        import httpx2

        self.lost = True
        streams, self.streams = self.streams, {}
        for stream, request in streams.values():
            self._fail(stream, httpx2.ReadError("the network process ended", request=request))

    @staticmethod
    def _fail(stream: PendingResponse, error: BaseException) -> None:
        if not stream.head.done():
            stream.head.set_exception(error)
        else:
            stream.error = error
            stream.wake()


def _exception(info: dict[str, str], request: httpx2.Request) -> BaseException:
    """The httpx error the network process met, as the same class here."""
    import httpx2

    cls = getattr(httpx2, info.get("type", ""), None)
    message = info.get("message", "")
    if isinstance(cls, type) and issubclass(cls, httpx2.RequestError):
        return cls(message, request=request)
    return httpx2.ReadError(f"{info.get('type')}: {message}", request=request)


class NetProcess:
    """The network process of one engine loop: started on first use, and again after it ended."""

    def __init__(self) -> None:
        self._process: subprocess.Popen[bytes] | None = None
        self._connection: Connection | None = None
        self._starting: asyncio.Future[Connection] | None = None
        self._opened_before = 0  # requests sent to network processes that ended
        self.unavailable: str | None = None  # why it could not start (then HTTP in process)

    async def connection(self) -> Connection:
        """The live connection to the network process (started if need be)."""
        if self._connection is not None and not self._connection.lost:
            return self._connection
        if self._starting is None:
            self._starting = asyncio.ensure_future(self._start())
        try:
            return await asyncio.shield(self._starting)
        finally:
            if self._starting is not None and self._starting.done():
                self._starting = None

    async def _start(self) -> Connection:
        loop = asyncio.get_running_loop()
        if self._connection is not None:
            self._opened_before += self._connection.opened
        self._reap()
        ours, theirs = socket.socketpair()
        try:
            self._process = await loop.run_in_executor(None, self._spawn, theirs)
        except OSError as exc:
            ours.close()
            self.unavailable = str(exc) or type(exc).__name__
            log.warning("the network process did not start (%s): HTTP in process", exc)
            raise
        finally:
            theirs.close()
        connection = Connection()
        await loop.create_unix_connection(lambda: connection, sock=ours)
        self._connection = connection
        return connection

    @staticmethod
    def _spawn(sock: socket.socket) -> subprocess.Popen[bytes]:
        fd = sock.fileno()
        return subprocess.Popen(
            _command(fd),
            pass_fds=(fd,),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            # Nothing to say that the app would show; a traceback is no place for a request.
            stderr=subprocess.DEVNULL,
            start_new_session=True,  # a Ctrl+C at the terminal is the app's to handle
        )

    def _reap(self) -> None:
        process, self._process = self._process, None
        if process is not None and process.poll() is None:
            process.kill()
        if process is not None:
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(timeout=1)

    async def start(self) -> None:
        """Start it now (the user is about to dispatch), so the first request does not wait."""
        await self.connection()

    async def aclose(self) -> None:
        """End the network process: its socket closes, it closes its connections and exits."""
        connection, self._connection = self._connection, None
        if connection is not None:
            self._opened_before += connection.opened
        if connection is not None and connection.transport is not None:
            connection.transport.close()
        process = self._process
        if process is not None:
            loop = asyncio.get_running_loop()
            try:
                await loop.run_in_executor(None, process.wait, 2)
            except subprocess.TimeoutExpired:
                process.kill()
            self._reap()

    @property
    def requests_sent(self) -> int:
        """How many requests went to a network process (this one and any before it)."""
        current = 0 if self._connection is None else self._connection.opened
        return self._opened_before + current

    @property
    def pid(self) -> int | None:
        return None if self._process is None else self._process.pid


def net_for_running_loop() -> NetProcess | None:
    """The network process of the running loop, if the app gave it one."""
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:
        return None
    return _for_loop.get(loop)
