"""Test-wide guards: a fresh ATO_HOME per test, no network beyond loopback, an in-memory keyring;
and the fixtures every suite shares: the loopback provider (`fake`), provider keys in the
keyring (`keys`) and a workspace over this test's data directory (`workspace`). Builders of
rows and agents are in tests/support/builders.py."""

from __future__ import annotations

import gc
import ipaddress
import os
import socket
from collections.abc import Iterator
from pathlib import Path

import keyring
import pytest

from ato_desktop.engine.credentials import CredentialStore
from ato_desktop.engine.workspace import Workspace
from ato_desktop.store.paths import DataPaths
from tests.fakes import FakeLLMServer
from tests.support.memory_keyring import MemoryKeyring
from tests.support.provider_keys import ANTHROPIC_KEY, COMPATIBLE_KEY, OPENAI_KEY

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
# Tests never download anything: tiktoken encodings and price updates stay off.
os.environ["ATO_OFFLINE"] = "1"
for _var in ("ANTHROPIC_API_KEY", "OPENAI_API_KEY", "ANTHROPIC_BASE_URL", "OPENAI_BASE_URL"):
    os.environ.pop(_var, None)

_real_connect = socket.socket.connect
_real_connect_ex = socket.socket.connect_ex


def _is_loopback(address: object) -> bool:
    if isinstance(address, tuple) and address:
        host = address[0]
        if host in ("localhost", ""):
            return True
        try:
            return ipaddress.ip_address(host).is_loopback
        except ValueError:
            return False
    return True  # AF_UNIX paths (dbus, local sockets)


def _guarded_connect(self: socket.socket, address: object) -> None:
    if not _is_loopback(address):
        raise ConnectionRefusedError(f"tests may not reach the network: {address!r}")
    _real_connect(self, address)  # type: ignore[arg-type]


def _guarded_connect_ex(self: socket.socket, address: object) -> int:
    if not _is_loopback(address):
        raise ConnectionRefusedError(f"tests may not reach the network: {address!r}")
    return _real_connect_ex(self, address)  # type: ignore[arg-type]


socket.socket.connect = _guarded_connect  # type: ignore[method-assign]
socket.socket.connect_ex = _guarded_connect_ex  # type: ignore[method-assign]


@pytest.fixture(autouse=True)
def ato_home(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Every test gets an empty data directory of its own."""
    home = tmp_path_factory.mktemp("ato-home")
    monkeypatch.setenv("ATO_HOME", str(home))
    return home


@pytest.fixture(autouse=True)
def unfrozen_heap() -> Iterator[None]:
    """A window settles the heap (gc.freeze) for the rest of its process; a test process runs
    many windows, so what one test froze goes back to the collector when it ends (its garbage,
    and timers of widgets only a collection would delete, must not outlive it)."""
    yield
    gc.unfreeze()


@pytest.fixture(autouse=True)
def memory_keyring(request: pytest.FixtureRequest) -> Iterator[MemoryKeyring | None]:
    """An in-memory keyring for every test except those that test the real Secret Service."""
    if request.node.get_closest_marker("keyring_real"):
        yield None
        return
    previous = keyring.get_keyring()
    backend = MemoryKeyring()
    keyring.set_keyring(backend)
    try:
        yield backend
    finally:
        keyring.set_keyring(previous)


@pytest.fixture
def fake(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeLLMServer]:
    """A loopback server speaking the providers' wire formats, fresh per test (an HTTP proxy in
    the environment must not catch loopback)."""
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    with FakeLLMServer() as server:
        yield server


@pytest.fixture
def keys(memory_keyring: MemoryKeyring | None) -> CredentialStore:
    """Every provider's planted key in the (in-memory) keyring."""
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
    """The workspace of this test's data directory, with the provider keys set."""
    ws = Workspace.open(DataPaths(ato_home))
    yield ws
    ws.close()
