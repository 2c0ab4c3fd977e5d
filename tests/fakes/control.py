"""Script a fake server in another process through its control API (``/_control/...``)."""

from __future__ import annotations

import json
import urllib.request
from typing import Any

from tests.fakes.scenario import Scenario

# Never route loopback control calls through an HTTP proxy from the environment.
_opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))


class FakeControl:
    """Client for ``python -m tests.fakes.serve``: the same scripting as FakeLLMServer."""

    def __init__(self, base_url: str, timeout: float = 5.0) -> None:
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout

    def _call(self, method: str, command: str, body: dict[str, Any] | None = None) -> Any:
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(
            f"{self.base_url}/_control/{command}",
            data=data,
            method=method,
            headers={"content-type": "application/json"},
        )
        with _opener.open(request, timeout=self.timeout) as response:
            return json.loads(response.read() or b"null")

    def health(self) -> bool:
        return bool(self._call("GET", "health").get("ok"))

    def set_scenario(self, scenario: Scenario) -> None:
        """The behaviour for every request not covered by the queue."""
        self._call("POST", "scenario", {"default": scenario.to_dict()})

    def enqueue(self, *scenarios: Scenario) -> None:
        """Behaviours for the next requests, one each, in order."""
        self._call("POST", "enqueue", {"queue": [s.to_dict() for s in scenarios]})

    def wait_for(self, event: str = "disconnected", index: int = -1, timeout: float = 5.0) -> bool:
        """Block until request ``index`` is ``disconnected``, ``stalled`` or ``done``."""
        saved, self.timeout = self.timeout, timeout + 5.0
        try:
            body = {"event": event, "index": index, "timeout": timeout}
            return bool(self._call("POST", "wait", body)["ok"])
        finally:
            self.timeout = saved

    def release(self) -> None:
        """Let stalled streams carry on."""
        self._call("POST", "release", {})

    def reset(self) -> None:
        self._call("POST", "reset", {})

    def requests(self) -> list[dict[str, Any]]:
        """Recorded requests: method, path, headers (lower-case names), body, disconnected..."""
        result: list[dict[str, Any]] = self._call("GET", "requests")["requests"]
        return result
