"""Loopback fakes of the Anthropic and OpenAI HTTP APIs, speaking their real wire formats.

See tests/fakes/README.md for scripting, the control API and the subprocess mode.
"""

from tests.fakes.control import FakeControl
from tests.fakes.scenario import FakeToolCall, Scenario, UsageSpec
from tests.fakes.server import FakeLLMServer, RecordedRequest, running_fake

__all__ = [
    "FakeControl",
    "FakeLLMServer",
    "FakeToolCall",
    "RecordedRequest",
    "Scenario",
    "UsageSpec",
    "running_fake",
]
