"""The console's HTML pages on the ops listener: overview, dead letters, alerts, updates,
audit. Views only compose: parse, call the store or ops/console/actions.py, render."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

from flask import Blueprint, Response, redirect, render_template, request, url_for
from werkzeug.wrappers import Response as BaseResponse

from core.delivery_errors import classify
from core.storage import AUDIT_RUNNING, AuditEntry, StoreError, error_class
from ops.console.actions import ActionError, NotFound, check
from ops.console.context import Console, chat_hash
from ops.console.filters import BadFilter, as_fields, parse_filter
from ops.console.guard import csrf_token, finish, principal
from ops.console.redaction import error_shown, redacted

NAV = (
    ("overview", "Overview", "/"),
    ("dead-letters", "Dead letters", "/dead-letters"),
    ("alerts", "Alerts", "/alerts"),
    ("updates", "Updates", "/updates"),
    ("audit", "Audit", "/audit"),
)
PAGE_SIZE = 50


def make_blueprint(console: Console) -> Blueprint:
    pages = Blueprint(
        "console",
        __name__,
        template_folder="templates",
        static_folder="static",
        static_url_path="/console/static",
    )
    pages.before_request(console.guard.admit)
    pages.after_request(finish)
    pages.context_processor(
        lambda: {"who": principal(), "csrf_token": csrf_token, "nav": NAV, "error_text": error_text}
    )
    for name, function in FILTERS.items():
        pages.add_app_template_filter(function, name)
    pages.register_error_handler(ActionError, lambda exc: message(str(exc), exc.status))
    pages.register_error_handler(BadFilter, lambda exc: message(str(exc), 400))
    pages.register_error_handler(StoreError, lambda exc: message("the store is unavailable", 503))

    views = Pages(console)
    for rule, name, method in ROUTES:
        pages.add_url_rule(rule, name, getattr(views, name), methods=[method])
    return pages


ROUTES = (
    ("/", "overview", "GET"),
    ("/dead-letters", "dead_letters", "GET"),
    ("/dead-letters/action", "act", "POST"),
    ("/dead-letters/bulk", "bulk", "POST"),
    ("/alerts", "alerts", "GET"),
    ("/updates", "updates", "GET"),
    ("/updates/<int:row_id>", "update", "GET"),
    ("/updates/<int:row_id>/reveal", "reveal", "POST"),
    ("/audit", "audit", "GET"),
)


class Pages:
    """The views; each parses, asks the store or the actions, and renders."""

    def __init__(self, console: Console) -> None:
        self.console = console

    def overview(self) -> str:
        return page("overview.html", "overview", snapshot=self.console.overview.snapshot())

    def dead_letters(self) -> str:
        dead = parse_filter(request.args, self.console.vocabulary)
        rows = self.console.store.list_dead(dead, PAGE_SIZE, before_id())
        running, notice = self.progress(request.args.get("audit", ""))
        return page(
            "dead_letters.html",
            "dead-letters",
            rows=rows,
            count=self.console.store.count_dead(dead),
            fields=as_fields(dead),
            running=running,
            notice=notice,
            vocabulary=self.console.vocabulary,
            next_before=rows[-1].id if len(rows) == PAGE_SIZE else None,
        )

    def progress(self, shown: str) -> tuple[list[AuditEntry], str]:
        """Bulk actions running now, and the outcome of the action `shown` (?audit=<id>)."""
        self.console.actions.settle()
        running = [e for e in self.console.store.audit_entries(20) if e.state == AUDIT_RUNNING]
        entry = self.console.store.audit_entry(int(shown)) if shown.isdigit() else None
        if entry is not None and entry.state != AUDIT_RUNNING:
            return (
                running,
                f"Audit #{entry.id}: {entry.action}, {entry.done} of {entry.matched} done",
            )
        if entry is not None and all(e.id != entry.id for e in running):
            running.append(entry)
        return running, ""

    def act(self) -> BaseResponse:
        action, _, one = request.form.get("act", "").partition(":")
        ids = [one] if one else request.form.getlist("id")
        if not all(i.isdigit() for i in ids):
            raise ActionError("ids must be whole numbers")
        result = self.console.actions.on_ids(principal(), action, [int(i) for i in ids])
        fields = as_fields(parse_filter(request.form, self.console.vocabulary))
        return redirect(listing(audit=result.audit_id, **fields), 303)

    def bulk(self) -> Any:
        dead = parse_filter(request.form, self.console.vocabulary)
        action, confirm = request.form.get("action", ""), request.form.get("confirm")
        if confirm is None:  # the dry run: count, and ask for the count back
            count = self.console.actions.count(dead)
            target = urlencode(as_fields(dead)) or "all dead letters"
            check(principal(), action)
            return page(
                "bulk.html",
                "dead-letters",
                action=action,
                count=count,
                target=target,
                fields=as_fields(dead),
            )
        result = self.console.actions.start_bulk(principal(), action, dead, confirm)
        return redirect(listing(audit=result.audit_id, **as_fields(dead)), 303)

    def alerts(self) -> str:
        history = self.console.store.alert_history(None, 100)
        sent = self.console.store.notification_states([t.id for t in history if t.id is not None])
        observations = {
            bot: self.console.store.recent_observations(bot, 10)
            for bot in self.console.settings.bots
        }
        return page("alerts.html", "alerts", history=history, sent=sent, observations=observations)

    def updates(self) -> str:
        bot = request.args.get("bot") or None
        if bot is not None and bot not in self.console.vocabulary.bots:
            raise BadFilter("unknown bot")
        rows = self.console.store.recent_updates(bot, PAGE_SIZE, before_id())
        next_before = rows[-1].id if len(rows) == PAGE_SIZE else None
        return page(
            "updates.html",
            "updates",
            rows=rows,
            bot=bot,
            vocabulary=self.console.vocabulary,
            next_before=next_before,
        )

    def update(self, row_id: int) -> str:
        row = self.console.store.queued_update(row_id)
        if row is None:
            raise NotFound("no such update")
        return page("update.html", "updates", row=row, body=redacted(row.body), revealed=False)

    def reveal(self, row_id: int) -> str:
        row = self.console.actions.reveal(principal(), row_id)
        body = row.body.decode("utf-8", "replace") if row.body is not None else ""
        return page("update.html", "updates", row=row, body=body, revealed=True)

    def audit(self) -> str:
        self.console.actions.settle()
        return page("audit.html", "audit", entries=self.console.store.audit_entries(200))


def page(template: str, name: str, **values: Any) -> str:
    values.setdefault("notice", "")
    return render_template(template, page=name, **values)


def message(text: str, status: int) -> Response:
    body = render_template("message.html", page="", error=text, status=status, back=back())
    return Response(body, status, mimetype="text/html")


def error_text(last_error: str | None) -> str:
    return error_shown(last_error, principal().may_act)


def listing(**fields: Any) -> str:
    return url_for("console.dead_letters", **fields)


def back() -> str:
    return "/dead-letters" if request.path.startswith("/dead-letters") else "/"


def before_id() -> int | None:
    text = request.args.get("before_id", "")
    if text and not text.isdigit():
        raise BadFilter("before_id: not a whole number")
    return int(text) if text else None


def utc(moment: float | None) -> str:
    if moment is None:
        return "—"
    return datetime.fromtimestamp(moment, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def seconds(value: float | None) -> str:
    return "—" if value is None else f"{value:.3g} s"


def per_second(value: float | None) -> str:
    return "—" if value is None else f"{value:.3g}/s"


FILTERS: dict[str, Callable[..., Any]] = {
    "utc": utc,
    "seconds": seconds,
    "per_second": per_second,
    "chat": chat_hash,
    "error_class": error_class,
    "telegram_class": classify,
}
