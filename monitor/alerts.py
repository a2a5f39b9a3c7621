"""The alert state machine: ok -> firing -> resolved -> firing ..., one per (bot, alert).

`transition()` is pure. `apply()` turns an evaluation into transitions and hands each to
`store.save_transition()`, which writes history, state and outbox in one transaction with a
compare-and-set on the old state: two evaluators never both notify the same change.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence

from core.metrics import ALERTS
from core.storage import AlertState, AlertStatus, AlertStore, AlertTransition
from monitor.rules import Evaluation, Finding

log = logging.getLogger(__name__)


FIRE, REPEAT, RESOLVE = "fire", "repeat", "resolve"


def transition(
    current: AlertState, finding: Finding | None, now: float, repeat_seconds: float
) -> AlertTransition | None:
    """The transition `finding` (or its absence) causes from `current`, or None."""
    state = current.state
    if finding is None:
        if state is not AlertStatus.FIRING:
            return None
        return make(current, RESOLVE, AlertStatus.RESOLVED, now, current.severity, current.summary)
    if state is not AlertStatus.FIRING:
        return make(
            current, FIRE, AlertStatus.FIRING, now, finding.severity, finding.summary, finding
        )
    if finding.severity != current.severity:  # escalation (or de-escalation) is news
        return make(
            current, FIRE, AlertStatus.FIRING, now, finding.severity, finding.summary, finding
        )
    due = current.notified_at is None or now - current.notified_at >= repeat_seconds
    if repeat_seconds > 0 and due:
        return make(
            current, REPEAT, AlertStatus.FIRING, now, finding.severity, finding.summary, finding
        )
    return None


def make(
    current: AlertState,
    kind: str,
    new: AlertStatus,
    now: float,
    severity: str,
    summary: str,
    finding: Finding | None = None,
) -> AlertTransition:
    started = current.changed_at if current.state == AlertStatus.FIRING else now
    return AlertTransition(
        bot=current.bot,
        alert=current.alert,
        kind=kind,
        old_state=current.state,
        new_state=new,
        at=now,
        severity=severity,
        summary=summary,
        details=dict(finding.details) if finding else {},
        started_at=started,
    )


def plan(
    states: Iterable[AlertState],
    bot: str,
    evaluation: Evaluation,
    now: float,
    repeat_seconds: float,
) -> list[tuple[AlertTransition, int]]:
    """Transitions for one bot's evaluation, each with the version it expects to replace."""
    known = {s.alert: s for s in states if s.bot == bot}
    found = {f.alert: f for f in evaluation.findings}
    planned = []
    for alert in ALERTS:
        if alert in evaluation.unknown:
            continue
        current = known.get(alert, AlertState(bot, alert))
        change = transition(current, found.get(alert), now, repeat_seconds)
        if change is not None:
            planned.append((change, current.version))
    return planned


def apply(
    store: AlertStore,
    bot: str,
    evaluation: Evaluation,
    now: float,
    repeat_seconds: float,
    channels: Sequence[str],
) -> list[AlertTransition]:
    """Save every transition; returns those that won their compare-and-set."""
    saved = []
    for change, version in plan(store.alert_states(bot), bot, evaluation, now, repeat_seconds):
        transition_id = store.save_transition(change, version, channels)
        if transition_id is None:
            log.info("alert %s/%s changed meanwhile; skipped %s", bot, change.alert, change.kind)
            continue
        log.warning("alert %s %s/%s: %s", change.kind, bot, change.alert, change.summary)
        saved.append(change)
    return saved
