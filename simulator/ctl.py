"""CLI for a running simulator's admin API: faults, flood model, revoked tokens, updates, traffic.

    python -m simulator.ctl [--url http://127.0.0.1:8081] COMMAND ...

Every command prints the admin API's answer as JSON and exits 0; a refused request prints the
reason on stderr and exits 1, an unreachable simulator exits 2.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from dataclasses import fields
from typing import Any

from simulator.admin_client import AdminClient, AdminError
from simulator.flood import FloodLimits

Action = Callable[[AdminClient, argparse.Namespace], Any]
FAULT_FIELDS = ("token", "error_code", "description", "retry_after", "delay", "times")
LIMIT_FIELDS = tuple(f.name for f in fields(FloodLimits) if f.name != "enabled")


def add_fault(admin: AdminClient, args: argparse.Namespace) -> Any:
    fields = {name: getattr(args, name) for name in FAULT_FIELDS}
    if args.disconnect:
        fields["disconnect"] = True
    return admin.add_fault(args.method, **{k: v for k, v in fields.items() if v is not None})


def inject(admin: AdminClient, args: argparse.Namespace) -> Any:
    spec = {"text": args.text, "chat_id": args.chat_id}
    return admin.inject(args.token, *[dict(spec) for _ in range(args.count)])


def revoke(admin: AdminClient, args: argparse.Namespace) -> Any:
    admin.revoke(args.token)
    return {"revoked": args.token}


def unrevoke(admin: AdminClient, args: argparse.Namespace) -> Any:
    admin.unrevoke(args.token)
    return {"unrevoked": args.token}


def enable_flood(admin: AdminClient, args: argparse.Namespace) -> Any:
    limits = {name: getattr(args, name) for name in LIMIT_FIELDS}
    limits = {k: v for k, v in limits.items() if v is not None}
    return admin.enable_flood(args.token, not args.off, **limits)


def force_flood(admin: AdminClient, args: argparse.Namespace) -> Any:
    return admin.force_flood(args.token, args.chat_id, args.retry_after, args.method, args.times)


ACTIONS: dict[str, Action] = {
    "flood": lambda admin, args: admin.flood(args.token),
    "enable-flood": enable_flood,
    "force-flood": force_flood,
    "fault": add_fault,
    "faults": lambda admin, args: admin.faults(),
    "clear-faults": lambda admin, args: admin.clear_faults(args.token),
    "revoke": revoke,
    "unrevoke": unrevoke,
    "inject": inject,
    "traffic": lambda admin, args: admin.start_traffic(
        args.token, args.rate, args.chats, args.duplicates
    ),
    "stop-traffic": lambda admin, args: admin.stop_traffic(args.token),
    "webhook-info": lambda admin, args: admin.webhook_info(args.token),
}


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m simulator.ctl", description=__doc__.split("\n")[0])
    p.add_argument("--url", default="http://127.0.0.1:8081", help="the simulator's base URL")
    sub = p.add_subparsers(dest="command", required=True)
    fault = sub.add_parser("fault", help="make Bot API calls fail, e.g. 429 on sendMessage")
    fault.add_argument("method", help="Bot API method (case-insensitive), * for all")
    fault.add_argument("--token", help="only this bot (default: every bot)")
    fault.add_argument("--error-code", type=int, help="answer this error (400..599)")
    fault.add_argument("--description", help="error text (default: Telegram's)")
    fault.add_argument("--retry-after", type=int, help="parameters.retry_after, for 429")
    fault.add_argument("--delay", type=float, help="answer this many seconds late")
    fault.add_argument("--times", type=int, help="only the next N calls (default: until cleared)")
    fault.add_argument("--disconnect", action="store_true", help="drop the connection instead")
    sub.add_parser("faults", help="list the active faults")
    sub.add_parser("clear-faults", help="remove faults").add_argument("--token")
    for name, text in (
        ("revoke", "calls with TOKEN get 401 Unauthorized, like a revoked token"),
        ("unrevoke", "undo revoke"),
        ("webhook-info", "getWebhookInfo of TOKEN"),
    ):
        sub.add_parser(name, help=text).add_argument("token")
    stop = sub.add_parser("stop-traffic", help="stop the traffic generator")
    stop.add_argument("token", nargs="?", help="only this bot's (default: all)")
    inject_ = sub.add_parser("inject", help="queue message updates for TOKEN")
    inject_.add_argument("token")
    inject_.add_argument("--text", default="hi")
    inject_.add_argument("--chat-id", type=int, default=1)
    inject_.add_argument("--count", type=int, default=1)
    traffic = sub.add_parser("traffic", help="generate updates of realistic types for TOKEN")
    traffic.add_argument("token")
    traffic.add_argument("--rate", type=float, required=True, help="updates per second")
    traffic.add_argument("--chats", type=int, default=10)
    traffic.add_argument("--duplicates", type=float, default=0.0, help="share re-delivered")
    add_flood_commands(sub)
    return p


def add_flood_commands(sub: Any) -> None:
    flood = sub.add_parser("enable-flood", help="turn on Telegram's flood limits for TOKEN")
    flood.add_argument("token")
    flood.add_argument("--off", action="store_true", help="turn the model off instead")
    for name in LIMIT_FIELDS:
        kind = int if name.endswith("burst") else float
        default = getattr(FloodLimits(), name)
        flood.add_argument(f"--{name.replace('_', '-')}", type=kind, help=f"default {default}")
    force = sub.add_parser("force-flood", help="the next send(s) to a chat answer 429")
    force.add_argument("token")
    force.add_argument("--chat-id", required=True)
    force.add_argument("--retry-after", type=int, default=1)
    force.add_argument("--method", help="only this method (default: any send)")
    force.add_argument("--times", type=int, default=1)
    sub.add_parser("flood", help="the flood model's counters and penalties").add_argument("token")


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    admin = AdminClient(args.url)
    try:
        result = ACTIONS[args.command](admin, args)
    except AdminError as exc:
        print(f"simulator refused: {exc}", file=sys.stderr)
        return 1
    except OSError as exc:  # urllib's URLError is one
        print(f"cannot reach the simulator at {args.url}: {exc}", file=sys.stderr)
        return 2
    print(json.dumps(result, indent=2, sort_keys=True))
    return 0


if __name__ == "__main__":
    sys.exit(main())
