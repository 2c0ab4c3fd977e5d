"""An adapter against the fake running as a separate process, scripted over its control API."""

from __future__ import annotations

import asyncio

from ato_desktop.core.models import EventKind
from tests.fakes import FakeControl, Scenario
from tests.fakes.serve import spawn_fake_server
from tests.runtimes.conftest import API_KEY, CODEX, make_request


def test_cancel_against_a_subprocess_fake_is_seen_as_a_disconnect() -> None:
    with spawn_fake_server() as (_process, url):
        control = FakeControl(url)
        control.set_scenario(Scenario(chunks=tuple(f"c{n} " for n in range(100)), delay_s=0.05))
        request = make_request(CODEX, None, base_url=f"{url}/v1", stall_timeout_s=5)

        async def run() -> None:
            async for event in CODEX.adapter().stream(request):
                if event.kind is EventKind.TEXT:
                    return  # abandoned mid-stream: asyncio finalises (closes) the generator

        asyncio.run(asyncio.wait_for(run(), 10))

        assert control.wait_for("disconnected", timeout=5)
        (recorded,) = control.requests()
        assert recorded["path"] == "/v1/responses"
        assert recorded["headers"]["authorization"] == f"Bearer {API_KEY}"
        assert recorded["disconnected"] is True
