"""README tables rendered from the declarations (`python -m core.docs` rewrites them in place).

tests/test_docs.py fails when README.md and the declarations disagree.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

from core.metrics import SPECS
from core.settings_table import SETTINGS, Setting

README = Path(__file__).resolve().parent.parent / "README.md"


def shown_default(setting: Setting) -> str:
    if callable(setting.default):
        return "cores"
    if isinstance(setting.default, tuple):
        return ", ".join(setting.default) or "(empty)"
    if setting.default == "":
        return "(empty)"
    return (
        str(setting.default).lower() if isinstance(setting.default, bool) else str(setting.default)
    )


def settings_table() -> str:
    rows = ["| variable | type | default | what |", "|---|---|---|---|"]
    for s in SETTINGS:
        name = f"`TGWEBHOOK_{s.name.upper()}`" + (" (+`_FILE`)" if s.secret else "")
        rows.append(f"| {name} | {s.type} | `{shown_default(s)}` | {s.help} |")
    return "\n".join(rows)


def metrics_table() -> str:
    rows = ["| metric | type | labels | what |", "|---|---|---|---|"]
    for m in SPECS:
        labels = ", ".join(m.labels) or "-"
        rows.append(f"| `{m.name}` | {m.kind} | {labels} | {m.help} |")
    return "\n".join(rows)


TABLES = {"settings": settings_table, "metrics": metrics_table}


def section(text: str, name: str) -> str:
    match = re.search(rf"<!-- {name}:start -->\n(.*?)\n<!-- {name}:end -->", text, re.S)
    return match.group(1) if match else ""


def rewrite(text: str) -> str:
    for name, render in TABLES.items():
        start, end = f"<!-- {name}:start -->", f"<!-- {name}:end -->"
        head, rest = text.split(start, 1)
        tail = rest.split(end, 1)[1]
        text = f"{head}{start}\n{render()}\n{end}{tail}"
    return text


if __name__ == "__main__":
    README.write_text(rewrite(README.read_text()))
    sys.exit(0)
