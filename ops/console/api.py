"""The JSON admin API under /api/: the console's data and actions for scripts, behind the
same credentials, roles and CSRF check as the pages (see docs/console.md)."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from flask import Blueprint, Response, jsonify, request

from core.storage import QueuedUpdate, StoreError, UpdateMeta, error_class
from ops.console.actions import ActionError, Conflict, NotFound
from ops.console.context import Console, chat_hash
from ops.console.filters import BadFilter, parse_filter
from ops.console.guard import csrf_token, finish, principal
from ops.console.redaction import error_shown, redacted

PAGE_MAX = 200


def make_blueprint(console: Console) -> Blueprint:
    api = Blueprint("console_api", __name__, url_prefix="/api")
    api.before_request(console.guard.admit)
    api.after_request(finish)
    api.register_error_handler(ActionError, refused)
    api.register_error_handler(BadFilter, bad_filter)
    api.register_error_handler(StoreError, store_down)

    views = Api(console)
    for rule, name, method in ROUTES:
        api.add_url_rule(rule, name, getattr(views, name), methods=[method])
    return api


ROUTES = (
    ("/session", "session", "GET"),
    ("/overview", "overview", "GET"),
    ("/dead-letters", "dead_letters", "GET"),
    ("/dead-letters/count", "dry_run", "GET"),
    ("/dead-letters/<action>", "act", "POST"),
    ("/updates", "updates", "GET"),
    ("/updates/<int:row_id>", "update", "GET"),
    ("/updates/<int:row_id>/reveal", "reveal", "POST"),
    ("/alerts", "alerts", "GET"),
    ("/audit", "audit", "GET"),
    ("/audit/<int:audit_id>", "audit_entry", "GET"),
)


class Api:
    """The JSON views; the same store verbs and actions as the pages."""

    def __init__(self, console: Console) -> None:
        self.console = console

    def session(self) -> Response:
        who = principal()
        return jsonify(name=who.name, role=who.role, csrf_token=csrf_token())

    def overview(self) -> Response:
        snapshot = self.console.overview.snapshot()
        return jsonify(asdict(snapshot))

    def dead_letters(self) -> Response:
        dead = parse_filter(request.args, self.console.vocabulary)
        rows = self.console.store.list_dead(dead, limit(), number("before_id"))
        return jsonify(dead_letters=[described(row) for row in rows])

    def dry_run(self) -> Response:
        return jsonify(
            matched=self.console.actions.count(parse_filter(request.args, self.console.vocabulary))
        )

    def act(self, action: str) -> tuple[Response, int]:
        body = request.get_json(silent=True)
        if not isinstance(body, dict):
            raise ActionError('send a JSON object: {"ids": [...]} or {"filter": {...}, "confirm"}')
        if "ids" in body:
            result = self.console.actions.on_ids(principal(), action, ids_of(body["ids"]))
        else:
            dead = parse_filter(body.get("filter") or {}, self.console.vocabulary)
            confirm = str(body.get("confirm", ""))
            result = self.console.actions.start_bulk(principal(), action, dead, confirm)
        return jsonify(asdict(result)), 202 if result.state == "running" else 200

    def updates(self) -> Response:
        bot = request.args.get("bot") or None
        if bot is not None and bot not in self.console.vocabulary.bots:
            raise BadFilter("unknown bot")
        rows = self.console.store.recent_updates(bot, limit(), number("before_id"))
        return jsonify(updates=[metadata(row, principal().may_act) for row in rows])

    def update(self, row_id: int) -> Response:
        row = self.console.store.queued_update(row_id)
        if row is None:
            raise NotFound("no such update")
        return jsonify(described(row) | {"body": redacted(row.body)})

    def reveal(self, row_id: int) -> Response:
        row = self.console.actions.reveal(principal(), row_id)
        body = row.body.decode("utf-8", "replace") if row.body is not None else None
        return jsonify(described(row) | {"body": body})

    def alerts(self) -> Response:
        history = self.console.store.alert_history(None, limit())
        sent = self.console.store.notification_states([t.id for t in history if t.id is not None])
        return jsonify(
            alerts=[
                asdict(t) | {"notifications": [list(n) for n in sent.get(t.id or 0, [])]}
                for t in history
            ],
            observations={
                bot: [asdict(o) for o in self.console.store.recent_observations(bot, 10)]
                for bot in self.console.settings.bots
            },
        )

    def audit(self) -> Response:
        self.console.actions.settle()
        return jsonify(audit=[asdict(entry) for entry in self.console.store.audit_entries(limit())])

    def audit_entry(self, audit_id: int) -> Response:
        self.console.actions.settle()
        entry = self.console.store.audit_entry(audit_id)
        if entry is None:
            raise NotFound("no such audit entry")
        return jsonify(asdict(entry))


def described(row: QueuedUpdate) -> dict[str, Any]:
    """A row as the API shows it: metadata, the error and its class; never the body."""
    return {
        "id": row.id,
        "bot": row.bot,
        "update_id": row.update_id,
        "type": row.type,
        "chat": chat_hash(row.chat_key),
        "received_at": row.received_at,
        "state": str(row.state),
        "attempts": row.attempts,
        "last_error": error_shown(row.last_error, principal().may_act),
        "error_class": error_class(row.last_error),
    }


def metadata(row: UpdateMeta, full: bool) -> dict[str, Any]:
    """An update's metadata as the API shows it: the chat hashed, the error as the role may."""
    shown = {"chat_key": chat_hash(row.chat_key), "last_error": error_shown(row.last_error, full)}
    return asdict(row) | shown


def limit() -> int:
    return min(number("limit") or 50, PAGE_MAX)


def number(name: str) -> int | None:
    text = request.args.get(name, "")
    if not text:
        return None
    if not text.isdigit():
        raise BadFilter(f"{name}: not a whole number")
    return int(text)


def ids_of(value: Any) -> list[int]:
    if not isinstance(value, list) or not all(
        isinstance(i, int) and not isinstance(i, bool) for i in value
    ):
        raise ActionError("ids: a list of dead-letter ids")
    return value


def refused(exc: ActionError) -> tuple[Response, int]:
    body: dict[str, Any] = {"error": str(exc)}
    if isinstance(exc, Conflict) and exc.matched is not None:
        body["matched"] = exc.matched
    return jsonify(body), exc.status


def bad_filter(exc: BadFilter) -> tuple[Response, int]:
    return jsonify(error=str(exc)), 400


def store_down(exc: StoreError) -> tuple[Response, int]:
    return jsonify(error="the store is unavailable; try again"), 503
