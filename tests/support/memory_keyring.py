"""An in-memory keyring backend for tests that must not touch the user's real keyring."""

from __future__ import annotations

from keyring.backend import KeyringBackend
from keyring.errors import PasswordDeleteError


class MemoryKeyring(KeyringBackend):
    """Stores passwords in a dict; reports itself as a secure backend (priority > 1)."""

    priority = 10  # type: ignore[assignment]

    def __init__(self) -> None:
        super().__init__()
        self.store: dict[tuple[str, str], str] = {}

    def get_password(self, service: str, username: str) -> str | None:
        return self.store.get((service, username))

    def set_password(self, service: str, username: str, password: str) -> None:
        self.store[(service, username)] = password

    def delete_password(self, service: str, username: str) -> None:
        try:
            del self.store[(service, username)]
        except KeyError:
            raise PasswordDeleteError(f"no password for {service}/{username}") from None


# Defining a KeyringBackend subclass registers it for keyring's automatic backend choice; keep it
# out of that, so only the tests that install it explicitly use it.
KeyringBackend._classes.discard(MemoryKeyring)  # type: ignore[attr-defined]
