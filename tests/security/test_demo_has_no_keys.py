"""The demo workspace (what `make screenshots` and `ato-desktop demo` show) holds nothing that
looks like a credential, so no screenshot can show a real-looking key."""

from __future__ import annotations

import ast
import sqlite3
from pathlib import Path

from ato_desktop.core.redaction import _BEARER, _KEY_SHAPES
from ato_desktop.engine.demo import build_demo_workspace
from ato_desktop.engine.workspace import Workspace
from ato_desktop.store.paths import DataPaths

REPO = Path(__file__).resolve().parents[2]
# The one key-shaped string of the screenshot script: it goes into the throwaway keyring of
# scripts/with-secret-service.sh so Settings shows "Saved in the keyring" (never a value).
SCREENSHOT_PLACEHOLDER = "sk-ant-screenshot-placeholder-000000000000"


def looks_like_a_key(text: str) -> bool:
    """A provider key, a Google or GitHub token, a JWT or a long Bearer token (the shapes the
    redaction knows; its `api_key: value` rule is left out: it also fires on OpenAI's own
    "invalid_api_key: Incorrect API key provided", which the demo quotes)."""
    return bool(_KEY_SHAPES.search(text) or _BEARER.search(text))


def _texts(database: Path) -> list[tuple[str, str]]:
    connection = sqlite3.connect(database)
    try:
        tables = [
            row[0]
            for row in connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
        ]
        found = []
        for table in tables:
            columns = [row[1] for row in connection.execute(f'PRAGMA table_info("{table}")')]
            for row in connection.execute(f'SELECT * FROM "{table}"'):
                found += [
                    (f"{table}.{column}", value)
                    for column, value in zip(columns, row, strict=True)
                    if isinstance(value, str)
                ]
        return found
    finally:
        connection.close()


def test_the_demo_log_has_no_key_shaped_text(ato_home: Path) -> None:
    workspace = Workspace.open(DataPaths(ato_home))
    try:
        # The screenshots' generator and seed, fewer runs: every template still appears.
        summary = build_demo_workspace(workspace.store, workspace.prices, runs=300, seed=7)
    finally:
        workspace.close()
    assert summary.runs == 300
    texts = _texts(ato_home / "ato.sqlite3")
    assert len(texts) > 1000
    shaped = [(where, text) for where, text in texts if looks_like_a_key(text)]
    assert not shaped, shaped[:5]


def test_the_screenshot_script_plants_only_a_placeholder_in_the_keyring() -> None:
    source = (REPO / "scripts" / "screenshots.py").read_text(encoding="utf-8")
    literals = [
        node.value
        for node in ast.walk(ast.parse(source))
        if isinstance(node, ast.Constant) and isinstance(node.value, str)
    ]
    assert looks_like_a_key(SCREENSHOT_PLACEHOLDER)  # the check does see key shapes
    shaped = {text for text in literals if looks_like_a_key(text)}
    assert shaped <= {SCREENSHOT_PLACEHOLDER}
    # ...and only through the keyring API, which the Settings page shows as a state, never a value.
    if shaped:
        assert f'set_key("anthropic", "{SCREENSHOT_PLACEHOLDER}")' in source
