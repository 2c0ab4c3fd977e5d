"""SQL is written in store/ only (issue 19.2): the engine, the CLI and the UI call store
functions, so a schema change is made in one layer."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[2] / "ato_desktop"
# self_test checks a copy of the log it made itself, as a program outside ATO would.
ALLOWED = {"self_test.py"}
SQL_CALLS = {"execute", "executemany", "executescript"}


def _sql_calls(path: Path) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr in SQL_CALLS
            and node.args
            and isinstance(node.args[0], ast.Constant | ast.JoinedStr | ast.BinOp)
        ):
            found.append(f"{path.relative_to(PACKAGE)}:{node.lineno}")
    return found


def test_no_sql_is_run_outside_the_store() -> None:
    modules = [
        p
        for p in PACKAGE.rglob("*.py")
        if p.relative_to(PACKAGE).parts[0] != "store" and p.name not in ALLOWED
    ]
    assert len(modules) > 100
    assert [call for path in sorted(modules) for call in _sql_calls(path)] == []
