"""Operator commands: `python app.py dlq list|show|replay|drop` and `python app.py queue`."""

from __future__ import annotations

import argparse
import getpass
import json
import time
from dataclasses import asdict
from datetime import UTC, datetime
from typing import Any

from core.cli import settings_or_exit
from core.config import Settings
from core.storage import DEAD, PENDING, QueuedUpdate, StoreError, open_store, redact

ERROR_CHARS = 60


def register(commands: argparse._SubParsersAction) -> None:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--json", action="store_true", help="machine-readable output")
    common.add_argument("--bot", help="only this bot")
    dlq = commands.add_parser("dlq", help="dead letters: updates that exhausted their budget")
    verbs = dlq.add_subparsers(dest="verb", required=True, metavar="VERB")
    listing = verbs.add_parser("list", parents=[common], help="list dead letters, oldest first")
    listing.add_argument("--limit", type=int, default=100)
    listing.set_defaults(handler=run_list)
    show = verbs.add_parser("show", parents=[common], help="one update with its body and error")
    show.add_argument("id", type=int, help="the id shown by `dlq list`")
    show.set_defaults(handler=run_show)
    for verb, handler, text in (
        ("replay", run_replay, "queue dead letters again with a fresh budget"),
        ("drop", run_drop, "give up on dead letters (kept for dedup, never forwarded)"),
    ):
        sub = verbs.add_parser(verb, parents=[common], help=text)
        sub.add_argument("ids", type=int, nargs="*", metavar="ID")
        sub.add_argument("--all", action="store_true", help="every dead letter (of --bot)")
        sub.set_defaults(handler=handler)
    queue = commands.add_parser("queue", parents=[common], help="queue depth and chat heads")
    queue.add_argument("--limit", type=int, default=20, help="chat heads shown")
    queue.set_defaults(handler=run_queue)


def open_for(args: argparse.Namespace) -> tuple[Settings, Any]:
    settings = settings_or_exit()
    if args.bot is not None and args.bot not in settings.bots:
        raise SystemExit(f"tgwebhook: unknown bot {args.bot!r}")
    try:
        store = open_store(
            settings.db, timeout=settings.store_timeout_seconds, tolerate_outage=False
        )
    except (StoreError, OSError) as exc:
        raise SystemExit(f"tgwebhook: cannot open the store {redact(settings.db)}: {exc}") from None
    return settings, store


def as_dict(update: QueuedUpdate) -> dict[str, Any]:
    shown = asdict(update)
    body = shown.pop("body")
    if body is not None:
        try:
            shown["update"] = json.loads(body)
        except ValueError:
            shown["update"] = body.decode("utf-8", "replace")
    return shown


def age(seconds: float) -> str:
    """Two units, like 3m07s or 2d04h."""
    seconds = max(0, int(seconds))
    units = (("d", 86400), ("h", 3600), ("m", 60), ("s", 1))
    for (big, size), (small, next_size) in zip(units, units[1:], strict=False):
        if seconds >= size:
            return f"{seconds // size}{big}{seconds % size // next_size:02d}{small}"
    return f"{seconds}s"


def row_line(update: QueuedUpdate, now: float) -> str:
    error = (update.last_error or "")[:ERROR_CHARS]
    return (
        f"{update.id:>8} {update.bot:<12} {update.update_id:>11} {update.type:<16} "
        f"{update.chat_key:<16} {update.attempts:>3} {age(now - update.received_at):>7}  "
        f"{error}"
    )


HEADER = f"{'id':>8} {'bot':<12} {'update_id':>11} {'type':<16} {'chat':<16} {'try':>3} {'age':>7}"


def run_list(args: argparse.Namespace) -> int:
    _, store = open_for(args)
    letters = store.dead_letters(args.bot, args.limit)
    if args.json:
        print(json.dumps([as_dict(u) for u in letters], indent=2))
        return 0
    if not letters:
        print("no dead letters")
        return 0
    now = time.time()
    print(HEADER + "  last error")
    for update in letters:
        print(row_line(update, now))
    return 0


def run_show(args: argparse.Namespace) -> int:
    _, store = open_for(args)
    update = store.queued_update(args.id)
    if update is None or (args.bot is not None and update.bot != args.bot):
        print(f"tgwebhook: no update with id {args.id}")
        return 1
    shown = as_dict(update)
    if args.json:
        print(json.dumps(shown, indent=2))
        return 0
    body = shown.pop("update", None)
    for key, value in shown.items():
        if key.endswith(("_at", "_from")) and value is not None:
            value = datetime.fromtimestamp(value, UTC).isoformat(timespec="seconds")
        print(f"{key:16} {value}")
    print("update" if body is not None else "update           (payload purged)")
    if body is not None:
        print(json.dumps(body, indent=2, ensure_ascii=False))
    return 0


def run_replay(args: argparse.Namespace) -> int:
    settings, store = open_for(args)
    forwarding = {name for name, bot in settings.bots.items() if bot.forward_url}
    return change(
        args,
        store,
        forwarding,
        lambda ids, bot: store.replay_dead(ids, time.time(), bot),
        "replay",
    )


def run_drop(args: argparse.Namespace) -> int:
    settings, store = open_for(args)
    return change(args, store, set(settings.bots), store.drop_dead, "drop")


def change(args: argparse.Namespace, store, allowed_bots: set[str], apply, action: str) -> int:
    """Apply `apply(ids, bot)` to the named dead letters (or --all); report what was skipped.
    The console's audit list records it like a console action (who: the shell user)."""
    verb = "replayed" if action == "replay" else "dropped"
    if args.all == bool(args.ids):
        print("tgwebhook: name dead letter ids, or --all (not both)")
        return 2
    skipped: list[str] = []
    if args.all:
        bots = [args.bot] if args.bot else sorted(allowed_bots)
        skipped += [f"bot {b}: no forward URL" for b in bots if b not in allowed_bots]
        done = sum(apply(None, bot) for bot in bots if bot in allowed_bots)
    else:
        ids = []
        for row_id in args.ids:
            problem = why_not(store.queued_update(row_id), args.bot, allowed_bots)
            skipped += [f"{row_id}: {problem}"] if problem else []
            ids += [] if problem else [row_id]
        done = apply(ids, args.bot)
    target = "all dead letters" if args.all else "ids " + ",".join(map(str, args.ids))
    store.start_audit(
        time.time(),
        f"cli:{getpass.getuser()}",
        "operator",
        f"{action} all" if args.all else action,
        bot=args.bot or "",
        target=target[:500],
        matched=done + len(skipped),
        done=done,
    )
    if args.json:
        print(json.dumps({verb: done, "skipped": skipped}))
    else:
        print(f"{verb} {done} dead letter(s)")
        for line in skipped:
            print(f"  skipped {line}")
    return 1 if skipped else 0


def why_not(update: QueuedUpdate | None, bot: str | None, allowed_bots: set[str]) -> str:
    if update is None or (bot is not None and update.bot != bot):
        return "no such update"
    if update.state != DEAD:
        return f"not a dead letter (state {update.state})"
    if update.bot not in allowed_bots:
        return f"bot {update.bot} has no forward URL"
    return ""


def run_queue(args: argparse.Namespace) -> int:
    settings, store = open_for(args)
    now = time.time()
    bots = [args.bot] if args.bot else list(settings.bots)
    stats = store.queue_stats(bots, now)
    heads = store.chat_heads(args.bot, args.limit)
    if args.json:
        print(
            json.dumps(
                {
                    "bots": [
                        {**asdict(s), "forwarding": bool(settings.bots[s.bot].forward_url)}
                        for s in stats
                    ],
                    "heads": [{"waiting": h.waiting, **as_dict(h.head)} for h in heads],
                },
                indent=2,
            )
        )
        return 0
    for s in stats:
        mode = "forwarding" if settings.bots[s.bot].forward_url else "store only"
        print(
            f"bot {s.bot} ({mode}): depth {s.depth}, oldest {age(s.oldest_age_seconds)}, "
            f"dead letters {s.dead_letters}"
        )
    if heads:
        print(f"\nchat heads (oldest first):\n{HEADER} {'wait':>5} {'state':<10}  last error")
    for head in heads:
        line = row_line(head.head, now)
        cut = len(HEADER)
        print(f"{line[:cut]} {head.waiting:>5} {state_text(head.head, now):<10} {line[cut:]}")
    return 0


def state_text(update: QueuedUpdate, now: float) -> str:
    if update.state == PENDING and update.next_attempt_at and update.next_attempt_at > now:
        return f"retry {age(update.next_attempt_at - now)}"
    return update.state
