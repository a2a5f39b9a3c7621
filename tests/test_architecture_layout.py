"""The layout as documented: README's layout line names the tree's top level, and `tests/`
mirrors the product packages (a package per folder, helpers in one place)."""

from __future__ import annotations

import re
from pathlib import Path

from tests.test_architecture import product_files

ROOT = Path(__file__).resolve().parent.parent
TESTS = ROOT / "tests"
README = (ROOT / "README.md").read_text(encoding="utf-8")
CITED_PATH = re.compile(r"`([\w.-]+(?:/[\w.-]+)*(?:\.py|/))`")
# Folders of tests/ that mirror no package: shared helpers, and faults injected across processes.
NOT_MIRRORS = {"helpers", "faults"}
# Modules under tests/ that are neither tests nor conftests, outside tests/helpers/.
LOOSE_MODULES = {"faults/atheris_parse_update.py"}  # the fuzz target atheris runs as a script
# Node projects a test runs (package.json, an npm-installed node_modules/): not Python packages.
NODE_PROJECTS = {Path("helpers/grammy_bot")}


def test_readme_layout_names_the_top_level_of_the_tree():
    layout = README.split("\nLayout", 1)[1].split("\n\n", 1)[0]
    cited = set(CITED_PATH.findall(layout))
    top = {p if "/" not in p else p.split("/")[0] + "/" for p in product_files()}
    assert top | {"tests/"} <= cited
    assert sorted(p for p in cited if not (ROOT / p).exists()) == []
    assert "docs/architecture.md" in layout


def test_every_test_folder_mirrors_a_package_and_is_one():
    folders = [d.relative_to(TESTS) for d in TESTS.rglob("*") if d.is_dir()]
    folders = [d for d in folders if "__pycache__" not in d.parts and not d.name.startswith(".")]
    folders = [d for d in folders if not NODE_PROJECTS & {d, *d.parents}]
    assert [d for d in folders if not (TESTS / d / "__init__.py").is_file()] == []
    mirrors = [d for d in folders if d.parts[0] not in NOT_MIRRORS]
    assert Path("core/storage") in mirrors
    assert [d.as_posix() for d in mirrors if not (ROOT / d).is_dir()] == []


def test_helpers_live_in_tests_helpers():
    modules = {p.relative_to(TESTS).as_posix() for p in TESTS.rglob("*.py")}
    loose = {
        m
        for m in modules
        if not m.startswith("helpers/")
        and not Path(m).name.startswith("test_")
        and Path(m).name not in ("conftest.py", "__init__.py")
    }
    assert loose == LOOSE_MODULES
