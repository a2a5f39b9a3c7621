"""What every console view works with: the store, the settings, the actions, the overview."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from core.config import Settings
from core.storage import Store
from core.updates import load_schema
from ops.access import Access
from ops.console.actions import Actions
from ops.console.filters import Vocabulary
from ops.console.guard import Guard
from ops.console.overview import Overview


@dataclass(frozen=True)
class Console:
    store: Store
    settings: Settings
    actions: Actions
    overview: Overview
    vocabulary: Vocabulary
    guard: Guard


def make_console(store: Store, settings: Settings, access: Access) -> Console:
    return Console(
        store=store,
        settings=settings,
        actions=Actions(store),
        overview=Overview(store, settings),
        vocabulary=Vocabulary(bots=tuple(settings.bots), types=load_schema().update_types),
        guard=Guard(access),
    )


def chat_hash(chat_key: str) -> str:
    """A chat as the console shows it: stable enough to follow, not the chat id itself."""
    return hashlib.sha256(chat_key.encode()).hexdigest()[:12]
