"""Readable terminal output: colour only on a TTY (and never with NO_COLOR set)."""

from __future__ import annotations

import json
import os
import sys
from typing import Any, TextIO

COLOURS = {"red": "31", "green": "32", "yellow": "33", "blue": "34", "dim": "2", "bold": "1"}
STATUS_COLOURS = {
    "pass": "green",
    "ok": "green",
    "sent": "green",
    "resolved": "green",
    "fail": "red",
    "firing": "red",
    "failed": "red",
    "critical": "red",
    "warn": "yellow",
    "warning": "yellow",
    "skip": "dim",
    "pending": "yellow",
    "sending": "yellow",
    "repeat": "yellow",
}


class Console:
    def __init__(self, stream: TextIO | None = None, colour: bool | None = None) -> None:
        self.stream = stream or sys.stdout
        if colour is None:
            colour = self.stream.isatty() and not os.environ.get("NO_COLOR")
        self.colour = colour

    def paint(self, text: str, colour: str) -> str:
        code = COLOURS.get(colour)
        return f"\033[{code}m{text}\033[0m" if self.colour and code else text

    def status(self, word: str, width: int = 0) -> str:
        return self.paint(word.upper().ljust(width), STATUS_COLOURS.get(word, "bold"))

    def line(self, text: str = "") -> None:
        print(text, file=self.stream)

    def field(self, name: str, value: Any, width: int = 18) -> None:
        self.line(f"  {self.paint(name.ljust(width), 'dim')} {value}")

    def json(self, value: Any) -> None:
        print(json.dumps(value, indent=2, default=str), file=self.stream)
