"""The JSON admin API under /api/: the console's data and actions for scripts, behind the
same credentials, roles and CSRF check as the pages (see docs/console.md)."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from flask import Blueprint, Response, jsonify, request

from core.storage import QueuedUpdate, StoreError, error_class
from ops.console.actions import ActionError, Conflict
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

    @api.get("/session")
    def session() -> Response:
        who = principal()
        return jsonify(name=who.name, role=who.role, csrf_token=csrf_token())

    @api.get("/overview")
    def overview() -> Response:
        snapshot = console.overview.snapshot()
        return jsonify(asdict(snapshot))

    @api.get("/dead-letters")
    def dead_letters() -> Response:
        dead = parse_filter(request.args, console.vocabulary)
        rows = console.store.list_dead(dead, limit(), number("before_id"))
        return jsonify(dead_letters=[described(row) for row in rows])

    @api.get("/dead-letters/count")
    def dry_run() -> Response:
        return jsonify(
            matched=console.actions.count(parse_filter(request.args, console.vocabulary))
        )

    @api.post("/dead-letters/<action>")
    def act(action: str) -> tuple[Response, int]:
        body = request.get_json(silent=True)
        if not isinstance(body, dict):
            raise ActionError('send a JSON object: {"ids": [...]} or {"filter": {...}, "confirm"}')
        if "ids" in body:
            result = console.actions.on_ids(principal(), action, ids_of(body["ids"]))
        else:
            dead = parse_filter(body.get("filter") or {}, console.vocabulary)
            confirm = str(body.get("confirm", ""))
            result = console.actions.start_bulk(principal(), action, dead, confirm)
        return jsonify(asdict(result)), 202 if result.state == "running" else 200

    @api.get("/updates")
    def updates() -> Response:
        bot = request.args.get("bot") or None
        if bot is not None and bot not in console.vocabulary.bots:
            raise BadFilter("unknown bot")
        rows = console.store.recent_updates(bot, limit(), number("before_id"))
        full = principal().may_act
        return jsonify(
            updates=[
                asdict(row)
                | {
                    "chat_key": chat_hash(row.chat_key),
                    "last_error": error_shown(row.last_error, full),
                }
                for row in rows
            ]
        )

    @api.get("/updates/<int:row_id>")
    def update(row_id: int) -> Response:
        row = console.store.queued_update(row_id)
        if row is None:
            return jsonify(error="no such update"), 404  # type: ignore[return-value]
        return jsonify(described(row) | {"body": redacted(row.body)})

    @api.post("/updates/<int:row_id>/reveal")
    def reveal(row_id: int) -> Response:
        row = console.actions.reveal(principal(), row_id)
        body = row.body.decode("utf-8", "replace") if row.body is not None else None
        return jsonify(described(row) | {"body": body})

    @api.get("/alerts")
    def alerts() -> Response:
        history = console.store.alert_history(None, limit())
        sent = console.store.notification_states([t.id for t in history if t.id is not None])
        return jsonify(
            alerts=[
                asdict(t) | {"notifications": [list(n) for n in sent.get(t.id or 0, [])]}
                for t in history
            ],
            observations={
                bot: [asdict(o) for o in console.store.recent_observations(bot, 10)]
                for bot in console.settings.bots
            },
        )

    @api.get("/audit")
    def audit() -> Response:
        console.actions.settle()
        return jsonify(audit=[asdict(entry) for entry in console.store.audit_entries(limit())])

    @api.get("/audit/<int:audit_id>")
    def audit_entry(audit_id: int) -> tuple[Response, int]:
        console.actions.settle()
        entry = console.store.audit_entry(audit_id)
        if entry is None:
            return jsonify(error="no such audit entry"), 404
        return jsonify(asdict(entry)), 200

    return api


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
