"""CredentialStore against a real Secret Service (gnome-keyring over D-Bus).

Run from the repository root with:
    scripts/with-secret-service.sh .venv/bin/python -m pytest -m keyring_real tests/keyring_real

Everything here is skipped, with the reason, outside that script: the tests write to the default
collection, and must never do so in a developer's real login keyring. With
ATO_REQUIRE_SECRET_SERVICE=1 (as `make test` sets) they fail instead of skipping.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path

import keyring
import pytest
from keyring.backends import SecretService

from ato_desktop.engine import credentials
from ato_desktop.engine.credentials import (
    SERVICE_NAME,
    CredentialStore,
    KeyringUnavailableError,
    KeySource,
)

pytestmark = pytest.mark.keyring_real

ANTHROPIC_KEY = (
    "sk-ant-api03-" + "Re4lSecr3tServ1ce0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOP-_q"
)
ANTHROPIC_KEY_2 = (
    "sk-ant-api03-" + "Rep1aced0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWX_-zz"
)
OPENAI_KEY = (
    "sk-proj-" + "Re4lOpenAI0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ_-"
)


def _secret_service_unavailable() -> str | None:
    """Why these tests cannot run here, or None when they can."""
    if os.environ.get("ATO_THROWAWAY_SECRET_SERVICE") != "1":
        return (
            "needs the throwaway Secret Service of scripts/with-secret-service.sh "
            "(refusing to write to a real user keyring)"
        )
    if not os.environ.get("DBUS_SESSION_BUS_ADDRESS"):
        return "no D-Bus session bus (DBUS_SESSION_BUS_ADDRESS is not set)"
    try:
        import secretstorage

        with closing(secretstorage.dbus_init()) as connection:
            if not secretstorage.check_service_availability(connection):
                return "no Secret Service (org.freedesktop.secrets) on the session bus"
    except Exception as exc:
        return f"the Secret Service is not reachable over D-Bus: {type(exc).__name__}: {exc}"
    return None


def _items(username: str) -> list[bytes]:
    """The secrets stored under ato-desktop/username, read with SecretStorage directly."""
    import secretstorage

    with closing(secretstorage.dbus_init()) as connection:
        collection = secretstorage.get_default_collection(connection)
        found = collection.search_items({"service": SERVICE_NAME, "username": username})
        return [item.get_secret() for item in found]


def _delete_items() -> None:
    import secretstorage

    with closing(secretstorage.dbus_init()) as connection:
        collection = secretstorage.get_default_collection(connection)
        for item in collection.search_items({"service": SERVICE_NAME}):
            item.delete()


def _lock_default_collection() -> None:
    import secretstorage

    with closing(secretstorage.dbus_init()) as connection:
        secretstorage.get_default_collection(connection).lock()


def _unlock_default_collection() -> None:
    """Unlock with the throwaway password, without a prompt (gnome-keyring's own interface)."""
    import secretstorage
    from secretstorage.defines import SS_PATH
    from secretstorage.util import DBusAddressWrapper, format_secret, open_session

    password = os.environ["ATO_THROWAWAY_KEYRING_PASSWORD"].encode()
    with closing(secretstorage.dbus_init()) as connection:
        service = DBusAddressWrapper(SS_PATH, "org.freedesktop.Secret.Service", connection)
        (path,) = service.call("ReadAlias", "s", "default")
        internal = DBusAddressWrapper(
            SS_PATH, "org.gnome.keyring.InternalUnsupportedGuiltRiddenInterface", connection
        )
        secret = format_secret(open_session(connection), password, "text/plain")
        internal.call("UnlockWithMasterPassword", "o(oayays)", path, secret)
        assert not secretstorage.get_default_collection(connection).is_locked()


@pytest.fixture(autouse=True)
def secret_service(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Skip without a throwaway Secret Service (fail instead when ATO_REQUIRE_SECRET_SERVICE=1,
    as `make test` sets); otherwise start and end with no ATO items."""
    reason = _secret_service_unavailable()
    if reason:
        if os.environ.get("ATO_REQUIRE_SECRET_SERVICE") == "1":
            pytest.fail(f"ATO_REQUIRE_SECRET_SERVICE=1 but {reason}", pytrace=False)
        pytest.skip(reason)
    # keyring picks its backend from every KeyringBackend subclass defined so far, and the test
    # suite defines in-memory and fake ones that the app never has; choose as the app would.
    keyring.core.init_backend(
        limit=lambda backend: not type(backend).__module__.startswith("tests")
    )
    monkeypatch.setattr(credentials, "_PROCESS_KEYS", {})
    _delete_items()
    yield
    _delete_items()


def test_keyring_chooses_the_secret_service() -> None:
    assert isinstance(keyring.get_keyring(), SecretService.Keyring)
    store = CredentialStore()
    assert store.backend_is_secure()
    assert "keyring.backends.SecretService.Keyring" in store.backend_description()


def test_store_read_replace_delete() -> None:
    store = CredentialStore()

    result = store.set_key("anthropic", ANTHROPIC_KEY)
    assert result.persisted and result.notice is None
    assert _items("anthropic") == [ANTHROPIC_KEY.encode()]
    resolved = store.get_key("anthropic")
    assert resolved is not None
    assert (resolved.value, resolved.source) == (ANTHROPIC_KEY, KeySource.KEYRING)

    store.set_key("anthropic", ANTHROPIC_KEY_2)
    assert _items("anthropic") == [ANTHROPIC_KEY_2.encode()]  # replaced, not added
    resolved = store.get_key("anthropic")
    assert resolved is not None and resolved.value == ANTHROPIC_KEY_2

    store.set_key("openai", OPENAI_KEY)
    assert _items("openai") == [OPENAI_KEY.encode()]
    assert [s.source for s in store.status()] == [KeySource.KEYRING, KeySource.KEYRING, None]

    assert store.delete_key("anthropic") is True
    assert _items("anthropic") == []
    assert store.get_key("anthropic") is None
    assert store.delete_key("anthropic") is False
    assert _items("openai") == [OPENAI_KEY.encode()]


def test_a_new_process_reads_the_key_back() -> None:
    CredentialStore().set_key("openai", OPENAI_KEY)
    program = (
        "import sys\n"
        "from ato_desktop.engine.credentials import CredentialStore\n"
        "resolved = CredentialStore().key_for_runtime('codex')\n"
        "print(resolved.source, resolved.value == sys.stdin.read())\n"
    )
    env = {k: v for k, v in os.environ.items() if k not in ("OPENAI_API_KEY", "ANTHROPIC_API_KEY")}
    done = subprocess.run(
        [sys.executable, "-c", program],
        input=OPENAI_KEY,
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=True,
    )
    assert done.stdout.split() == ["keyring", "True"]
    assert OPENAI_KEY not in done.stdout + done.stderr


def test_nothing_reaches_disk_in_plaintext(ato_home: Path) -> None:
    CredentialStore().set_key("anthropic", ANTHROPIC_KEY)
    assert _items("anthropic") == [ANTHROPIC_KEY.encode()]
    needle = ANTHROPIC_KEY.encode()
    for root in (Path(os.environ["HOME"]), ato_home):
        for path in root.rglob("*"):
            if path.is_file():
                assert needle not in path.read_bytes(), path


def test_locked_keyring_gives_clear_messages_and_no_crash() -> None:
    store = CredentialStore()
    store.set_key("anthropic", ANTHROPIC_KEY)
    _lock_default_collection()
    try:
        # No window can open (the script unsets DISPLAY), so the unlock prompt is dismissed.
        assert store.get_key("anthropic") is None
        (anthropic, _, _) = store.status()
        assert not anthropic.present
        assert anthropic.problem is not None and "keyring is locked" in anthropic.problem

        result = store.set_key("anthropic", ANTHROPIC_KEY_2)
        assert result.source is KeySource.PROCESS
        assert result.notice is not None and "keyring is locked" in result.notice

        with pytest.raises(KeyringUnavailableError, match="keyring is locked"):
            store.delete_key("anthropic")
        for text in (anthropic.problem, result.notice):
            assert ANTHROPIC_KEY not in text and ANTHROPIC_KEY_2 not in text
    finally:
        _unlock_default_collection()
    # Unlocked again, the saved key is still there.
    resolved = store.get_key("anthropic")
    assert resolved is not None
    assert (resolved.value, resolved.source) == (ANTHROPIC_KEY, KeySource.KEYRING)
