"""`python app.py privacy forget --user-id N | --chat-id N [--dry-run] [--yes]`: erase every
stored update that names a user or chat (docs/privacy.md). The audit row says what and how
much, never whom; nothing about the subject is logged."""

from __future__ import annotations

import argparse
import time

from core.privacy import Subject, keyed, names
from core.storage import StoreError, open_store, redact
from core.storage import privacy as store_privacy


def register(commands: argparse._SubParsersAction) -> None:
    privacy = commands.add_parser("privacy", help="erase a user's or chat's stored updates")
    verbs = privacy.add_subparsers(dest="verb", required=True)
    forget = verbs.add_parser("forget", help="remove every stored update naming a user or chat")
    whom = forget.add_mutually_exclusive_group(required=True)
    whom.add_argument("--user-id", type=int, help="Telegram user id")
    whom.add_argument("--chat-id", type=int, help="Telegram chat id")
    forget.add_argument("--dry-run", action="store_true", help="only count what would go")
    forget.add_argument(
        "--yes", action="store_true", help="also erase updates not delivered yet (never sent)"
    )
    forget.set_defaults(handler=run_forget)


def subject_of(args: argparse.Namespace) -> Subject:
    if args.user_id is not None:
        return Subject("user", args.user_id)
    return Subject("chat", args.chat_id)


def run_forget(args: argparse.Namespace) -> int:
    from core.cli import settings_or_exit

    settings = settings_or_exit()
    subject = subject_of(args)
    try:
        store = open_store(
            settings.db, timeout=settings.store_timeout_seconds, tolerate_outage=False
        )
    except (StoreError, OSError) as exc:
        raise SystemExit(f"tgwebhook: cannot open the store {redact(settings.db)}: {exc}") from None
    try:
        key = settings.chat_key_hmac_key.reveal()
        return forget(store, subject, args.dry_run, args.yes, key)
    finally:
        store.close()


def forget(store, subject: Subject, dry_run: bool, yes: bool, key: str = "") -> int:
    """`key`: TGWEBHOOK_CHAT_KEY_HMAC_KEY, under which the chat key column was written."""
    stored_key = keyed(subject.key, key)
    found = store_privacy.find_rows(store, stored_key, lambda body: names(body, subject))
    print(
        f"{len(found.ids)} stored update(s) name this {subject.kind}: {found.bodies} with a body,"
        f" {found.waiting} not delivered yet"
    )
    if dry_run:
        print("dry run: nothing erased")
        return 0
    if found.waiting and not yes:
        print("not erased: updates not delivered yet would never reach the bot; add --yes")
        return 1
    removed = store_privacy.forget_rows(store, found, subject.kind, time.time())
    print(f"erased {removed} update(s); audit row written (no personal data)")
    return 0
