from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from ato_desktop.engine.credentials import CredentialStore
from ato_desktop.engine.workspace import Workspace
from ato_desktop.store.paths import DataPaths
from tests.fakes import FakeLLMServer

ANTHROPIC_KEY = "sk-ant-api03-PLANTEDKEY-abcdefghijklmnopqrstuvwxyz0123456789"
OPENAI_KEY = "sk-proj-PLANTEDKEY-zyxwvutsrqponmlkjihgfedcba9876543210"
COMPATIBLE_KEY = "local-PLANTEDKEY-0011223344556677"


@pytest.fixture
def fake(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeLLMServer]:
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    with FakeLLMServer() as server:
        yield server


@pytest.fixture
def keys(memory_keyring: object) -> CredentialStore:
    store = CredentialStore()
    for provider, key in (
        ("anthropic", ANTHROPIC_KEY),
        ("openai", OPENAI_KEY),
        ("openai-compatible", COMPATIBLE_KEY),
    ):
        assert store.set_key(provider, key).persisted
    return store


@pytest.fixture
def workspace(ato_home: Path, keys: CredentialStore) -> Iterator[Workspace]:
    ws = Workspace.open(DataPaths(ato_home))
    yield ws
    ws.close()
