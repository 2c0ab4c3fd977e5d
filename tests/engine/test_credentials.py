"""CredentialStore against the in-memory keyring and hand-written insecure and broken backends."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path

import keyring
import pytest
from keyring.backend import KeyringBackend
from keyring.backends import chainer, fail
from keyring.errors import InitError, KeyringLocked, PasswordDeleteError

from ato_desktop.core.models import RuntimeName
from ato_desktop.engine import credentials
from ato_desktop.engine.credentials import (
    PROVIDERS,
    SERVICE_NAME,
    CredentialStore,
    InvalidKeyError,
    KeyringUnavailableError,
    KeySource,
    ResolvedKey,
    UnknownProviderError,
    key_for_runtime,
    known_secrets,
)
from tests.support.memory_keyring import MemoryKeyring

ANTHROPIC_KEY = (
    "sk-ant-api03-" + "Ab3dEf6hIj9kLm2nOp5qRs8tUv1wXy4zAB7CDE0FGH3IJK6LMN9OPQ2RST5UVW8XYZ1ab-c_dQ"
)
ANTHROPIC_KEY_2 = (
    "sk-ant-api03-" + "Zz9yXx8wWv7uUt6sSr5qQp4oOn3mMl2kKj1iIh0gGf9eEd8cCb7aA6-_Bb5cC4dD3eE2fF1gGQ"
)
OPENAI_KEY = (
    "sk-proj-" + "Zy9xWv8uTs7rQp6oNm5lKj4iHg3fEd2cBa1ZYXWVUTSRQPONMLKJIHGFEDCBA0123456789_-zz"
)
ENV_KEY = (
    "sk-ant-api03-" + "EnvEnvEnv0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ_-00"
)


def leaks(text: str, secret: str, length: int = 10) -> bool:
    """True if any `length`-character piece of secret appears in text."""
    return any(secret[i : i + length] in text for i in range(len(secret) - length + 1))


def files_containing(root: Path, secret: str) -> list[Path]:
    needle = secret.encode()
    return [p for p in root.rglob("*") if p.is_file() and needle in p.read_bytes()]


@pytest.fixture(autouse=True)
def fresh_process_keys(monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, str]]:
    """Process-only keys must not leak from one test into another."""
    process_keys: dict[str, str] = {}
    monkeypatch.setattr(credentials, "_PROCESS_KEYS", process_keys)
    yield process_keys


@pytest.fixture
def home(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A HOME of the test's own, so 'nothing written anywhere' can be checked."""
    path = tmp_path_factory.mktemp("home")
    monkeypatch.setenv("HOME", str(path))
    for var in ("XDG_DATA_HOME", "XDG_CONFIG_HOME", "XDG_CACHE_HOME"):
        monkeypatch.delenv(var, raising=False)
    return path


def unregistered(cls: type[KeyringBackend]) -> type[KeyringBackend]:
    """Keep a test backend out of keyring's registry, so that keyring's automatic choice of
    backend (in this process, e.g. the keyring_real tests) never falls on it."""
    KeyringBackend._classes.discard(cls)  # type: ignore[attr-defined]
    return cls


@unregistered
class PlaintextFileKeyring(KeyringBackend):
    """Like keyrings.alt's PlaintextKeyring: writes passwords to a file in clear text."""

    priority = 0.5
    directory: Path = Path(os.devnull)

    def _file(self) -> Path:
        return self.directory / "keyring_pass.cfg"

    def _load(self) -> dict[str, str]:
        path = self._file()
        return dict(json.loads(path.read_text())) if path.exists() else {}

    def get_password(self, service: str, username: str) -> str | None:
        return self._load().get(f"{service}/{username}")

    def set_password(self, service: str, username: str, password: str) -> None:
        data = self._load()
        data[f"{service}/{username}"] = password
        self._file().write_text(json.dumps(data))

    def delete_password(self, service: str, username: str) -> None:
        data = self._load()
        if data.pop(f"{service}/{username}", None) is None:
            raise PasswordDeleteError("not found")
        self._file().write_text(json.dumps(data))


@unregistered
class PlaintextKeyring(PlaintextFileKeyring):
    """Same name as keyrings.alt's, with its priority raised as KEYRING_PROPERTY_PRIORITY could."""

    priority = 5


@unregistered
class BrokenKeyring(KeyringBackend):
    """A secure-looking backend whose every call fails with the given exception."""

    priority = 5

    def __init__(self, error: Exception) -> None:
        super().__init__()
        self.error = error

    def get_password(self, service: str, username: str) -> str | None:
        raise self.error

    def set_password(self, service: str, username: str, password: str) -> None:
        raise self.error

    def delete_password(self, service: str, username: str) -> None:
        raise self.error


def chain_of(*members: KeyringBackend) -> chainer.ChainerBackend:
    """A ChainerBackend over exactly these members (highest priority first, as keyring sorts)."""
    chain_class = unregistered(
        type("TestChain", (chainer.ChainerBackend,), {"backends": list(members)})
    )
    backend = chain_class()
    assert isinstance(backend, chainer.ChainerBackend)
    return backend


# -- the normal case: a secure keyring ----------------------------------------------------------


def test_set_get_replace_delete(memory_keyring: MemoryKeyring) -> None:
    store = CredentialStore()
    assert store.backend_is_secure()
    assert store.get_key("anthropic") is None

    result = store.set_key("anthropic", ANTHROPIC_KEY)
    assert result.persisted and result.source is KeySource.KEYRING and result.notice is None
    assert memory_keyring.store == {(SERVICE_NAME, "anthropic"): ANTHROPIC_KEY}
    resolved = store.get_key("anthropic")
    assert resolved is not None
    assert (resolved.value, resolved.source) == (ANTHROPIC_KEY, KeySource.KEYRING)

    store.set_key("anthropic", ANTHROPIC_KEY_2)
    assert memory_keyring.store == {(SERVICE_NAME, "anthropic"): ANTHROPIC_KEY_2}
    assert CredentialStore().get_key("anthropic") == ResolvedKey(
        "anthropic", ANTHROPIC_KEY_2, KeySource.KEYRING
    )

    assert store.delete_key("anthropic") is True
    assert memory_keyring.store == {}
    assert store.get_key("anthropic") is None
    assert store.delete_key("anthropic") is False


def test_providers_are_kept_apart(memory_keyring: MemoryKeyring) -> None:
    store = CredentialStore()
    store.set_key("anthropic", ANTHROPIC_KEY)
    store.set_key("openai", OPENAI_KEY)
    assert memory_keyring.store == {
        (SERVICE_NAME, "anthropic"): ANTHROPIC_KEY,
        (SERVICE_NAME, "openai"): OPENAI_KEY,
    }
    store.delete_key("openai")
    assert store.get_key("openai") is None
    assert store.get_key("anthropic") is not None


def test_surrounding_whitespace_and_newlines_are_stripped(memory_keyring: MemoryKeyring) -> None:
    CredentialStore().set_key("openai", f"  \t{OPENAI_KEY}\r\n")
    assert memory_keyring.store[(SERVICE_NAME, "openai")] == OPENAI_KEY


def test_keyring_wins_over_environment_which_is_the_fallback(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("ANTHROPIC_API_KEY", f"{ENV_KEY}\n")
    store = CredentialStore()
    resolved = store.get_key("anthropic")
    assert resolved is not None and (resolved.value, resolved.source) == (ENV_KEY, KeySource.ENV)

    store.set_key("anthropic", ANTHROPIC_KEY)
    resolved = store.get_key("anthropic")
    assert resolved is not None
    assert (resolved.value, resolved.source) == (ANTHROPIC_KEY, KeySource.KEYRING)

    assert store.delete_key("anthropic") is True
    resolved = store.get_key("anthropic")
    assert resolved is not None and resolved.source is KeySource.ENV
    assert store.get_key("openai") is None


def test_environment_can_be_injected() -> None:
    store = CredentialStore(environ={"OPENAI_API_KEY": OPENAI_KEY})
    resolved = store.get_key("openai")
    assert resolved is not None and resolved.source is KeySource.ENV


def test_empty_or_unusable_environment_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "   ")
    monkeypatch.setenv("ANTHROPIC_API_KEY", f"{ENV_KEY}\nsecond line")
    store = CredentialStore()
    assert store.get_key("openai") is None
    assert store.get_key("anthropic") is None
    anthropic, openai, _compatible = store.status()
    assert openai.problem is None and not openai.present
    assert anthropic.problem is not None and "$ANTHROPIC_API_KEY" in anthropic.problem
    assert "several lines" in anthropic.problem
    assert not leaks(anthropic.problem, ENV_KEY)


def test_status_shows_source_and_hint_never_the_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", OPENAI_KEY)
    store = CredentialStore()
    store.set_key("anthropic", ANTHROPIC_KEY)
    statuses = store.status()

    assert [s.provider for s in statuses] == list(PROVIDERS)
    anthropic, openai, compatible = statuses
    assert not compatible.present  # the OpenAI key in the environment is not borrowed
    assert (anthropic.present, anthropic.source, anthropic.hint) == (
        True,
        KeySource.KEYRING,
        "…" + ANTHROPIC_KEY[-4:],
    )
    assert (openai.present, openai.source, openai.env_var) == (
        True,
        KeySource.ENV,
        "OPENAI_API_KEY",
    )
    for shown in (repr(statuses), str(statuses), json.dumps([s.as_dict() for s in statuses])):
        assert not leaks(shown, ANTHROPIC_KEY)
        assert not leaks(shown, OPENAI_KEY)


def test_status_when_nothing_is_set() -> None:
    for status in CredentialStore().status():
        assert (status.present, status.source, status.hint, status.problem) == (
            False,
            None,
            None,
            None,
        )


def test_short_keys_get_no_hint() -> None:
    store = CredentialStore()
    store.set_key("openai", "local-key-1")  # e.g. for a local openai-compatible server
    (_, openai, _compatible) = store.status()
    assert openai.present and openai.hint is None


def test_resolved_key_repr_hides_the_value() -> None:
    store = CredentialStore()
    store.set_key("anthropic", ANTHROPIC_KEY)
    resolved = store.get_key("anthropic")
    assert resolved is not None
    assert ANTHROPIC_KEY not in repr(resolved) and ANTHROPIC_KEY not in str(resolved)


def test_key_for_runtime_maps_runtimes_to_providers() -> None:
    store = CredentialStore()
    store.set_key("anthropic", ANTHROPIC_KEY)
    store.set_key("openai", OPENAI_KEY)

    def value(runtime: str) -> str | None:
        resolved = store.key_for_runtime(runtime)
        return resolved.value if resolved else None

    assert value("claude") == ANTHROPIC_KEY
    assert value(RuntimeName.CLAUDE) == ANTHROPIC_KEY
    assert value("codex") == OPENAI_KEY
    # An OpenAI key never travels to an arbitrary OpenAI-compatible server: it has its own key.
    assert value("openai-compatible") is None
    store.set_key("openai-compatible", "local-server-key-123")
    assert value("openai-compatible") == "local-server-key-123"
    # The coding-agent CLIs get the same provider's key (when ATO has one).
    assert value("claude-code") == ANTHROPIC_KEY
    assert value(RuntimeName.CODEX_CLI) == OPENAI_KEY
    assert set(credentials.RUNTIME_PROVIDERS) == {r.value for r in RuntimeName}
    module_level = key_for_runtime("codex")
    assert module_level is not None and module_level.value == OPENAI_KEY
    with pytest.raises(UnknownProviderError, match="Unknown runtime 'gemini'"):
        store.key_for_runtime("gemini")


@pytest.mark.parametrize("call", ["get_key", "set_key", "delete_key"])
def test_unknown_provider_is_rejected(call: str) -> None:
    store = CredentialStore()
    args: tuple[str, ...] = ("mistral", ANTHROPIC_KEY) if call == "set_key" else ("mistral",)
    with pytest.raises(UnknownProviderError, match="anthropic, openai") as excinfo:
        getattr(store, call)(*args)
    assert isinstance(excinfo.value, ValueError)
    assert not leaks(str(excinfo.value), ANTHROPIC_KEY)


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        ("", "is empty"),
        (" \n\t ", "is empty"),
        (f"{ANTHROPIC_KEY}\n{ANTHROPIC_KEY_2}", "several lines"),
        (f"{ANTHROPIC_KEY}\r{ANTHROPIC_KEY_2}", "several lines"),
        (f"ANTHROPIC_API_KEY={ANTHROPIC_KEY}\nOPENAI_API_KEY={OPENAI_KEY}", "several lines"),
        (f"export ANTHROPIC_API_KEY={ANTHROPIC_KEY}", "spaces or tabs"),
        (f"Bearer {ANTHROPIC_KEY}", "spaces or tabs"),
        (f"{ANTHROPIC_KEY[:40]}\t{ANTHROPIC_KEY[40:]}", "spaces or tabs"),
        (f"{ANTHROPIC_KEY[:40]}\x00{ANTHROPIC_KEY[40:]}", "control characters"),
        (f"\x1b[200~{ANTHROPIC_KEY}\x1b[201~", "control characters"),  # bracketed paste
        (f"“{ANTHROPIC_KEY}”", "non-ASCII"),
        (f"{ANTHROPIC_KEY[:40]}é{ANTHROPIC_KEY[40:]}", "non-ASCII"),
        (f'"{ANTHROPIC_KEY}"', "quotes"),
        (f"'{ANTHROPIC_KEY}'", "quotes"),
        (f"ANTHROPIC_API_KEY={ANTHROPIC_KEY}", "NAME=value"),
        (ANTHROPIC_KEY * 20, "characters long"),
    ],
)
def test_bad_input_is_rejected_without_echoing_it(
    raw: str, reason: str, memory_keyring: MemoryKeyring
) -> None:
    with pytest.raises(InvalidKeyError) as excinfo:
        CredentialStore().set_key("anthropic", raw)
    error = excinfo.value
    assert reason in str(error)
    assert str(error).startswith("The anthropic key ")
    assert isinstance(error, ValueError)
    shown = f"{error} {error!r} {error.args!r}"
    for secret in (ANTHROPIC_KEY, ANTHROPIC_KEY_2, OPENAI_KEY):
        assert not leaks(shown, secret)
    assert error.__cause__ is None and error.__context__ is None
    assert memory_keyring.store == {}


def test_non_string_input_is_rejected() -> None:
    with pytest.raises(InvalidKeyError, match="must be text"):
        CredentialStore().set_key("openai", b"sk-bytes-key-0123456789")  # type: ignore[arg-type]


def test_keys_become_known_secrets_for_redaction(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", OPENAI_KEY)
    CredentialStore().set_key("anthropic", ANTHROPIC_KEY)
    assert {ANTHROPIC_KEY, OPENAI_KEY} <= set(known_secrets())


# -- no secure keyring: process memory only, nothing written anywhere ---------------------------


@pytest.mark.parametrize(
    "make_backend",
    [
        pytest.param(lambda: PlaintextFileKeyring(), id="plaintext-priority-0.5"),
        pytest.param(lambda: PlaintextKeyring(), id="plaintext-by-name"),
        pytest.param(lambda: fail.Keyring(), id="fail"),
        pytest.param(lambda: chain_of(PlaintextFileKeyring()), id="chain-of-plaintext"),
        pytest.param(lambda: chain_of(), id="empty-chain"),
    ],
)
def test_insecure_backend_keeps_keys_in_process_only(
    make_backend: object,
    ato_home: Path,
    home: Path,
    fresh_process_keys: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(PlaintextFileKeyring, "directory", home)
    backend = make_backend()  # type: ignore[operator]
    keyring.set_keyring(backend)
    store = CredentialStore()

    assert not store.backend_is_secure()
    assert "(not secure: " in store.backend_description()
    result = store.set_key("anthropic", ANTHROPIC_KEY)
    assert not result.persisted and result.source is KeySource.PROCESS
    assert result.notice is not None
    assert "No secure keyring is available" in result.notice
    assert "kept for this process only" in result.notice
    assert not leaks(result.notice, ANTHROPIC_KEY)

    # Usable for the rest of the process, from any store...
    resolved = CredentialStore().get_key("anthropic")
    assert resolved is not None
    assert (resolved.value, resolved.source) == (ANTHROPIC_KEY, KeySource.PROCESS)
    (anthropic, _, _) = store.status()
    assert anthropic.source is KeySource.PROCESS
    # ...and nowhere else.
    assert fresh_process_keys == {"anthropic": ANTHROPIC_KEY}
    assert not (home / "keyring_pass.cfg").exists()
    assert files_containing(ato_home, ANTHROPIC_KEY) == []
    assert files_containing(home, ANTHROPIC_KEY) == []

    assert store.delete_key("anthropic") is True
    assert store.get_key("anthropic") is None


def test_process_key_wins_over_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ANTHROPIC_API_KEY", ENV_KEY)
    keyring.set_keyring(fail.Keyring())
    store = CredentialStore()
    store.set_key("anthropic", ANTHROPIC_KEY)
    resolved = store.get_key("anthropic")
    assert resolved is not None and resolved.source is KeySource.PROCESS
    store.delete_key("anthropic")
    resolved = store.get_key("anthropic")
    assert resolved is not None and resolved.source is KeySource.ENV


def test_chain_with_a_secure_member_writes_only_to_it(
    home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(PlaintextFileKeyring, "directory", home)
    secure = MemoryKeyring()
    plaintext = PlaintextFileKeyring()
    # Even with the plaintext member first, the key goes to the secure one.
    keyring.set_keyring(chain_of(plaintext, secure))
    store = CredentialStore()
    assert store.backend_is_secure()
    assert "MemoryKeyring" in store.backend_description()
    assert store.set_key("openai", OPENAI_KEY).persisted
    assert secure.store == {(SERVICE_NAME, "openai"): OPENAI_KEY}
    assert not (home / "keyring_pass.cfg").exists()
    resolved = store.get_key("openai")
    assert resolved is not None and resolved.source is KeySource.KEYRING


def test_explicit_backend_overrides_the_global_one() -> None:
    mine = MemoryKeyring()
    keyring.set_keyring(fail.Keyring())
    store = CredentialStore(mine)
    assert store.backend() is mine and store.backend_is_secure()
    store.set_key("openai", OPENAI_KEY)
    assert mine.store == {(SERVICE_NAME, "openai"): OPENAI_KEY}


# -- keyring errors: clear messages, no crash, no key in the text ------------------------------


@pytest.mark.parametrize(
    ("error", "phrase"),
    [
        (KeyringLocked("Failed to unlock the collection!"), "keyring is locked"),
        (InitError("Failed to create the collection: no D-Bus."), "D-Bus"),
        (RuntimeError(f"backend exploded while storing {ANTHROPIC_KEY}"), "RuntimeError"),
    ],
)
def test_keyring_errors_do_not_crash_and_do_not_leak(
    error: Exception, phrase: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    keyring.set_keyring(BrokenKeyring(error))
    store = CredentialStore()

    assert store.get_key("anthropic") is None
    (anthropic, _, _) = store.status()
    assert not anthropic.present
    assert anthropic.problem is not None and phrase in anthropic.problem

    result = store.set_key("anthropic", ANTHROPIC_KEY)
    assert result.source is KeySource.PROCESS and result.notice is not None
    assert "could not be saved to the keyring" in result.notice and phrase in result.notice
    resolved = store.get_key("anthropic")
    assert resolved is not None and resolved.source is KeySource.PROCESS

    with pytest.raises(KeyringUnavailableError, match="could not be removed") as excinfo:
        store.delete_key("anthropic")
    assert phrase in str(excinfo.value)
    assert excinfo.value.__cause__ is None
    assert store.get_key("anthropic") is None  # the process copy is gone all the same

    for text in (anthropic.problem, result.notice, str(excinfo.value)):
        assert not leaks(text, ANTHROPIC_KEY)


def test_broken_keyring_still_falls_back_to_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", OPENAI_KEY)
    keyring.set_keyring(BrokenKeyring(KeyringLocked("locked")))
    store = CredentialStore()
    resolved = store.get_key("openai")
    assert resolved is not None and resolved.source is KeySource.ENV
    (_, openai, _compatible) = store.status()
    assert openai.present and openai.problem is not None and "locked" in openai.problem


def test_keyring_failing_to_choose_a_backend(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken() -> KeyringBackend:
        raise RuntimeError("no backend")

    monkeypatch.setattr(keyring, "get_keyring", broken)
    store = CredentialStore()
    assert not store.backend_is_secure()
    assert store.set_key("openai", OPENAI_KEY).source is KeySource.PROCESS
