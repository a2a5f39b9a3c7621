"""Monitor verbs over the SQLite store (webhook observations, alert state and transitions)."""

from __future__ import annotations

import json
from dataclasses import astuple, fields

from core.storage import Observation

OBSERVATION_COLUMNS = tuple(f.name for f in fields(Observation))


def observation_from_row(row) -> Observation:
    values = dict(zip(OBSERVATION_COLUMNS, tuple(row), strict=True))
    values["ok"] = bool(values["ok"])
    if values["allowed_updates"] is not None:
        values["allowed_updates"] = tuple(json.loads(values["allowed_updates"]))
    return Observation(**values)


class MonitorVerbs:
    """Mixed into SqliteStore; uses its `read`, `write` and `transact`."""

    def save_observation(self, observation: Observation) -> None:
        values = list(astuple(observation))
        index = OBSERVATION_COLUMNS.index("allowed_updates")
        if values[index] is not None:
            values[index] = json.dumps(list(values[index]))
        marks = ", ".join("?" * len(values))
        with self.write() as conn:
            conn.execute(
                f"INSERT INTO observations ({', '.join(OBSERVATION_COLUMNS)}) VALUES ({marks})",
                values,
            )

    def recent_observations(self, bot: str, limit: int = 20) -> list[Observation]:
        """The newest observations of a bot, newest first."""
        rows = self.read(
            f"SELECT {', '.join(OBSERVATION_COLUMNS)} FROM observations WHERE bot = ?"
            " ORDER BY observed_at DESC, id DESC LIMIT ?",
            (bot, limit),
        )
        return [observation_from_row(row) for row in rows]

    def latest_observation(self, bot: str) -> Observation | None:
        found = self.recent_observations(bot, limit=1)
        return found[0] if found else None

    def last_successful_poll(self, bot: str) -> float | None:
        rows = self.read(
            "SELECT MAX(observed_at) FROM observations WHERE bot = ? AND ok = 1", (bot,)
        )
        return rows[0][0]

    def prune_observations(self, before: float) -> int:
        with self.write() as conn:
            return conn.execute(
                "DELETE FROM observations WHERE observed_at < ?", (before,)
            ).rowcount
