"""The resilience suites reuse the engine's loopback fake provider."""

from tests.engine.conftest import fake

__all__ = ["fake"]
