"""A real MCP server, built with the official `mcp` SDK, for testing ATO's MCP client.

    python -m tests.fakes.mcp_server --stdio [--notes FILE]
    python -m tests.fakes.mcp_server --http [--host 127.0.0.1] [--port 0] [--token T] [--notes FILE]

Over HTTP it serves streamable HTTP at ``/mcp`` and prints its URL
(``http://127.0.0.1:<port>/mcp``) as the first line of stdout. ``--token`` (or
``$ATO_MCP_TEST_TOKEN``) makes every request need ``Authorization: Bearer <token>``; any other
gets a 401. Tools (deterministic, see tests/fakes/README.md):

- ``add(a, b)``: a + b (read-only)
- ``lookup_order(order_id)``: a fixed order as JSON (read-only)
- ``write_note(text)``: appends a line to the notes file (side effect, not read-only)
- ``fail(message)``: always an error result with that message
- ``slow(seconds)``: reports progress once, then sleeps in a thread, deaf to cancellation
  (a hanging tool)
- ``server_pid()``: the server's process id (read-only; for leak checks)
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable, Iterator, MutableMapping, Sequence
from pathlib import Path
from typing import Any

import anyio.to_thread
from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp_types import ToolAnnotations

NOTES_ENV = "ATO_MCP_NOTES_FILE"
TOKEN_ENV = "ATO_MCP_TEST_TOKEN"
SERVER_NAME = "ato-test-tools"

ORDERS: dict[str, dict[str, Any]] = {
    "A-1001": {"order_id": "A-1001", "status": "shipped", "items": 2, "total_usd": 42.5},
    "A-1002": {"order_id": "A-1002", "status": "pending", "items": 1, "total_usd": 9.99},
}

READ_ONLY = ToolAnnotations(read_only_hint=True, open_world_hint=False)


def build_server(notes_file: Path | None) -> MCPServer:
    """The test server with its six tools; write_note appends to notes_file."""
    server = MCPServer(SERVER_NAME, version="1.0.0", log_level="WARNING")

    @server.tool(description="Add two numbers.", annotations=READ_ONLY)
    def add(a: float, b: float) -> float:
        return a + b

    @server.tool(description="Look up an order by id; returns it as JSON.", annotations=READ_ONLY)
    def lookup_order(order_id: str) -> dict[str, Any]:
        order = ORDERS.get(order_id)
        if order is None:
            raise ToolError(f"no order {order_id!r}")
        return order

    @server.tool(
        description="Append a line of text to the notes file.",
        annotations=ToolAnnotations(
            read_only_hint=False, destructive_hint=False, idempotent_hint=False
        ),
    )
    def write_note(text: str) -> str:
        if notes_file is None:
            raise ToolError(f"no notes file: set ${NOTES_ENV} or pass --notes")
        with notes_file.open("a", encoding="utf-8") as fh:
            fh.write(text + "\n")
        return f"noted ({len(text)} characters)"

    @server.tool(description="Always fails with the given message.")
    def fail(message: str) -> str:
        raise ToolError(message)

    @server.tool(description="Report progress once, then sleep (a tool that hangs).")
    async def slow(seconds: float, ctx: Context) -> str:
        await ctx.report_progress(0, seconds, "sleeping")
        # In a thread, not asyncio.sleep: a hung tool does not notice cancellation either.
        await anyio.to_thread.run_sync(time.sleep, seconds)
        return f"slept {seconds:g}s"

    @server.tool(description="This server's process id.", annotations=READ_ONLY)
    def server_pid() -> int:
        return os.getpid()

    return server


Asgi = Callable[
    [MutableMapping[str, Any], Callable[[], Awaitable[Any]], Callable[[Any], Awaitable[None]]],
    Awaitable[None],
]


def require_bearer(app: Asgi, token: str) -> Asgi:
    """Wrap an ASGI app so every HTTP request needs ``Authorization: Bearer <token>``."""
    expected = f"Bearer {token}".encode()

    async def guarded(scope: MutableMapping[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "http" and dict(scope["headers"]).get(b"authorization") != expected:
            body = b'{"error":"invalid_token","error_description":"bad or missing bearer token"}'
            await send(
                {
                    "type": "http.response.start",
                    "status": 401,
                    "headers": [
                        (b"content-type", b"application/json"),
                        (b"content-length", str(len(body)).encode()),
                        (b"www-authenticate", b'Bearer error="invalid_token"'),
                    ],
                }
            )
            await send({"type": "http.response.body", "body": body})
            return
        await app(scope, receive, send)

    return guarded


async def serve_http(server: MCPServer, host: str, port: int, token: str | None) -> None:
    """Serve streamable HTTP on host:port (0: a free port); print the URL once listening."""
    import uvicorn

    app: Asgi = server.streamable_http_app(host=host)
    if token:
        app = require_bearer(app, token)
    config = uvicorn.Config(
        app,
        host=host,
        port=port,
        log_level="warning",
        lifespan="on",
        timeout_graceful_shutdown=1,
    )
    userver = uvicorn.Server(config)
    task = asyncio.create_task(userver.serve())
    while not userver.started:
        if task.done():
            await task  # startup failed: raise its error
            return
        await asyncio.sleep(0.01)
    bound = userver.servers[0].sockets[0].getsockname()[1]
    print(f"http://{host}:{bound}/mcp", flush=True)
    await task


REPO_ROOT = Path(__file__).resolve().parents[2]


def stdio_command(*extra: str) -> tuple[str, tuple[str, ...], dict[str, str]]:
    """(command, args, env) that start this server over stdio from any directory.

    It runs this file as a script: the same server as ``-m tests.fakes.mcp_server``, without
    importing the tests.fakes package (the LLM fakes), which makes start-up a third faster.
    """
    return sys.executable, (str(Path(__file__).resolve()), "--stdio", *extra), {}


@contextlib.contextmanager
def spawn_http_server(
    *extra: str, token: str | None = None, notes: Path | None = None
) -> Iterator[tuple[subprocess.Popen[str], str]]:
    """Run the server over HTTP in a subprocess on a free loopback port; yield (process, URL).
    The process is terminated (then killed) on exit."""
    command = [sys.executable, "-m", "tests.fakes.mcp_server", "--http", "--port", "0", *extra]
    if token:
        command += ["--token", token]
    if notes:
        command += ["--notes", str(notes)]
    process = subprocess.Popen(
        command, cwd=REPO_ROOT, stdout=subprocess.PIPE, text=True, encoding="utf-8"
    )
    try:
        assert process.stdout is not None
        url = process.stdout.readline().strip()
        if not url.startswith("http://"):
            raise RuntimeError(f"the MCP test server did not start (printed {url!r})")
        yield process, url
    finally:
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        if process.stdout is not None:
            process.stdout.close()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.fakes.mcp_server", description=__doc__)
    mode = parser.add_mutually_exclusive_group(required=True)
    mode.add_argument("--stdio", action="store_true", help="serve over stdin/stdout")
    mode.add_argument("--http", action="store_true", help="serve streamable HTTP")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    parser.add_argument("--token", help=f"bearer token required over HTTP (or ${TOKEN_ENV})")
    parser.add_argument("--notes", type=Path, help=f"file write_note appends to (or ${NOTES_ENV})")
    args = parser.parse_args(argv)
    notes = args.notes or (Path(os.environ[NOTES_ENV]) if os.environ.get(NOTES_ENV) else None)
    server = build_server(notes)
    if args.stdio:
        server.run("stdio")
        return 0
    token = args.token or os.environ.get(TOKEN_ENV) or None
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve_http(server, args.host, args.port, token))
    # slow() may still sleep in a worker thread, which would hold a normal exit up.
    sys.stdout.flush()
    os._exit(0)


if __name__ == "__main__":
    sys.exit(main())
