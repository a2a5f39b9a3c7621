"""Settings: declared once as data, parsed once, strictly, with every problem reported at once.

Each setting is read from ``TGWEBHOOK_<NAME>``; secrets also from ``TGWEBHOOK_<NAME>_FILE``.
Multi-bot deployments describe bots in a TOML file named by ``TGWEBHOOK_CONFIG``.
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from core.settings_table import SETTINGS, Setting
from core.storage import sqlite_path

PREFIX = "TGWEBHOOK_"
BOT_NAME = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
SECRET_TOKEN = re.compile(r"^[A-Za-z0-9_-]{1,256}$")
BOT_TOKEN = re.compile(r"^\d+:[A-Za-z0-9_-]{20,}$")
BOT_KEYS = {
    "token",
    "secret_token",
    "forward_url",
    "forward_secret_token",
    "public_url",
    "max_connections",
    "allowed_updates",
}


class ConfigError(Exception):
    """All configuration problems found, one per line, each naming its variable."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("invalid configuration:\n  - " + "\n  - ".join(problems))


class Secret:
    """A string that never shows itself in repr, str, logs or tracebacks."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __bool__(self) -> bool:
        return bool(self._value)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)

    def __repr__(self) -> str:
        return "Secret('***')" if self._value else "Secret('')"

    __str__ = __repr__


@dataclass(frozen=True)
class BotConfig:
    name: str
    token: Secret = field(default_factory=lambda: Secret(""))
    secret_token: Secret = field(default_factory=lambda: Secret(""))
    forward_url: str = ""
    forward_secret_token: Secret = field(default_factory=lambda: Secret(""))
    public_url: str = ""
    max_connections: int = 40
    allowed_updates: tuple[str, ...] = ()


@dataclass(frozen=True)
class Settings:
    """Global settings (attribute per declared setting, lower-case) plus the bots."""

    values: Mapping[str, Any]
    bots: Mapping[str, BotConfig]

    def __getattr__(self, name: str) -> Any:
        try:
            return self.values[name]
        except KeyError:
            raise AttributeError(name) from None

    def replace(self, **changes: Any) -> Settings:
        bots = changes.pop("bots", self.bots)
        return Settings(values={**self.values, **changes}, bots=bots)


def load_settings(environ: Mapping[str, str] | None = None) -> Settings:
    """Build Settings from the environment (and the TOML file it names); raise ConfigError."""
    env = dict(os.environ if environ is None else environ)
    problems: list[str] = []
    file_values, file_bots = read_config_file(env.get(PREFIX + "CONFIG", ""), problems)
    values = {s.name: read_setting(s, env, file_values, problems) for s in SETTINGS}
    bots = file_bots if file_bots else {"default": single_bot(values)}
    bots = with_generated_secrets(bots, values["db"], problems)
    check_bots(bots, values, problems)
    if problems:
        raise ConfigError(problems)
    return Settings(values=values, bots=bots)


def read_setting(
    setting: Setting, env: Mapping[str, str], file_values: Mapping[str, Any], problems: list[str]
) -> Any:
    var = PREFIX + setting.name.upper()
    raw: Any = env.get(var)
    if setting.secret and raw is None and env.get(var + "_FILE"):
        raw = read_secret_file(env[var + "_FILE"], var + "_FILE", problems)
    if raw is None:
        raw = file_values.get(setting.name)
    if raw is None:
        value = setting.default() if callable(setting.default) else setting.default
    else:
        value = convert(setting, raw, var, problems)
    if setting.check and value is not None:
        message = setting.check(value)
        if message:
            problems.append(f"{var}: {message}")
    return Secret(value) if setting.secret else value


def convert(setting: Setting, raw: Any, var: str, problems: list[str]) -> Any:
    try:
        return CONVERTERS[setting.type](raw)
    except (TypeError, ValueError) as exc:
        shown = "<hidden>" if setting.secret else repr(raw)
        problems.append(f"{var}: expected {setting.type}, got {shown} ({exc})")
        return setting.default() if callable(setting.default) else setting.default


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


def read_secret_file(path: str, var: str, problems: list[str]) -> str | None:
    try:
        with open(path, encoding="utf-8") as handle:
            return handle.read().strip()
    except OSError as exc:
        problems.append(f"{var}: cannot read {path!r}: {exc.strerror}")
        return None


def generated_secret_path(db: str, bot: str) -> Path | None:
    """Where `set-webhook` keeps a secret it generated: next to a SQLite store. None for a
    shared (PostgreSQL) store, whose replicas must all be given the same secret."""
    path = sqlite_path(db)
    return None if path is None else Path(path).resolve().parent / f"secret_token.{bot}"


def with_generated_secrets(
    bots: Mapping[str, BotConfig], db: str, problems: list[str]
) -> dict[str, BotConfig]:
    """A bot configured without a secret uses the one `set-webhook` generated, if any."""
    filled = {}
    for name, bot in bots.items():
        path = None if bot.secret_token else generated_secret_path(db, name)
        if path is not None and path.is_file():
            value = read_secret_file(str(path), f"generated secret of bot {name!r}", problems)
            bot = replace(bot, secret_token=Secret(value or ""))
        filled[name] = bot
    return filled


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
    fields: dict[str, Any] = {"name": name}
    for key in ("token", "secret_token", "forward_secret_token"):
        value = table.get(key)
        if value is None and table.get(key + "_file"):
            value = read_secret_file(table[key + "_file"], f"{where} {key}_file", problems)
        fields[key] = Secret(str(value or ""))
    for key in ("forward_url", "public_url"):
        fields[key] = str(table.get(key, ""))
    try:
        fields["max_connections"] = int(table.get("max_connections", 40))
    except (TypeError, ValueError):
        problems.append(f"{where}: max_connections must be an integer")
    fields["allowed_updates"] = to_list(table.get("allowed_updates", ()))
    return BotConfig(**fields)


def single_bot(values: Mapping[str, Any]) -> BotConfig:
    return BotConfig(
        name="default",
        token=values["bot_token"],
        secret_token=values["secret_token"],
        forward_url=values["forward_url"],
        forward_secret_token=values["forward_secret_token"],
        public_url=values["public_url"],
        max_connections=values["max_connections"],
        allowed_updates=values["allowed_updates"],
    )


def check_bots(bots: Mapping[str, BotConfig], values: Mapping[str, Any], problems: list[str]):
    for name, bot in bots.items():
        where = f"bot {name!r}" if name != "default" else PREFIX + "SECRET_TOKEN"
        if not BOT_NAME.match(name):
            problems.append(f"bot {name!r}: name must be 1-64 chars of A-Za-z0-9_-")
        secret = bot.secret_token.reveal()
        if secret and not SECRET_TOKEN.match(secret):
            problems.append(f"{where}: secret token must be 1-256 chars of A-Za-z0-9_- (Telegram)")
        if not secret and not values["insecure_no_secret"]:
            problems.append(
                f"{where}: no secret token; set one (see `python app.py set-webhook`) or set "
                f"{PREFIX}INSECURE_NO_SECRET=true to accept unauthenticated updates"
            )
        token = bot.token.reveal()
        if token and not BOT_TOKEN.match(token):
            problems.append(f"bot {name!r}: bot token does not look like <digits>:<key>")
        if not 1 <= bot.max_connections <= 100:
            problems.append(f"bot {name!r}: max_connections must be 1..100 (Telegram)")
