"""Load the TOML configuration into frozen dataclasses; every mistake names its key and the fix."""

from __future__ import annotations

import os
import re
import tomllib
import unicodedata
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields, replace
from datetime import timedelta
from pathlib import Path
from typing import Any

from anti_relous.errors import AntiRelousError
from anti_relous.numbers import normalise

DEFAULT_CONFIG_PATH = Path("/etc/anti-relous/config.toml")
CONFIG_ENV_VAR = "ANTI_RELOUS_CONFIG"

DEFAULT_REPLY = (
    "Ce numéro est un numéro anti-relous : la personne qui vous l'a donné ne voulait pas vous "
    "donner le sien. Insister, suivre, commenter le physique ou insulter une femme dans la rue, "
    "c'est du harcèlement de rue, puni par la loi (outrage sexiste et sexuel). "
    "Message automatique."
)

_DURATION_PART = re.compile(r"(\d+)([smhdw])")
_DURATION = re.compile(r"(?:\d+[smhdw])+")
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}
_LOG_LEVELS = ("debug", "info", "warning", "error")


class ConfigError(AntiRelousError):
    """The configuration cannot be used; the message names the file, the key and what to write."""

    exit_code = 2

    def __init__(self, message: str, *, key: str | None = None, source: str | None = None):
        self.key = key
        self.source = source
        # "quota.replies_per_day" reads as "[quota] replies_per_day", as the file spells it.
        section, _, name = (key or "").partition(".")
        spelled = f"[{section}] {name}".strip() if key else None
        where = ": ".join(part for part in (source, spelled) if part)
        super().__init__(f"{where}: {message}" if where else message)


def parse_duration(text: str) -> timedelta:
    """Parse ``"90s"``, ``"10m"``, ``"24h"``, ``"7d"``, ``"2w"`` or a sum like ``"1h30m"``.

    Raises ValueError with the accepted forms when ``text`` is not one of them.
    """
    compact = text.strip().lower()
    if compact == "0":
        return timedelta(0)
    if not _DURATION.fullmatch(compact):
        raise ValueError(
            f'{text!r} is not a duration; write a number and a unit, e.g. "90s", "10m", '
            '"24h", "7d" or "1h30m"'
        )
    seconds = sum(int(n) * _UNIT_SECONDS[unit] for n, unit in _DURATION_PART.findall(compact))
    return timedelta(seconds=seconds)


def format_duration(delta: timedelta) -> str:
    """The shortest string ``parse_duration`` reads back as ``delta``: 86400 s -> ``"1d"``."""
    seconds = int(delta.total_seconds())
    if seconds == 0:
        return "0s"
    parts = []
    for unit in ("d", "h", "m", "s"):
        count, seconds = divmod(seconds, _UNIT_SECONDS[unit])
        if count:
            parts.append(f"{count}{unit}")
    return "".join(parts)


# Each field's metadata["check"] turns the TOML value into the typed value or raises ValueError
# with the expectation; the loader adds the key and the file.
Check = Callable[[Any], Any]


def _opt(default: Any, check: Check) -> Any:
    if isinstance(default, list | tuple):
        return field(default=tuple(default), metadata={"check": check})
    return field(default=default, metadata={"check": check})


def _text(value: Any) -> str:
    if not isinstance(value, str):
        raise ValueError(f"expected a string in quotes, got {value!r}")
    return value


def _non_empty_text(value: Any) -> str:
    text = _text(value)
    if not text.strip():
        raise ValueError("must not be empty")
    return text


def _reply_text(value: Any) -> str:
    text = _non_empty_text(value)
    # Control characters do not survive every phone (or gammu's UCS-2 decoder) intact.
    bad = sorted({c for c in text if unicodedata.category(c) == "Cc" and c not in "\n\r"})
    if bad:
        raise ValueError(f"contains control characters {bad}; use plain text and line breaks")
    return text


def _whole(minimum: int) -> Check:
    def check(value: Any) -> int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ValueError(f"expected a whole number >= {minimum}, got {value!r}")
        if value < minimum:
            raise ValueError(f"expected a whole number >= {minimum}, got {value}")
        return value

    return check


def _price(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
        raise ValueError(f"expected a price >= 0 such as 0.16, got {value!r}")
    return float(value)


def _flag(value: Any) -> bool:
    if not isinstance(value, bool):
        raise ValueError(f"expected true or false, got {value!r}")
    return value


def _duration(*, allow_zero: bool = False) -> Check:
    def check(value: Any) -> timedelta:
        delta = parse_duration(_text(value))
        if delta <= timedelta(0) and not allow_zero:
            raise ValueError(f'expected a duration above zero such as "10m", got {value!r}')
        return delta

    return check


def _choice(*allowed: str) -> Check:
    def check(value: Any) -> str:
        if value not in allowed:
            raise ValueError(f"expected one of {', '.join(map(repr, allowed))}, got {value!r}")
        return str(value)

    return check


def _pin(value: Any) -> str:
    pin = _text(value)
    if pin and not re.fullmatch(r"\d{4,8}", pin):
        raise ValueError('a SIM PIN is 4 to 8 digits in quotes, e.g. "1234", or "" for none')
    return pin


def _regions(value: Any) -> tuple[str, ...]:
    if not isinstance(value, list) or not value:
        raise ValueError('expected a non-empty list of region codes such as ["FR"]')
    import phonenumbers  # on first use: see numbers.py

    regions = []
    for item in value:
        code = item.upper() if isinstance(item, str) else item
        if code not in phonenumbers.SUPPORTED_REGIONS:
            raise ValueError(f'{item!r} is not a region code; use two letters such as "FR"')
        regions.append(code)
    return tuple(regions)


def _name_list(value: Any) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise ValueError('expected a list of names in quotes such as ["Camille Martin"]')
    if not all(item.strip() for item in value):
        raise ValueError("a name must not be empty")
    return tuple(item.strip() for item in value)


def _phone_list(value: Any) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise ValueError('expected a list of numbers in quotes such as ["+33612345678"]')
    return tuple(value)


@dataclass(frozen=True)
class ModemConfig:
    """How to reach the dongle."""

    backend: str = _opt("at", _choice("at", "gammu"))
    port: str = _opt("/dev/gsm-modem", _non_empty_text)
    baudrate: int = _opt(115200, _whole(1200))
    pin: str = _opt("", _pin)
    command_timeout: timedelta = _opt(timedelta(seconds=10), _duration())
    gammu_config: str = _opt("", _text)


@dataclass(frozen=True)
class LineConfig:
    """What the line is and what it answers."""

    own_number: str = _opt("", _text)
    reply: str = _opt(DEFAULT_REPLY, _reply_text)
    allowed_regions: tuple[str, ...] = _opt(("FR",), _regions)

    @property
    def default_region(self) -> str:
        """The region national-format numbers (``06...``) are read in."""
        return self.allowed_regions[0]


@dataclass(frozen=True)
class QuotaConfig:
    """Per-number and global limits on replies, and the abuse auto-block."""

    replies_per_number: int = _opt(1, _whole(0))
    number_window: timedelta = _opt(timedelta(hours=24), _duration())
    max_inbound_per_number: int = _opt(20, _whole(1))
    abuse_window: timedelta = _opt(timedelta(hours=1), _duration())
    block_duration: timedelta = _opt(timedelta(days=7), _duration())
    replies_per_hour: int = _opt(60, _whole(0))
    replies_per_day: int = _opt(300, _whole(0))
    replies_per_month: int = _opt(3000, _whole(0))
    recipients_per_month: int = _opt(150, _whole(0))


@dataclass(frozen=True)
class FloodConfig:
    """The flood breaker: total inbound rate above which the line stops replying."""

    threshold: int = _opt(200, _whole(1))
    window: timedelta = _opt(timedelta(minutes=10), _duration())
    cooldown: timedelta = _opt(timedelta(minutes=30), _duration())


@dataclass(frozen=True)
class AlertsConfig:
    """Who is told by SMS when a flood starts."""

    numbers: tuple[str, ...] = _opt((), _phone_list)
    min_interval: timedelta = _opt(timedelta(hours=1), _duration())


@dataclass(frozen=True)
class ScheduleConfig:
    """How often the daemon's jobs run."""

    poll_interval: timedelta = _opt(timedelta(seconds=5), _duration())
    send_interval: timedelta = _opt(timedelta(seconds=6), _duration())
    health_interval: timedelta = _opt(timedelta(seconds=60), _duration())
    multipart_timeout: timedelta = _opt(timedelta(hours=1), _duration())


@dataclass(frozen=True)
class StorageConfig:
    """Where the evidence lives and how long message texts are kept."""

    database: Path = _opt(Path("/var/lib/anti-relous/anti-relous.db"), lambda v: Path(_text(v)))
    #: "0" keeps texts forever (for a pending complaint, say).
    retention: timedelta = _opt(timedelta(days=90), _duration(allow_zero=True))


@dataclass(frozen=True)
class LogConfig:
    """Log verbosity and privacy."""

    level: str = _opt("info", _choice(*_LOG_LEVELS))
    full_numbers: bool = _opt(False, _flag)


@dataclass(frozen=True)
class CostConfig:
    """The figure of what a cloud SMS service would have charged, for reports."""

    cloud_price_per_sms: float = _opt(0.16, _price)
    currency: str = _opt("EUR", _non_empty_text)


@dataclass(frozen=True)
class ReportConfig:
    """What the complaint pack (``anti-relous report``) flags for a human eye first."""

    #: The operator's flag list (a TOML file like anti_relous/report/flags.toml); "" for the
    #: built-in one. A relative path is read from the configuration's directory.
    flags: str = _opt("", _text)
    #: Names of the line's founders: a message naming one is flagged as personal data.
    founders: tuple[str, ...] = _opt((), _name_list)


@dataclass(frozen=True)
class Config:
    """The whole configuration; ``Config()`` is the documented defaults."""

    modem: ModemConfig = field(default_factory=ModemConfig)
    line: LineConfig = field(default_factory=LineConfig)
    quota: QuotaConfig = field(default_factory=QuotaConfig)
    flood: FloodConfig = field(default_factory=FloodConfig)
    alerts: AlertsConfig = field(default_factory=AlertsConfig)
    schedule: ScheduleConfig = field(default_factory=ScheduleConfig)
    storage: StorageConfig = field(default_factory=StorageConfig)
    log: LogConfig = field(default_factory=LogConfig)
    cost: CostConfig = field(default_factory=CostConfig)
    report: ReportConfig = field(default_factory=ReportConfig)
    #: The file this was read from, None for built-in defaults.
    source: Path | None = field(default=None, compare=False)


_SECTION_TYPES: dict[str, type] = {
    "modem": ModemConfig,
    "line": LineConfig,
    "quota": QuotaConfig,
    "flood": FloodConfig,
    "alerts": AlertsConfig,
    "schedule": ScheduleConfig,
    "storage": StorageConfig,
    "log": LogConfig,
    "cost": CostConfig,
    "report": ReportConfig,
}


def resolve_config_path(option: str | os.PathLike[str] | None) -> Path:
    """``--config`` if given, else ``$ANTI_RELOUS_CONFIG``, else the system-wide default."""
    if option:
        return Path(option)
    from_env = os.environ.get(CONFIG_ENV_VAR)
    return Path(from_env) if from_env else DEFAULT_CONFIG_PATH


def load_config(path: Path) -> Config:
    """Read and validate the TOML file at ``path``."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(
            f"no configuration file at {path}; create one with `anti-relous init --path {path}` "
            f"or point --config / ${CONFIG_ENV_VAR} at yours"
        ) from None
    except PermissionError:
        raise ConfigError(
            f"permission denied reading {path}; run as the service user or a member of the "
            "'anti-relous' group"
        ) from None
    except (OSError, UnicodeDecodeError) as error:
        raise ConfigError(f"cannot read {path}: {error}") from None
    config = parse_config(text, source=str(path))
    database = config.storage.database
    if not database.is_absolute():
        # The service runs from /, so a relative database path means "next to the config".
        database = path.resolve().parent / database
    flags = config.report.flags
    if flags and not Path(flags).is_absolute():
        flags = str(path.resolve().parent / flags)
    return replace(
        config,
        storage=replace(config.storage, database=database),
        report=replace(config.report, flags=flags),
        source=path,
    )


def parse_config(text: str, source: str = "<config>") -> Config:
    """Validate TOML ``text``; ``source`` names it in error messages."""
    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(f"not valid TOML: {error}", source=source) from None
    for name in document:
        if name not in _SECTION_TYPES:
            raise ConfigError(
                f"unknown section; expected one of {', '.join(_SECTION_TYPES)}",
                key=name,
                source=source,
            )
    values = {}
    for name in _SECTION_TYPES:
        raw = document.get(name, {})
        if not isinstance(raw, Mapping):
            raise ConfigError(f"expected a table, write it as [{name}]", key=name, source=source)
        values[name] = _parse_section(_SECTION_TYPES[name], name, raw, source)
    return _normalise_numbers(Config(**values), source)


def _parse_section(cls: type, name: str, raw: Mapping[str, Any], source: str) -> Any:
    known = {f.name: f for f in fields(cls)}
    parsed = {}
    for key, value in raw.items():
        if key not in known:
            raise ConfigError(
                f"unknown key; expected one of {', '.join(known)}",
                key=f"{name}.{key}",
                source=source,
            )
        try:
            parsed[key] = known[key].metadata["check"](value)
        except ValueError as error:
            raise ConfigError(str(error), key=f"{name}.{key}", source=source) from None
    return cls(**parsed)


def _normalise_numbers(config: Config, source: str) -> Config:
    """Numbers may be written in the line's national format, known only once regions are read."""
    region = config.line.default_region

    def e164(text: str, key: str) -> str:
        number = normalise(text, region)
        if number is None:
            raise ConfigError(
                f"{text!r} is not a valid phone number; write it as +33612345678",
                key=key,
                source=source,
            )
        return number

    own = e164(config.line.own_number, "line.own_number") if config.line.own_number else ""
    alerts = tuple(e164(n, "alerts.numbers") for n in config.alerts.numbers)
    return replace(
        config,
        line=replace(config.line, own_number=own),
        alerts=replace(config.alerts, numbers=alerts),
    )
