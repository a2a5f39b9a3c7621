"""What an operator may do from the console, once: the pages and the JSON API both call these.

Replay and drop change rows only through the store's own dead-letter verbs (the ones
`python app.py dlq` uses); every action writes its audit row. A bulk action is pinned to the
rows that matched when it started, runs in chunks on a background thread (the web worker only
starts it) and records its progress in that audit row. One runs at a time among all workers and
replicas: it holds the store lease `console-bulk`, renewed with every chunk, so a row left
`running` by a worker that died is recognised (its lease lapsed) and marked `interrupted`.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from typing import Protocol
from urllib.parse import urlencode

from core.storage import (
    AUDIT_DONE,
    AUDIT_FAILED,
    AUDIT_RUNNING,
    ConsoleStore,
    DeadFilter,
    LeaseStore,
    QueuedUpdate,
    QueueStore,
    StoreError,
)
from ops.access import Principal
from ops.console.filters import as_fields

ACTIONS = ("replay", "drop")
CHUNK = 500  # rows per write transaction: short enough never to hold the store for long
SELECTION_MAX = 500
LEASE = "console-bulk"
LEASE_SECONDS = 30.0  # renewed with every chunk; a worker that died lets it lapse
AUDIT_SCAN = 50  # running rows are among the newest audit rows
BUSY = "another bulk action is running; wait for it (see /audit)"
log = logging.getLogger(__name__)


class ActionError(Exception):
    """A refused action; `status` is its HTTP status. Nothing was changed."""

    status = 400


class Forbidden(ActionError):
    status = 403


class NotFound(ActionError):
    status = 404


class Conflict(ActionError):
    status = 409

    def __init__(self, message: str, matched: int | None = None) -> None:
        super().__init__(message)
        self.matched = matched


@dataclass(frozen=True)
class Result:
    action: str
    matched: int
    done: int
    audit_id: int
    state: str


class BulkStore(ConsoleStore, QueueStore, LeaseStore, Protocol):
    """The console's verbs, the dead-letter verbs `dlq` uses too, and the lease that keeps
    bulk actions one at a time."""


class Actions:
    def __init__(
        self, store: BulkStore, clock: Callable[[], float] = time.time, chunk: int = CHUNK
    ) -> None:
        self.store = store
        self.clock = clock
        self.chunk = chunk
        self.worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="console-bulk")
        self.running: int | None = None  # audit id of this process's bulk action
        self.holder = f"{socket.gethostname()}:{os.getpid()}:{id(self)}"
        self.starting = threading.Lock()

    def on_ids(self, who: Principal, action: str, ids: Sequence[int]) -> Result:
        """Replay or drop the dead letters `ids` (one, or a selection)."""
        check(who, action)
        if not ids or len(ids) > SELECTION_MAX:
            raise ActionError(f"select between 1 and {SELECTION_MAX} dead letters")
        present = self.store.dead_ids_among(sorted(set(ids)))
        if not present:
            raise NotFound("no such dead letter: already replayed or dropped, or never existed")
        done = self.apply(action, present)
        target = "ids " + ",".join(map(str, present))
        audit_id = self.store.start_audit(
            self.clock(),
            who.name,
            who.role,
            action,
            target=target[:500],
            matched=len(ids),
            done=done,
        )
        return Result(action, len(ids), done, audit_id, AUDIT_DONE)

    def count(self, dead: DeadFilter) -> int:
        """The dry run: how many dead letters a bulk action on `dead` would take now."""
        return self.store.count_dead(dead)

    def start_bulk(self, who: Principal, action: str, dead: DeadFilter, confirm: str) -> Result:
        """Start `action` on every dead letter matching `dead`; `confirm` must be their count."""
        check(who, action)
        with self.starting:
            holder = self.store.lease_holder(LEASE, self.clock())
            if self.running is not None or holder not in (None, self.holder):
                raise Conflict(BUSY)
            pinned, matched = self.plan_bulk(dead, confirm)
            if not self.store.take_lease(LEASE, self.holder, self.clock(), LEASE_SECONDS):
                raise Conflict(BUSY)  # another worker started one since
            audit_id = self.store.start_audit(
                self.clock(),
                who.name,
                who.role,
                f"{action} all",
                bot=dead.bot or "",
                target=urlencode(as_fields(dead)) or "all dead letters",
                matched=matched,
                state=AUDIT_RUNNING,
            )
            self.running = audit_id  # before the worker can finish and clear it
            self.worker.submit(self.run_bulk, audit_id, action, pinned)
        return Result(action, matched, 0, audit_id, AUDIT_RUNNING)

    def plan_bulk(self, dead: DeadFilter, confirm: str) -> tuple[DeadFilter, int]:
        """Pin the rows matching now, count them, and check the typed confirmation."""
        pinned = replace(dead, through_id=self.store.newest_dead_id(dead) or 0)
        matched = self.store.count_dead(pinned)
        if not matched:
            raise NotFound("no dead letters match this filter")
        if confirm.strip() != str(matched):
            raise Conflict(
                f"type the number of matching dead letters ({matched}) to confirm", matched
            )
        return pinned, matched

    def run_bulk(self, audit_id: int, action: str, pinned: DeadFilter) -> None:
        done, after, state = 0, 0, AUDIT_FAILED
        try:
            while ids := self.store.dead_chunk(pinned, after, self.chunk):
                if not self.store.take_lease(LEASE, self.holder, self.clock(), LEASE_SECONDS):
                    log.error("console bulk #%d lost its lease after %d rows", audit_id, done)
                    break
                done += self.apply(action, ids)
                after = ids[-1]
                self.store.progress_audit(audit_id, done)
            else:
                state = AUDIT_DONE
        except StoreError as exc:
            log.error("console bulk %s #%d stopped after %d rows: %s", action, audit_id, done, exc)
        finally:
            try:
                self.store.progress_audit(audit_id, done, state, self.clock())
                self.store.release_lease(LEASE, self.holder)
            except StoreError:
                log.error("console bulk #%d: could not record its end (%s)", audit_id, state)
            self.running = None

    def settle(self) -> None:
        """Mark `interrupted` the bulk rows left `running` by a worker that died."""
        running = [e for e in self.store.audit_entries(AUDIT_SCAN) if e.state == AUDIT_RUNNING]
        # Read after the rows: a bulk that finished in between is no longer `running` (the
        # update below is conditional), one that started in between is not in `running`.
        if running and self.store.lease_holder(LEASE, self.clock()) is not None:
            running = running[1:]  # one runs at a time: the newest
        for entry in running:
            self.store.interrupt_audit(entry.id, self.clock())

    def reveal(self, who: Principal, row_id: int) -> QueuedUpdate:
        """An update with its body as stored; operators only, and audited."""
        if not who.may_act:
            raise Forbidden("revealing content needs the operator role")
        row = self.store.queued_update(row_id)
        if row is None:
            raise NotFound("no such update")
        self.store.start_audit(
            self.clock(),
            who.name,
            who.role,
            "reveal",
            bot=row.bot,
            target=f"update {row.id}",
            matched=1,
            done=1 if row.body is not None else 0,
        )
        return row

    def apply(self, action: str, ids: list[int]) -> int:
        if action == "replay":
            return self.store.replay_dead(ids, self.clock())
        return self.store.drop_dead(ids)

    def close(self) -> None:
        self.worker.shutdown(wait=True)


def check(who: Principal, action: str) -> None:
    if action not in ACTIONS:
        raise ActionError(f"unknown action; one of {', '.join(ACTIONS)}")
    if not who.may_act:
        raise Forbidden(f"{action} needs the operator role")
