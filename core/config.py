"""Settings: declared once as data (core/settings_table.py), parsed once, strictly, with every
problem reported at once.

Each setting is read from ``TGWEBHOOK_<NAME>``; secrets also from ``TGWEBHOOK_<NAME>_FILE``.
Multi-bot deployments describe bots in a TOML file named by ``TGWEBHOOK_CONFIG``. A bot
without a configured secret uses the one `python app.py set-webhook` generated into a 0600
file next to a SQLite store; that file is owned here, end to end.
"""

from __future__ import annotations

import os
import re
import secrets
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from core.listeners import check_listeners, ops_listen_of
from core.secret import Secret
from core.settings_table import SETTINGS, BotConfig, Setting, Settings
from core.storage import sqlite_path
from core.tls import check_tls

__all__ = [
    "BotConfig",
    "ConfigError",
    "GeneratedSecret",
    "NoGeneratedSecret",
    "Secret",
    "Settings",
    "ensure_generated_secret",
    "generated_secret_path",
    "load_settings",
]

PREFIX = "TGWEBHOOK_"
BOT_NAME = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
SECRET_TOKEN = re.compile(r"^[A-Za-z0-9_-]{1,256}$")
# What @BotFather issues is <bot id>:<key>; the key's length and alphabet are Telegram's
# business (test and local Bot API servers differ), but it is part of every Bot API URL.
BOT_TOKEN = re.compile(r"^\d+:[^\s/]+$")
BOT_SETTINGS = tuple(s for s in SETTINGS if s.per_bot)
# Keys of a [bots.<name>] table: the per-bot settings; insecure mode stays deployment-wide.
BOT_KEYS = {s.attr for s in BOT_SETTINGS} - {"insecure_no_secret"}
SECRET_ALPHABET = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-")


class ConfigError(Exception):
    """All configuration problems found, one per line, each naming its variable."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("invalid configuration:\n  - " + "\n  - ".join(problems))


def load_settings(
    environ: Mapping[str, str] | None = None, *, require_secrets: bool = True
) -> Settings:
    """Build Settings from the environment (and the TOML file it names); raise ConfigError.

    `require_secrets=False` is for set-webhook, which is how a bot gets its secret: a bot
    without one (and without insecure mode) is then left with an empty secret.
    """
    env = dict(os.environ if environ is None else environ)
    problems: list[str] = []
    file_values, file_bots = read_config_file(env.get(PREFIX + "CONFIG", ""), problems)
    values = {s.name: read_setting(s, env, file_values, problems) for s in SETTINGS}
    single = BotConfig(name="default", **{s.attr: values[s.name] for s in BOT_SETTINGS})
    bots = {name: with_shared(bot, single) for name, bot in file_bots.items()}
    bots = with_generated_secrets(bots or {"default": single}, values["db"], problems)
    check_bots(bots, problems, require_secrets)
    ops_listen = ops_listen_of(values["listen"], values["ops_listen"])
    check_listeners(values, ops_listen, problems)
    check_tls(values["tls_cert_file"], values["tls_key_file"], problems)
    if problems:
        raise ConfigError(problems)
    shared = {s.attr: values[s.name] for s in SETTINGS if not s.per_bot}
    return Settings(bots=bots, **shared)


def with_shared(bot: BotConfig, single: BotConfig) -> BotConfig:
    """A TOML bot takes what the variables say for every bot: the public base URL (each bot
    is called at <base>/webhook/<name>) unless it has its own, and insecure mode."""
    public_url = bot.public_url or single.public_url
    return replace(bot, public_url=public_url, insecure_no_secret=single.insecure_no_secret)


def read_setting(
    setting: Setting, env: Mapping[str, str], file_values: Mapping[str, Any], problems: list[str]
) -> Any:
    var = PREFIX + setting.name.upper()
    raw: Any = env.get(var)
    if setting.secret and raw is None and env.get(var + "_FILE"):
        raw = read_secret_file(env[var + "_FILE"], var + "_FILE", problems)
    if raw is None:
        raw = file_values.get(setting.name)
    return typed_value(setting, raw, var, problems)


def typed_value(setting: Setting, raw: Any, where: str, problems: list[str]) -> Any:
    """`raw` (None: the default) converted and checked; a secret comes back wrapped."""
    value = default_of(setting) if raw is None else convert(setting, raw, where, problems)
    if setting.check and value is not None:
        message = setting.check(value)
        if message:
            problems.append(f"{where}: {message}")
    return Secret(value) if setting.secret else value


def default_of(setting: Setting) -> Any:
    return setting.default() if callable(setting.default) else setting.default


def convert(setting: Setting, raw: Any, var: str, problems: list[str]) -> Any:
    try:
        return CONVERTERS[setting.type](raw)
    except (TypeError, ValueError) as exc:
        shown = "<hidden>" if setting.secret else repr(raw)
        problems.append(f"{var}: expected {setting.type}, got {shown} ({exc})")
        return default_of(setting)


def to_bool(raw: Any) -> bool:
    if isinstance(raw, bool):
        return raw
    text = str(raw).strip().lower()
    if text in {"1", "true", "yes", "on"}:
        return True
    if text in {"0", "false", "no", "off", ""}:
        return False
    raise ValueError("use true or false")


def to_list(raw: Any) -> tuple[str, ...]:
    if isinstance(raw, list | tuple):
        return tuple(str(item).strip() for item in raw if str(item).strip())
    return tuple(item.strip() for item in str(raw).split(",") if item.strip())


CONVERTERS: dict[str, Callable[[Any], Any]] = {
    "str": lambda raw: str(raw).strip(),
    "int": lambda raw: int(str(raw).strip()),
    "float": lambda raw: float(str(raw).strip()),
    "bool": to_bool,
    "list": to_list,
}


def read_secret_file(path: str | Path, var: str, problems: list[str]) -> str | None:
    try:
        with open(path, encoding="utf-8") as handle:
            return handle.read().strip()
    except OSError as exc:
        problems.append(f"{var}: cannot read {str(path)!r}: {exc.strerror}")
        return None


class NoGeneratedSecret(Exception):
    """A shared (PostgreSQL) store gets no generated secret: its replicas need the same one."""

    def __init__(self) -> None:
        super().__init__(
            "no secret token configured; with a shared PostgreSQL store every replica needs the "
            "same one, so generate it yourself and give it to all of them as "
            "TGWEBHOOK_SECRET_TOKEN_FILE (or secret_token_file in the TOML file)"
        )


@dataclass(frozen=True)
class GeneratedSecret:
    path: Path
    secret: Secret
    created: bool  # False: the secret an earlier set-webhook generated, reused


def generated_secret_path(db: str, bot: str) -> Path:
    """Where set-webhook keeps the secret it generates for `bot`: next to a SQLite store.
    Raises NoGeneratedSecret for a shared (PostgreSQL) store."""
    path = sqlite_path(db)
    if path is None:
        raise NoGeneratedSecret()
    return Path(path).resolve().parent / f"secret_token.{bot}"


def ensure_generated_secret(db: str, bot: str) -> GeneratedSecret:
    """The bot's generated secret, created (mode 0600) when absent or invalid. Raises
    NoGeneratedSecret for a shared store, OSError when the file cannot be written."""
    path = generated_secret_path(db, bot)
    try:
        value = path.read_text().strip()
    except FileNotFoundError:
        value = ""
    if SECRET_TOKEN.match(value):
        return GeneratedSecret(path, Secret(value), created=False)
    value = new_secret()
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(value + "\n")
    os.chmod(path, 0o600)  # O_CREAT's mode does not apply to an existing file
    return GeneratedSecret(path, Secret(value), created=True)


def new_secret() -> str:
    # token_urlsafe already uses Telegram's alphabet; filter anyway, the header is strict.
    return "".join(c for c in secrets.token_urlsafe(32) if c in SECRET_ALPHABET)


def with_generated_secrets(
    bots: Mapping[str, BotConfig], db: str, problems: list[str]
) -> dict[str, BotConfig]:
    """A bot configured without a secret uses the one set-webhook generated, if any."""
    filled = {}
    for name, bot in bots.items():
        if not bot.secret_token:
            found = read_generated_secret(db, name, problems)
            bot = replace(bot, secret_token=found) if found else bot
        filled[name] = bot
    return filled


def read_generated_secret(db: str, bot: str, problems: list[str]) -> Secret | None:
    try:
        path = generated_secret_path(db, bot)
    except NoGeneratedSecret:
        return None
    if not path.is_file():
        return None
    return Secret(read_secret_file(path, f"generated secret of bot {bot!r}", problems) or "")


def read_config_file(path: str, problems: list[str]) -> tuple[dict[str, Any], dict[str, BotConfig]]:
    """Read the optional TOML file: top-level keys are settings, [bots.<name>] tables are bots."""
    if not path:
        return {}, {}
    try:
        with open(path, "rb") as handle:
            data = tomllib.load(handle)
    except OSError as exc:
        problems.append(f"{PREFIX}CONFIG: cannot read {path!r}: {exc.strerror}")
        return {}, {}
    except tomllib.TOMLDecodeError as exc:
        problems.append(f"{PREFIX}CONFIG: {path!r} is not valid TOML: {exc}")
        return {}, {}
    known = {s.name for s in SETTINGS}
    for key in data:
        if key != "bots" and key not in known:
            problems.append(f"{PREFIX}CONFIG: unknown setting {key!r} in {path!r}")
    bots = {}
    for name, table in (data.get("bots") or {}).items():
        bots[name] = bot_from_table(name, table, problems)
    return {k: v for k, v in data.items() if k != "bots"}, bots


def bot_from_table(name: str, table: Any, problems: list[str]) -> BotConfig:
    where = f"{PREFIX}CONFIG [bots.{name}]"
    if not isinstance(table, dict):
        problems.append(f"{where}: must be a table")
        return BotConfig(name=name)
    for key in table:
        if key.removesuffix("_file") not in BOT_KEYS:
            problems.append(f"{where}: unknown key {key!r}")
    values = {
        s.attr: bot_value(s, table, where, problems) for s in BOT_SETTINGS if s.attr in BOT_KEYS
    }
    return BotConfig(name=name, **values)


def bot_value(setting: Setting, table: Mapping[str, Any], where: str, problems: list[str]) -> Any:
    key = setting.attr
    raw = table.get(key)
    if setting.secret and raw is None and table.get(key + "_file"):
        raw = read_secret_file(table[key + "_file"], f"{where} {key}_file", problems)
    return typed_value(setting, raw, f"{where} {key}", problems)


def check_bots(bots: Mapping[str, BotConfig], problems: list[str], require_secrets: bool) -> None:
    for name, bot in bots.items():
        where = f"bot {name!r}" if name != "default" else PREFIX + "SECRET_TOKEN"
        if not BOT_NAME.match(name):
            problems.append(f"bot {name!r}: name must be 1-64 chars of A-Za-z0-9_-")
        secret = bot.secret_token.reveal()
        if secret and not SECRET_TOKEN.match(secret):
            problems.append(f"{where}: secret token must be 1-256 chars of A-Za-z0-9_- (Telegram)")
        if not secret and not bot.insecure_no_secret and require_secrets:
            problems.append(
                f"{where}: no secret token; set one (see `python app.py set-webhook`) or set "
                f"{PREFIX}INSECURE_NO_SECRET=true to accept unauthenticated updates"
            )
        token = bot.token.reveal()
        if token and not BOT_TOKEN.match(token):
            problems.append(
                f"bot {name!r}: bot token must be <digits>:<key> with a key of no spaces or '/' "
                "(as @BotFather gives it; it is part of every Bot API URL)"
            )
        if not 1 <= bot.max_connections <= 100:
            problems.append(f"bot {name!r}: max_connections must be 1..100 (Telegram)")
