"""`ato-desktop mcp add|list|test|remove` end to end: a real log, the real MCP test server over
stdio and HTTP, secrets read from stdin into the keyring (and refused without a secure one)."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import keyring
import pytest
from keyring.backends import fail

from ato_desktop import cli
from tests.fakes.mcp_server import spawn_http_server, stdio_command

REPO = Path(__file__).resolve().parents[1]
TOKEN = "cli-mcp-token-0123456789abcdef"
ADD_WEB = ("mcp", "add", "web", "--url", "http://127.0.0.1:9/mcp")


@pytest.fixture(scope="module")
def http_url() -> Iterator[str]:
    with spawn_http_server(token=TOKEN) as (_, url):
        yield url


@pytest.fixture(autouse=True)
def _loopback_without_proxy(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")


def mcp(monkeypatch: pytest.MonkeyPatch, *args: str, stdin: str = "") -> tuple[int, str]:
    monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))
    out = io.StringIO()
    code = cli.main(["mcp", *args], stdout=out)
    return code, out.getvalue()


def test_add_list_test_remove_a_stdio_server(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    command, args, _ = stdio_command()
    notes = tmp_path / "notes.txt"
    code, out = mcp(
        monkeypatch,
        "add",
        "tools",
        "--command",
        command,
        "--env",
        f"ATO_MCP_NOTES_FILE={notes}",
        "--timeout",
        "20s",
        *(f"--arg={a}" for a in args),
    )
    assert code == 0, capsys.readouterr().err
    assert out.startswith(f"added MCP server tools (stdio: {command} {args[0]} --stdio)")

    code, out = mcp(monkeypatch, "list")
    assert code == 0
    assert out.splitlines()[0].split() == ["NAME", "TRANSPORT", "TARGET", "SECRETS", "TIMEOUT"]
    assert out.splitlines()[1].startswith("tools") and "20s" in out

    code, out = mcp(monkeypatch, "list", "--json")
    (server,) = json.loads(out)
    assert server["name"] == "tools" and server["transport"] == "stdio"
    assert server["args"] == list(args) and server["env"] == {"ATO_MCP_NOTES_FILE": str(notes)}
    assert server["timeout_s"] == 20.0 and server["secrets"] == []

    code, out = mcp(monkeypatch, "test", "tools", "--json")
    assert code == 0, capsys.readouterr().err
    report = json.loads(out)
    assert report["ok"] and report["server_info"]["name"] == "ato-test-tools"
    flags = {t["name"]: t["read_only"] for t in report["tools"]}
    assert flags["add"] is True and flags["write_note"] is False and flags["fail"] is None

    code, out = mcp(monkeypatch, "remove", "TOOLS")
    assert (code, out) == (0, "removed MCP server tools\n")
    code, out = mcp(monkeypatch, "list")
    assert out.startswith("No MCP servers yet")


def test_an_http_server_with_a_bearer_token_from_stdin(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    http_url: str,
    ato_home: Path,
    memory_keyring: Any,
) -> None:
    code, out = mcp(
        monkeypatch,
        "add",
        "web",
        "--url",
        http_url,
        "--secret-header",
        "Authorization",
        stdin=f"Bearer {TOKEN}\n",
    )
    assert code == 0, capsys.readouterr().err
    assert "1 secret(s) in the OS keyring" in out
    entry = ("ato-desktop", "mcp:web:header:authorization")
    assert memory_keyring.store[entry] == f"Bearer {TOKEN}"

    code, out = mcp(monkeypatch, "test", "web")
    assert code == 0, capsys.readouterr().err
    assert out.startswith("web: connected to ato-test-tools 1.0.0 in ")
    assert "6 tool(s)" in out
    rows = {line.split()[0]: line.split()[1] for line in out.splitlines()[2:]}
    assert rows["add"] == "yes" and rows["write_note"] == "no" and rows["slow"] == "not"

    code, out = mcp(monkeypatch, "list", "--json")
    (server,) = json.loads(out)
    assert server["secrets"] == [{"kind": "header", "name": "Authorization", "present": True}]
    assert TOKEN not in out

    # Nothing secret in the data directory: the database, its WAL, anything else.
    for path in ato_home.rglob("*"):
        if path.is_file():
            assert TOKEN.encode() not in path.read_bytes(), path

    code, out = mcp(monkeypatch, "remove", "web")
    assert (code, out) == (0, "removed MCP server web and 1 secret(s) from the keyring\n")
    assert entry not in memory_keyring.store


def test_a_wrong_token_fails_the_test_with_a_clear_401(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], http_url: str
) -> None:
    wrong = "Bearer wrong-token-fedcba9876543210"
    args = ("add", "web", "--url", http_url, "--secret-header", "Authorization")
    assert mcp(monkeypatch, *args, stdin=wrong + "\n")[0] == 0
    capsys.readouterr()
    code, out = mcp(monkeypatch, "test", "web", "--json")
    err = capsys.readouterr().err
    assert code == 1
    assert "HTTP 401 Unauthorized" in err and "refused the credentials" in err
    assert json.loads(out)["ok"] is False
    assert "wrong-token" not in err + out


def test_a_server_that_cannot_start_fails_the_test(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    assert mcp(monkeypatch, "add", "broken", "--command", "no-such-mcp-server")[0] == 0
    capsys.readouterr()
    code, _ = mcp(monkeypatch, "test", "broken")
    assert code == 1
    assert capsys.readouterr().err == (
        "error: MCP server 'broken': the command 'no-such-mcp-server' was not found on PATH "
        "(is it installed? give its full path with --command)\n"
    )


@pytest.mark.parametrize(
    ("args", "stdin", "message"),
    [
        (("add", "x", "--url", "ftp://host/mcp"), "", "must be http(s)://"),
        (("add", "a/b", "--command", "c"), "", "may only use letters"),
        (("add", "x", "--command", "c", "--secret-header", "Authorization"), "", "with --url"),
        (("add", "x", "--url", "http://h/mcp", "--arg=-v"), "", "with --command"),
        (("add", "x", "--command", "c", "--env", "NOVALUE"), "", "NAME=value"),
        (("add", "x", "--command", "c", "--timeout", "soon"), "", "cannot read duration"),
        (("add", "x", "--command", "c", "--secret-env", "A", "--secret-env", "B"), "a\n", "got 1"),
        (("test", "ghost"), "", "No MCP server named 'ghost'"),
        (("remove", "ghost"), "", "No MCP server named 'ghost'"),
    ],
)
def test_bad_input_is_exit_2_and_registers_nothing(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    args: tuple[str, ...],
    stdin: str,
    message: str,
) -> None:
    code, _ = mcp(monkeypatch, *args, stdin=stdin)
    assert code == 2
    assert message in capsys.readouterr().err
    assert mcp(monkeypatch, "list", "--json")[1] == "[]\n"


def test_a_name_is_taken_whatever_its_case(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    assert mcp(monkeypatch, "add", "Files", "--command", "npx")[0] == 0
    code, _ = mcp(monkeypatch, "add", "files", "--url", "https://example.com/mcp")
    assert code == 2
    assert "'Files' already exists; remove it first" in capsys.readouterr().err


def test_secrets_are_refused_without_a_secure_keyring(ato_home: Path) -> None:
    env = dict(os.environ)
    env.update(
        ATO_HOME=str(ato_home),
        PYTHON_KEYRING_BACKEND="keyring.backends.fail.Keyring",
        PYTHONPATH=str(REPO),
    )
    done = subprocess.run(
        [sys.executable, "-m", "ato_desktop", *ADD_WEB, "--secret-header", "Authorization"],
        input="Bearer never-stored-0123456789\n",
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        cwd=REPO,
    )
    assert done.returncode == 1
    assert "no secure keyring is available" in done.stderr
    assert "nothing was saved" in done.stderr and "never-stored" not in done.stderr
    assert cli.main(["mcp", "list", "--json"], stdout=(out := io.StringIO())) == 0
    assert out.getvalue() == "[]\n"


def test_a_server_without_secrets_needs_no_keyring(monkeypatch: pytest.MonkeyPatch) -> None:
    keyring.set_keyring(fail.Keyring())  # the memory keyring fixture restores the real one
    code, out = mcp(monkeypatch, "add", "files", "--command", "npx", "--arg=-y", "--arg=files")
    assert code == 0 and "(stdio: npx -y files)" in out
    assert mcp(monkeypatch, "remove", "files") == (0, "removed MCP server files\n")


def test_a_keyring_that_refuses_the_write_leaves_nothing_behind(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], memory_keyring: Any
) -> None:
    from keyring.errors import KeyringLocked

    def locked(service: str, username: str, password: str) -> None:
        raise KeyringLocked("locked")

    monkeypatch.setattr(memory_keyring, "set_password", locked)
    code, _ = mcp(monkeypatch, *ADD_WEB[1:], "--secret-header", "Authorization", stdin="Bearer t\n")
    assert code == 1
    assert "the keyring is locked" in capsys.readouterr().err
    assert mcp(monkeypatch, "list", "--json")[1] == "[]\n"
