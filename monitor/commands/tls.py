"""`python app.py tls self-signed --host HOST`: a key and a self-signed certificate for a
server reached by IP address or by a name without a public CA, ready for `serve` and for
`set-webhook --certificate` (Telegram trusts a self-signed certificate only when uploaded)."""

from __future__ import annotations

import argparse
import datetime as dt
import os
import sys
from pathlib import Path

from core.certificates import self_signed

DEFAULT_DAYS = 365


def register(commands: argparse._SubParsersAction) -> None:
    tls = commands.add_parser("tls", help="TLS certificates for the public listener")
    kinds = tls.add_subparsers(dest="tls_command", required=True, metavar="KIND")
    made = kinds.add_parser("self-signed", help="write a key and a self-signed certificate")
    made.add_argument("--host", required=True, help="the IP address or name of PUBLIC_URL")
    made.add_argument("--days", type=int, default=DEFAULT_DAYS, help="validity (default 365)")
    made.add_argument("--out", default="data/tls", help="folder (default data/tls)")
    made.add_argument("--force", action="store_true", help="replace existing files")
    made.set_defaults(handler=run_self_signed)


def run_self_signed(args: argparse.Namespace) -> int:
    out = Path(args.out)
    cert_file, key_file = out / "cert.pem", out / "key.pem"
    if args.days < 1:
        print("tgwebhook: --days must be at least 1", file=sys.stderr)
        return 2
    existing = [str(p) for p in (cert_file, key_file) if p.exists()]
    if existing and not args.force:
        print(f"tgwebhook: {', '.join(existing)} already there; --force replaces", file=sys.stderr)
        return 2
    pair = self_signed(args.host, args.days, dt.datetime.now(dt.UTC))
    out.mkdir(parents=True, exist_ok=True)
    write_private(key_file, pair.key_pem)
    cert_file.write_bytes(pair.cert_pem)
    print(next_steps(args.host, cert_file.resolve(), key_file.resolve(), args.days))
    return 0


def write_private(path: Path, data: bytes) -> None:
    """Mode 0600 from the first byte: the key is never readable by others, even briefly."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
    os.chmod(path, 0o600)  # O_CREAT's mode does not apply to a file that existed


def next_steps(host: str, cert_file: Path, key_file: Path, days: int) -> str:
    return "\n".join(
        (
            f"wrote {cert_file} (for {host}, {days} days) and {key_file} (mode 0600)",
            "next:",
            f"  export TGWEBHOOK_TLS_CERT_FILE={cert_file}",
            f"  export TGWEBHOOK_TLS_KEY_FILE={key_file}",
            f"  export TGWEBHOOK_PUBLIC_URL=https://{host}:8443   # or 443, 80, 88",
            "  export TGWEBHOOK_LISTEN=0.0.0.0:8443",
            "  python app.py serve",
            f"  python app.py set-webhook --certificate {cert_file}   # uploads it to Telegram",
        )
    )
