"""The dead-letter filter an operator asks for, from query or form fields, checked strictly.

Every value must be one the appliance knows (a configured bot, an update type of the schema,
an error class) or a time; anything else is a 400 with nothing done, so a filter can never
match more than its author meant.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

from core.storage import ERROR_CLASSES, DeadFilter

FIELDS = ("bot", "type", "error_class", "since", "until")


class BadFilter(ValueError):
    """A filter value the appliance does not know; the message names the field only."""


@dataclass(frozen=True)
class Vocabulary:
    """The values a filter may take."""

    bots: Collection[str]
    types: Collection[str]
    classes: Collection[str] = ERROR_CLASSES


def parse_filter(fields: Mapping[str, str], known: Vocabulary) -> DeadFilter:
    values = {name: (fields.get(name) or "").strip() for name in FIELDS}
    for name, allowed in (
        ("bot", known.bots),
        ("type", known.types),
        ("error_class", known.classes),
    ):
        if values[name] and values[name] not in allowed:
            raise BadFilter(f"unknown {name.replace('_', ' ')}")
    return DeadFilter(
        bot=values["bot"] or None,
        type=values["type"] or None,
        error_class=values["error_class"] or None,
        since=parse_time(values["since"], "since"),
        until=parse_time(values["until"], "until"),
    )


def parse_time(text: str, name: str) -> float | None:
    """Unix seconds, or an ISO 8601 time (a browser's datetime-local field), read as UTC."""
    if not text:
        return None
    try:
        seconds = float(text)
    except ValueError:
        seconds = None
    if seconds is not None:
        if not math.isfinite(seconds):
            raise BadFilter(f"{name}: not a time (ISO 8601 or Unix seconds)")
        return seconds
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise BadFilter(f"{name}: not a time (ISO 8601 or Unix seconds)") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.timestamp()


def as_fields(dead: DeadFilter) -> dict[str, str]:
    """The filter as query fields again (links, forms, the audit's target)."""
    values = {
        "bot": dead.bot or "",
        "type": dead.type or "",
        "error_class": dead.error_class or "",
        "since": iso(dead.since),
        "until": iso(dead.until),
    }
    return {name: value for name, value in values.items() if value}


def iso(moment: float | None) -> str:
    if moment is None:
        return ""
    return datetime.fromtimestamp(moment, UTC).strftime("%Y-%m-%dT%H:%M:%S")
