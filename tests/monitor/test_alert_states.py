"""The alert state machine: the pure transition table, then its storage (compare-and-set)."""

from __future__ import annotations

import pytest

from core.storage import AlertState, AlertStatus
from monitor import alerts
from monitor.rules import CRITICAL, WARNING, Evaluation, Finding

NOW = 1_700_000_000.0
HOURS = 3600.0
FINDING = Finding("default", "backlog", WARNING, "Telegram holds 150 undelivered updates")


def state(
    name: AlertStatus, notified_hours_ago: float = 0.0, severity: str = WARNING
) -> AlertState:
    return AlertState(
        "default",
        "backlog",
        name.value,
        severity,
        "before",
        NOW - 5 * HOURS,
        NOW - notified_hours_ago * HOURS,
        version=3,
    )


@pytest.mark.parametrize(
    "current, finding, repeat_hours, kind, new_state",
    [
        (AlertState("default", "backlog"), None, 4, None, None),
        (AlertState("default", "backlog"), FINDING, 4, "fire", AlertStatus.FIRING),
        (state(AlertStatus.FIRING, notified_hours_ago=1), FINDING, 4, None, None),
        (state(AlertStatus.FIRING, notified_hours_ago=4), FINDING, 4, "repeat", AlertStatus.FIRING),
        (state(AlertStatus.FIRING, notified_hours_ago=9), FINDING, 0, None, None),  # repeats off
        (
            state(AlertStatus.FIRING, severity=CRITICAL),
            FINDING,
            4,
            "fire",
            AlertStatus.FIRING,
        ),  # de-escalated
        (state(AlertStatus.FIRING), None, 4, "resolve", AlertStatus.RESOLVED),
        (state(AlertStatus.RESOLVED), None, 4, None, None),
        (state(AlertStatus.RESOLVED), FINDING, 4, "fire", AlertStatus.FIRING),
    ],
)
def test_transition_table(current, finding, repeat_hours, kind, new_state):
    change = alerts.transition(current, finding, NOW, repeat_hours * HOURS)
    assert (change.kind if change else None) == kind
    assert (change.new_state if change else None) == new_state


def test_resolve_keeps_the_severity_and_start_of_what_fired():
    change = alerts.transition(state(AlertStatus.FIRING, severity=CRITICAL), None, NOW, 0)
    assert change.severity == CRITICAL
    assert change.started_at == NOW - 5 * HOURS
    assert change.old_state == "firing"


def fire(bot: str = "default", alert: str = "backlog", at: float = NOW):
    return alerts.transition(AlertState(bot, alert), FINDING, at, 0)


def test_apply_fires_repeats_and_resolves_through_the_store(store):
    firing = Evaluation((FINDING,), frozenset())
    clear = Evaluation((), frozenset())
    kinds = []
    for at, evaluation in [
        (NOW, firing),
        (NOW + 60, firing),
        (NOW + 5 * HOURS, firing),
        (NOW + 6 * HOURS, clear),
        (NOW + 7 * HOURS, clear),
    ]:
        saved = alerts.apply(store, "default", evaluation, at, 4 * HOURS, ["webhook"])
        kinds.append([t.kind for t in saved])
    assert kinds == [["fire"], [], ["repeat"], ["resolve"], []]
    assert [t.kind for t in store.alert_history()] == ["resolve", "repeat", "fire"]


def test_apply_leaves_unknown_alerts_as_they_are(store):
    alerts.apply(store, "default", Evaluation((FINDING,), frozenset()), NOW, 0, [])
    unknown = Evaluation((), frozenset({"backlog"}))
    assert alerts.apply(store, "default", unknown, NOW + 60, 0, []) == []
    assert store.alert_states("default")[0].state == "firing"
