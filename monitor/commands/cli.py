"""Monitor commands: alerts, set-webhook, delete-webhook, info (doctor lives in doctor.py).

Readable (coloured on a TTY) by default, `--json` for scripts. Exit codes: 0 done, 1 the
Bot API or a check said no, 2 configuration or usage problem.
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
import time
from dataclasses import asdict
from typing import Any

from core.config import NoGeneratedSecret, Settings
from core.delivery_errors import advice, classify
from core.storage import ALERT_FIRING, StoreError, open_store
from core.telegram import TelegramError
from monitor.commands import doctor, tls, webhook
from monitor.commands.console import Console
from monitor.commands.webhook import client_for, selected_bots, setup_or_exit


def register(commands: argparse._SubParsersAction) -> None:
    alerts = commands.add_parser("alerts", help="alerts firing now and their history")
    alerts.add_argument("--limit", type=int, default=20, help="history rows (default 20)")
    add_common(alerts, run_alerts)
    setter = commands.add_parser("set-webhook", help="point Telegram at this appliance")
    setter.add_argument(
        "--drop-pending-updates", action="store_true", help="discard the updates Telegram holds"
    )
    setter.add_argument(
        "--certificate",
        metavar="FILE",
        help="upload this self-signed PEM certificate (default: TGWEBHOOK_TLS_CERT_FILE when "
        "self-signed)",
    )
    setter.add_argument(
        "--any-port", action="store_true", help="any port (a local Bot API server allows them)"
    )
    add_common(setter, run_set_webhook)
    deleter = commands.add_parser("delete-webhook", help="remove the webhook at Telegram")
    deleter.add_argument("--drop-pending-updates", action="store_true")
    add_common(deleter, run_delete_webhook)
    info = commands.add_parser("info", help="getWebhookInfo, explained")
    add_common(info, run_info)
    doctor.register(commands, add_common)
    tls.register(commands)


def add_common(parser: argparse.ArgumentParser, handler) -> None:
    parser.add_argument("--bot", help="one configured bot (default: all)")
    parser.add_argument("--json", action="store_true", help="machine-readable output")
    parser.set_defaults(handler=handler)


def when(timestamp: float | None) -> str:
    if not timestamp:
        return "-"
    return dt.datetime.fromtimestamp(timestamp, dt.UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


# -- info ---------------------------------------------------------------------------------
def describe(settings: Settings, bot: str, info: dict[str, Any], now: float) -> dict[str, Any]:
    """getWebhookInfo plus what it means: URL match, error class, advice, error age."""
    expected = webhook.webhook_url(settings, bot)
    date = info.get("last_error_date")
    kind = classify(info.get("last_error_message", "")) if date else "none"
    return {
        "bot": bot,
        **info,
        "expected_url": expected,
        "url_matches": bool(expected) and info.get("url") == expected,
        "last_error_age_seconds": round(now - date) if date else None,
        "error_class": kind,
        "advice": advice(info.get("last_error_message", "")) if date else advice(""),
    }


def show_info(out: Console, d: dict[str, Any]) -> None:
    url = d.get("url") or out.paint("(no webhook set)", "red")
    match = "" if not d["expected_url"] else out.status("ok" if d["url_matches"] else "fail")
    out.line(f"{out.paint(d['bot'], 'bold')}  {url}  {match}")
    if d["expected_url"] and not d["url_matches"]:
        out.field("expected url", d["expected_url"])
    out.field("pending updates", d.get("pending_update_count", 0))
    if d.get("last_error_date"):
        age = d["last_error_age_seconds"]
        out.field("last error", f"{when(d['last_error_date'])} ({age} s ago)")
        out.field("error message", d.get("last_error_message", ""))
        out.field("error class", out.paint(d["error_class"], "yellow"))
        out.field("advice", d["advice"])
        out.field("", out.paint("Telegram never clears the last error; its age matters", "dim"))
    else:
        out.field("last error", out.status("none"))
    out.field("max connections", d.get("max_connections", "-"))
    out.field("allowed updates", ", ".join(d.get("allowed_updates", [])) or "(default)")
    out.field("ip address", d.get("ip_address", "-"))
    out.field("custom certificate", "yes" if d.get("has_custom_certificate") else "no")
    if d.get("last_synchronization_error_date"):
        out.field("sync error", when(d["last_synchronization_error_date"]))


def run_info(args: argparse.Namespace) -> int:
    settings = setup_or_exit()
    out, results, code = Console(), [], 0
    for bot in selected_bots(settings, args.bot):
        try:
            info = client_for(settings, bot).get_webhook_info()
        except TelegramError as exc:
            results.append({"bot": bot, "error": str(exc)})
            code = 1
            continue
        results.append(describe(settings, bot, info, time.time()))
    if args.json:
        out.json(results)
        return code
    for result in results:
        if "error" in result:
            out.line(f"{out.paint(result['bot'], 'bold')}  {out.status('fail')} {result['error']}")
        else:
            show_info(out, result)
    return code


# -- set-webhook / delete-webhook -----------------------------------------------------------
def set_one(settings: Settings, bot: str, args: argparse.Namespace) -> dict[str, Any]:
    config = settings.bots[bot]
    url = webhook.webhook_url(settings, bot)
    if not url:
        raise TelegramError("no public URL: set TGWEBHOOK_PUBLIC_URL (https://host[:port])")
    # Before anything is generated or registered: Telegram would answer ok, then never deliver.
    webhook.check_port(config.public_url, args.any_port)
    certificate = webhook.certificate_to_upload(settings, bot, args.certificate)
    secret = config.secret_token
    result: dict[str, Any] = {"bot": bot, "url": url, "certificate_uploaded": bool(certificate)}
    if webhook.needs_generated_secret(config):
        generated = webhook.generate_secret(settings, bot)
        secret = generated.secret
        result |= {
            "secret_token_file": str(generated.path),
            "secret_created": generated.created,
            "next_step": webhook.how_to_configure(generated),
        }
    client = client_for(settings, bot)
    client.set_webhook(
        url,
        secret_token=secret,
        max_connections=config.max_connections,
        allowed_updates=config.allowed_updates,
        drop_pending_updates=args.drop_pending_updates,
        certificate=certificate,
    )
    result["webhook_info"] = describe(settings, bot, client.get_webhook_info(), time.time())
    return result


def run_set_webhook(args: argparse.Namespace) -> int:
    settings = setup_or_exit()
    out, code = Console(), 0
    for bot in selected_bots(settings, args.bot):
        try:
            result = set_one(settings, bot, args)
        except (TelegramError, OSError, NoGeneratedSecret) as exc:
            result, code = {"bot": bot, "error": str(exc)}, 1
        except webhook.Refused as exc:
            result, code = {"bot": bot, "error": str(exc)}, 2
        if args.json:
            out.json(result)
        elif "error" in result:
            out.line(
                f"{out.paint(bot, 'bold')}  {out.status('fail')} setWebhook: {result['error']}"
            )
        else:
            show_set(out, result)
    return code


def show_set(out: Console, result: dict[str, Any]) -> None:
    out.line(f"{out.status('ok')} webhook of {result['bot']} set to {result['url']}")
    if result["certificate_uploaded"]:
        out.line("  self-signed certificate uploaded (Telegram trusts it for this webhook only)")
    if "secret_token_file" in result:
        verb = "generated" if result["secret_created"] else "reused"
        out.line(f"  secret token {verb} in {result['secret_token_file']} (mode 0600)")
        out.line("  " + out.paint(f"next: {result['next_step']}", "yellow"))
    show_info(out, result["webhook_info"])


def run_delete_webhook(args: argparse.Namespace) -> int:
    settings = setup_or_exit()
    out, code = Console(), 0
    for bot in selected_bots(settings, args.bot):
        try:
            client_for(settings, bot).delete_webhook(args.drop_pending_updates)
            result = {"bot": bot, "deleted": True}
        except TelegramError as exc:
            result, code = {"bot": bot, "deleted": False, "error": str(exc)}, 1
        if args.json:
            out.json(result)
        else:
            word = out.status("ok") if result["deleted"] else out.status("fail")
            out.line(f"{word} delete webhook of {bot} {result.get('error', '')}".rstrip())
    return code


# -- alerts -------------------------------------------------------------------------------
def run_alerts(args: argparse.Namespace) -> int:
    settings = setup_or_exit()
    bot = selected_bots(settings, args.bot)[0] if args.bot else None
    try:
        store = open_store(settings.db, timeout=settings.store_timeout_seconds)
        firing = [s for s in store.alert_states(bot) if s.state == ALERT_FIRING]
        history = store.alert_history(bot, args.limit)
        sends = store.notification_states([t.id for t in history if t.id is not None])
    except StoreError as exc:
        print(f"tgwebhook: {exc}", file=sys.stderr)
        return 2
    out = Console()
    if args.json:
        rows = [
            asdict(t)
            | {
                "notifications": [
                    dict(zip(("channel", "state", "attempts", "last_error"), n, strict=True))
                    for n in sends.get(t.id or 0, [])
                ]
            }
            for t in history
        ]
        out.json({"firing": [asdict(s) for s in firing], "history": rows})
        return 0
    out.line(out.paint(f"Firing now: {len(firing)}", "bold"))
    for s in firing:
        out.line(f"  {out.status(s.severity, 8)} {s.bot}/{s.alert} since {when(s.changed_at)}")
        out.line(f"           {s.summary}")
    out.line(out.paint(f"\nHistory (newest first, {len(history)} shown)", "bold"))
    for t in history:
        word = "resolved" if t.kind == "resolve" else t.kind if t.kind == "repeat" else "firing"
        channels = (
            " ".join(f"{ch}:{state}" for ch, state, *_ in sends.get(t.id or 0, [])) or "no channels"
        )
        out.line(f"  {when(t.at)}  {out.status(word, 8)} {t.bot}/{t.alert} [{t.severity}]")
        out.line(f"      {t.summary}  {out.paint(channels, 'dim')}")
    return 0
