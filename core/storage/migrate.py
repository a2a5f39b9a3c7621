"""`python app.py migrate-store --from URL --to URL`: move an appliance's data between stores.

Typical use when scaling out: stop the appliance, copy its SQLite file into PostgreSQL, point
every replica's TGWEBHOOK_DB at PostgreSQL, start them (docs/scaling.md). Safe to re-run.
"""

from __future__ import annotations

import argparse
import sys

from core.storage import StoreError, open_store
from core.storage.copy import copy_store


def register(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser(
        "migrate-store",
        help="copy updates and alert state between stores (e.g. SQLite to PostgreSQL); idempotent",
    )
    parser.add_argument(
        "--from",
        dest="source",
        required=True,
        metavar="URL",
        help="source store: sqlite:///path, a path, or postgresql://...",
    )
    parser.add_argument(
        "--to",
        dest="target",
        required=True,
        metavar="URL",
        help="target store (created and migrated if empty)",
    )
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    if args.source == args.target:
        print("migrate-store: --from and --to name the same store", file=sys.stderr)
        return 2
    try:
        source = open_store(args.source, timeout=30, tolerate_outage=False)
        target = open_store(args.target, timeout=30, tolerate_outage=False)
    except (StoreError, OSError) as exc:
        print(f"migrate-store: cannot open a store: {exc}", file=sys.stderr)
        return 2
    try:
        copied = copy_store(source, target)
    except StoreError as exc:
        print(f"migrate-store: copy failed (re-run to resume): {exc}", file=sys.stderr)
        return 1
    finally:
        source.close()
        target.close()
    for table, count in copied.items():
        print(f"{table:20} {count} rows copied")
    return 0
