"""docs/architecture.md cites only what exists: every `path:name` resolves in the source (by
`ast`, dotted names as Class.method) and every cited file or folder is in the tree."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DOC = (ROOT / "docs" / "architecture.md").read_text(encoding="utf-8")
CITED_NAME = re.compile(r"`([\w./-]+\.py):([A-Za-z_][\w.]*)")
CITED_PATH = re.compile(r"`([\w.-]+(?:/[\w.-]+)*(?:\.py|/))`")
PATH_STEPS = re.compile(r"^\d+\. ", re.M)


def defined(scope: list[ast.stmt], name: str) -> list[ast.stmt] | None:
    """The body of `name` in `scope` (empty for a plain assignment), or None when absent."""
    for node in scope:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            if node.name == name:
                return node.body
        elif isinstance(node, ast.Assign | ast.AnnAssign):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            if any(getattr(t, "id", None) == name for t in targets):
                return []
    return None


def resolves(source: str, dotted: str) -> bool:
    scope: list[ast.stmt] | None = ast.parse(source).body
    for name in dotted.split("."):
        scope = defined(scope, name) if scope is not None else None
    return scope is not None


@pytest.mark.parametrize(
    ("source", "dotted", "expected"),
    [
        ("class A:\n    def run(self): pass\n", "A.run", True),
        ("class A:\n    async def run(self): pass\n", "A.run", True),
        ("X: int = 1\ndef f(): pass\n", "X", True),
        ("class A:\n    def run(self): pass\n", "A.stop", False),
        ("def run(): pass\n", "A.run", False),
        ("def f():\n    def inner(): pass\n", "inner", False),
    ],
)
def test_names_resolve_only_where_defined(source, dotted, expected):
    assert resolves(source, dotted) is expected


def test_every_cited_name_exists():
    cited = CITED_NAME.findall(DOC)
    assert len(cited) >= 15
    missing = [
        f"{path}:{name}"
        for path, name in cited
        if not (ROOT / path).is_file() or not resolves((ROOT / path).read_text(), name)
    ]
    assert missing == []


def test_every_cited_file_and_folder_exists():
    cited = set(CITED_PATH.findall(DOC))
    assert {"core/storage/", "gunicorn.conf.py", "monitor/notifiers/"} <= cited
    assert sorted(p for p in cited if not (ROOT / p).exists()) == []


def test_the_update_path_is_numbered_steps_naming_functions():
    path = DOC.split("## The path of an update", 1)[1]
    steps = PATH_STEPS.split(path)[1:]
    assert len(steps) >= 8
    assert [n for n, step in enumerate(steps, 1) if not CITED_NAME.search(step)] == []
