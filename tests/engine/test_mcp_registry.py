"""Registering and removing MCP servers below both front ends (issue 19.2): the keyring and the
log are kept together whoever calls."""

from __future__ import annotations

from dataclasses import replace

import keyring
import pytest
from keyring.backends import fail

from ato_desktop.core.mcp_config import McpServerConfig
from ato_desktop.engine import mcp_registry
from ato_desktop.engine.credentials import InvalidKeyError
from ato_desktop.engine.mcp_secrets import McpSecrets, NoSecureKeyringError
from ato_desktop.engine.workspace import Workspace
from ato_desktop.store import mcp_servers
from ato_desktop.store.mcp_servers import McpServerExistsError
from tests.support.memory_keyring import MemoryKeyring

SHOP = McpServerConfig(
    "shop", "stdio", command="shop-mcp", secret_env_names=("SHOP_TOKEN", "SHOP_SIGNING_KEY")
)


def _mcp_entries(backend: MemoryKeyring) -> list[str]:
    """The keyring users of MCP secrets (the provider keys of the `keys` fixture aside)."""
    return sorted(user for _service, user in backend.store if user.startswith("mcp:"))


def test_a_registration_the_keyring_refuses_half_way_leaves_nothing(
    workspace: Workspace, memory_keyring: MemoryKeyring
) -> None:
    secrets = McpSecrets(workspace.credentials)
    values = {"SHOP_TOKEN": "tok-0123456789", "SHOP_SIGNING_KEY": "two\nlines"}
    with pytest.raises(InvalidKeyError, match="SHOP_SIGNING_KEY"):
        mcp_registry.register_server(workspace.store, SHOP, values, secrets)
    # The first secret was saved before the second was refused: it is taken back.
    assert _mcp_entries(memory_keyring) == []
    assert mcp_servers.list_servers(workspace.store) == []


def test_register_list_and_unregister_keep_keyring_and_log_together(
    workspace: Workspace, memory_keyring: MemoryKeyring
) -> None:
    secrets = McpSecrets(workspace.credentials)
    values = {"SHOP_TOKEN": "tok-0123456789", "SHOP_SIGNING_KEY": "sig-9876543210"}
    record = mcp_registry.register_server(workspace.store, SHOP, values, secrets)
    assert record.name == "shop" and len(_mcp_entries(memory_keyring)) == 2
    [info] = mcp_registry.list_servers(workspace.store, secrets)
    assert info.record.id == record.id and info.missing == []
    assert [s.as_dict() for s in info.secrets] == [
        {"kind": "env", "name": "SHOP_TOKEN", "present": True},
        {"kind": "env", "name": "SHOP_SIGNING_KEY", "present": True},
    ]
    with pytest.raises(McpServerExistsError, match="'shop' already exists"):
        mcp_registry.register_server(workspace.store, replace(SHOP, name="SHOP"), values, secrets)
    assert len(_mcp_entries(memory_keyring)) == 2  # the refused duplicate wrote nothing

    removed = mcp_registry.unregister_server(workspace.store, "shop", secrets)
    assert removed is not None and removed.secrets_deleted == 2
    assert _mcp_entries(memory_keyring) == [] and mcp_servers.list_servers(workspace.store) == []
    assert mcp_registry.unregister_server(workspace.store, "shop", secrets) is None


def test_secrets_without_a_secure_keyring_are_refused_before_anything_is_written(
    workspace: Workspace,
) -> None:
    keyring.set_keyring(fail.Keyring())  # the memory keyring fixture restores its own
    secrets = McpSecrets(workspace.credentials)
    with pytest.raises(NoSecureKeyringError, match="nothing was saved"):
        mcp_registry.refuse_unregistrable(workspace.store, SHOP, secrets)
    assert mcp_servers.list_servers(workspace.store) == []
