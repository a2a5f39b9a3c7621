"""Forwarder queue verbs over the SQLite store (claim, deliver, retry, dead letters)."""

from __future__ import annotations


class QueueVerbs:
    """Mixed into SqliteStore; uses its `read`, `write` and `transact`."""
