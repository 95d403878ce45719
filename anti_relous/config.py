"""Load the TOML configuration into frozen dataclasses; every mistake names its key and the fix."""

from __future__ import annotations

import os
import re
import unicodedata
from collections.abc import Callable, Iterable, Mapping
from dataclasses import field, replace
from datetime import timedelta
from pathlib import Path
from typing import Any, ClassVar, Generic, TypeVar, cast, overload

from anti_relous.errors import AntiRelousError
from anti_relous.lazyclass import declared_fields, frozen_dataclass

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
_CLOCK = re.compile(r"([01]\d|2[0-3]):[0-5]\d")


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
    # Only the form here: whether phonenumbers knows each code is checked when the whole file
    # is (``Config.check``), so that commands reading [line] do not import phonenumbers.
    if not isinstance(value, list) or not value:
        raise ValueError('expected a non-empty list of region codes such as ["FR"]')
    regions = []
    for item in value:
        if not isinstance(item, str) or not re.fullmatch(r"[A-Za-z]{2}", item):
            raise ValueError(f'{item!r} is not a region code; use two letters such as "FR"')
        regions.append(item.upper())
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


@frozen_dataclass
class ModemConfig:
    """How to reach the dongle."""

    backend: str = _opt("at", _choice("at", "gammu"))
    port: str = _opt("/dev/gsm-modem", _non_empty_text)
    baudrate: int = _opt(115200, _whole(1200))
    pin: str = _opt("", _pin)
    command_timeout: timedelta = _opt(timedelta(seconds=10), _duration())
    gammu_config: str = _opt("", _text)


@frozen_dataclass
class LineConfig:
    """What the line is and what it answers."""

    own_number: str = _opt("", _text)
    reply: str = _opt(DEFAULT_REPLY, _reply_text)
    allowed_regions: tuple[str, ...] = _opt(("FR",), _regions)

    @property
    def default_region(self) -> str:
        """The region national-format numbers (``06...``) are read in."""
        return self.allowed_regions[0]


@frozen_dataclass
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


@frozen_dataclass
class FloodConfig:
    """The flood breaker: total inbound rate above which the line stops replying."""

    threshold: int = _opt(200, _whole(1))
    window: timedelta = _opt(timedelta(minutes=10), _duration())
    cooldown: timedelta = _opt(timedelta(minutes=30), _duration())


def _clock_time(value: Any) -> str:
    text = _text(value)
    if text and not _CLOCK.fullmatch(text):
        raise ValueError(f'expected a time of day such as "08:00", or "" for none, got {text!r}')
    return text


def _clock_range(value: Any) -> str:
    text = _text(value)
    start, dash, end = text.partition("-")
    if text and not (dash and _CLOCK.fullmatch(start.strip()) and _CLOCK.fullmatch(end.strip())):
        raise ValueError(
            f'expected two times of day such as "23:00-07:00", or "" for none, got {text!r}'
        )
    return text.replace(" ", "")


def _prom_path(value: Any) -> str:
    text = _text(value)
    if text and not (text.startswith("/") and text.endswith(".prom")):
        raise ValueError(
            "expected an absolute path ending in .prom (node_exporter reads only those), "
            f'such as "/var/lib/prometheus/node-exporter/anti-relous.prom", or "" for none; '
            f"got {text!r}"
        )
    return text


@frozen_dataclass
class AttackConfig:
    """The attack regime: telling a raid, a swarm or a drip from the line's usual traffic, and
    answering the genuine texters while it lasts (see README, "How it works")."""

    #: "enforce"; "shadow" records what the regime would have done but acts as "off"; "off"
    #: mutes every reply while the inbound rate is above [flood] threshold, as before.
    mode: str = _opt("enforce", _choice("enforce", "shadow", "off"))
    #: More new senders than this within first_contact_window is an attack too.
    first_contacts: int = _opt(15, _whole(1))
    first_contact_window: timedelta = _opt(timedelta(hours=3), _duration())
    #: ...or more than this many within burst_window: the first minutes of a raid.
    burst_contacts: int = _opt(5, _whole(1))
    burst_window: timedelta = _opt(timedelta(minutes=10), _duration())
    #: Under attack, a sender new to the line waits this long before its reply is decided.
    hold: timedelta = _opt(timedelta(minutes=20), _duration(allow_zero=True))
    #: Near-identical texts from this many senders within campaign_window are a campaign.
    campaign_senders: int = _opt(3, _whole(2))
    campaign_window: timedelta = _opt(timedelta(hours=24), _duration())
    #: Short texts (under 16 letters) must be identical, from this many senders within an hour.
    short_campaign_senders: int = _opt(8, _whole(2))
    #: How alike two texts must be (percent, after normalising) to be one campaign.
    similarity: int = _opt(85, _whole(50))
    #: This many senders within campaign_window from one number block (all digits but the
    #: last 4: a SIM farm's consecutive numbers) and the block is suppressed.
    block_senders: int = _opt(3, _whole(2))
    #: Under attack, new senders who have not shown they are people are answered from a
    #: budget of new_senders_burst replies, refilled by new_senders_per_day.
    new_senders_burst: int = _opt(20, _whole(0))
    new_senders_per_day: int = _opt(10, _whole(0))


@frozen_dataclass
class AlertsConfig:
    """Who is told by SMS when something needs a person, and when they may be woken."""

    numbers: tuple[str, ...] = _opt((), _phone_list)
    min_interval: timedelta = _opt(timedelta(hours=1), _duration())
    quiet: str = _opt("", _clock_range)
    modem_lost_after: timedelta = _opt(timedelta(minutes=10), _duration())
    sim_full_after: timedelta = _opt(timedelta(minutes=10), _duration())
    database_after: timedelta = _opt(timedelta(minutes=2), _duration())
    digest: str = _opt("", _clock_time)


@frozen_dataclass
class AdminConfig:
    """The admin SMS channel: who may steer the line by SMS, and how hard guessing is."""

    numbers: tuple[str, ...] = _opt((), _phone_list)
    code_window: timedelta = _opt(timedelta(minutes=5), _duration())
    max_failures: int = _opt(5, _whole(1))
    failure_window: timedelta = _opt(timedelta(hours=1), _duration())
    lock_duration: timedelta = _opt(timedelta(hours=1), _duration())
    reserve_per_hour: int = _opt(6, _whole(0))
    reserve_per_day: int = _opt(24, _whole(0))


@frozen_dataclass
class MetricsConfig:
    """The Prometheus textfile the daemon rewrites every health interval."""

    textfile: str = _opt("", _prom_path)


@frozen_dataclass
class ScheduleConfig:
    """How often the daemon's jobs run."""

    poll_interval: timedelta = _opt(timedelta(seconds=5), _duration())
    send_interval: timedelta = _opt(timedelta(seconds=6), _duration())
    health_interval: timedelta = _opt(timedelta(seconds=60), _duration())
    multipart_timeout: timedelta = _opt(timedelta(hours=1), _duration())


@frozen_dataclass
class StorageConfig:
    """Where the evidence lives and how long message texts are kept."""

    #: A mistake here stops even the commands that tolerate the others: on the wrong database
    #: nothing they do would mean anything.
    strict: ClassVar[bool] = True

    database: Path = _opt(Path("/var/lib/anti-relous/anti-relous.db"), lambda v: Path(_text(v)))
    #: "0" keeps texts forever (for a pending complaint, say).
    retention: timedelta = _opt(timedelta(days=90), _duration(allow_zero=True))


@frozen_dataclass
class LogConfig:
    """Log verbosity and privacy."""

    level: str = _opt("info", _choice(*_LOG_LEVELS))
    full_numbers: bool = _opt(False, _flag)


@frozen_dataclass
class CostConfig:
    """The figure of what a cloud SMS service would have charged, for reports."""

    cloud_price_per_sms: float = _opt(0.16, _price)
    currency: str = _opt("EUR", _non_empty_text)


@frozen_dataclass
class ReportConfig:
    """What the complaint pack (``anti-relous report``) flags for a human eye first."""

    #: The operator's flag list (a TOML file like anti_relous/report/flags.toml); "" for the
    #: built-in one. A relative path is read from the configuration's directory.
    flags: str = _opt("", _text)
    #: Names of the line's founders: a message naming one is flagged as personal data.
    founders: tuple[str, ...] = _opt((), _name_list)


S = TypeVar("S")


class Section(Generic[S]):
    """A section of ``Config``, built from its checked values when first read."""

    def __init__(self, cls: type[S]):
        self.cls = cls
        self.name = ""

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    @overload
    def __get__(self, config: None, owner: type) -> Section[S]: ...
    @overload
    def __get__(self, config: Config, owner: type) -> S: ...
    def __get__(self, config: Config | None, owner: type) -> S | Section[S]:
        if config is None:
            return self
        return cast(S, config.section(self.name))


class Config:
    """The whole configuration; ``Config()`` is the documented defaults.

    Every key is checked when the file is read. A section becomes its dataclass the first time
    a command reads it, and only then are its numbers put in E.164 (which imports phonenumbers);
    ``check`` does all of that at once, as `run`, `init` and `doctor` need. A *lenient*
    configuration (``open_config(lenient=True)``) reports each mistake through ``warn`` and uses
    the key's default instead, except in a ``strict`` section.
    """

    modem = Section(ModemConfig)
    line = Section(LineConfig)
    quota = Section(QuotaConfig)
    flood = Section(FloodConfig)
    attack = Section(AttackConfig)
    alerts = Section(AlertsConfig)
    admin = Section(AdminConfig)
    metrics = Section(MetricsConfig)
    schedule = Section(ScheduleConfig)
    storage = Section(StorageConfig)
    log = Section(LogConfig)
    cost = Section(CostConfig)
    report = Section(ReportConfig)

    def __init__(
        self,
        document: Mapping[str, Any] | None = None,
        *,
        source: Path | None = None,
        where: str | None = None,
        lenient: bool = False,
        warn: Callable[[str], None] | None = None,
    ):
        #: The file this was read from, None for built-in defaults.
        self.source = source
        self._document = dict(document or {})
        #: How error messages name the text: the file, or what parse_config was told.
        self._where = where or (str(source) if source is not None else "<config>")
        self._lenient = lenient
        self._warn = warn
        self._parsed: dict[str, Any] = {}
        #: Each section's checked values: every key of the file is checked at once, since that
        #: costs little; what needs phonenumbers waits for a command to read it.
        self._values: dict[str, dict[str, Any]] = {}
        for name, raw in self._document.items():
            if name not in _SECTIONS:
                self._problem(_unknown("section", name, _SECTIONS, self._where), None)
            elif not isinstance(raw, Mapping):
                self._problem(
                    ConfigError(f"expected a table, write it as [{name}]", key=name,
                                source=self._where),
                    _SECTIONS[name],
                )  # fmt: skip
            else:
                self._values[name] = self._checked(_SECTIONS[name], name, raw)

    @staticmethod
    def section_types() -> dict[str, type]:
        """Section name -> its dataclass, in the order of the file."""
        return dict(_SECTIONS)

    def section(self, name: str) -> Any:
        """The parsed section ``name`` (ConfigError if it is wrong and this is not lenient)."""
        if name not in self._parsed:
            section = _SECTIONS[name](**self._values.get(name, {}))
            finish = _FINISH.get(name)
            self._parsed[name] = finish(self, section) if finish else section
        return self._parsed[name]

    def sections(self) -> dict[str, Any]:
        """Every section, parsed."""
        return {name: self.section(name) for name in _SECTIONS}

    def check(self) -> Config:
        """Parse every section and run the checks that need more than the file (region codes
        known to phonenumbers): what `run`, `init` and `doctor` need. Returns self."""
        self.sections()
        for check in _WHOLE_FILE_CHECKS:
            check(self)
        return self

    def with_section(self, name: str, section: Any) -> Config:
        """A copy with section ``name`` replaced."""
        copy = Config(
            self._document,
            source=self.source,
            where=self._where,
            lenient=self._lenient,
            warn=self._warn,
        )
        copy._parsed = {**self._parsed, name: section}
        return copy

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Config):
            return NotImplemented
        return self.sections() == other.sections()

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"Config(source={self.source!r})"

    def _checked(self, cls: type, name: str, raw: Mapping[str, Any]) -> dict[str, Any]:
        known = declared_fields(cls)  # every key is an _opt() field; no need to build the class
        values = {}
        for key, value in raw.items():
            if key not in known:
                error = _unknown("key", key, known, self._where, section=name)
                self._problem(error, cls)
                continue
            try:
                values[key] = known[key].metadata["check"](value)
            except ValueError as error:
                self._problem(ConfigError(str(error), key=f"{name}.{key}", source=self._where), cls)
        return values

    def _problem(self, error: ConfigError, cls: type | None) -> None:
        if not self._lenient or getattr(cls, "strict", False) or self._warn is None:
            raise error
        self._warn(
            f"{error} (ignored by this command; `anti-relous run` refuses the file until it "
            "is fixed)"
        )


_SECTIONS: dict[str, type] = {
    name: value.cls for name, value in vars(Config).items() if isinstance(value, Section)
}


def _unknown(
    what: str, name: str, known: Iterable[str], source: str, *, section: str | None = None
) -> ConfigError:
    """An unknown section or key, with the closest known name when one is close."""
    import difflib

    names = list(known)
    close = difflib.get_close_matches(name, names, n=1)
    spelled = (lambda n: f"[{n}]") if section is None else (lambda n: n)
    hint = f"did you mean {spelled(close[0])}?" if close else f"expected one of {', '.join(names)}"
    return ConfigError(
        f"unknown {what}; {hint}",
        key=f"{section}.{name}" if section else name,
        source=source,
    )


def _e164(config: Config, text: str, key: str, region: str) -> str | None:
    from anti_relous.numbers import normalise

    number = normalise(text, region)
    if number is None:
        config._problem(
            ConfigError(
                f"{text!r} is not a valid phone number; write it as +33612345678",
                key=key,
                source=config._where,
            ),
            None,
        )
    return number


def _finish_line(config: Config, line: LineConfig) -> LineConfig:
    # Numbers may be written in the line's national format, known once the regions are read.
    if not line.own_number:
        return line
    own = _e164(config, line.own_number, "line.own_number", line.default_region)
    return replace(line, own_number=own or "")


def _finish_numbers(section_name: str) -> Callable[[Config, Any], Any]:
    """The fix-up of a section whose ``numbers`` may be written in the line's national format."""

    def finish(config: Config, section: Any) -> Any:
        if not section.numbers:
            return section
        region = config.line.default_region
        key = f"{section_name}.numbers"
        numbers = (_e164(config, n, key, region) for n in section.numbers)
        return replace(section, numbers=tuple(n for n in numbers if n is not None))

    return finish


def _finish_storage(config: Config, storage: StorageConfig) -> StorageConfig:
    if storage.database.is_absolute() or config.source is None:
        return storage
    # The service runs from /, so a relative database path means "next to the config".
    return replace(storage, database=config.source.resolve().parent / storage.database)


def _finish_report(config: Config, report: ReportConfig) -> ReportConfig:
    if not report.flags or Path(report.flags).is_absolute() or config.source is None:
        return report
    # Like the database: a relative flag list lives next to the configuration.
    return replace(report, flags=str(config.source.resolve().parent / report.flags))


#: What a section needs once parsed: numbers in E.164, paths made absolute.
_FINISH: dict[str, Callable[[Config, Any], Any]] = {
    "line": _finish_line,
    "alerts": _finish_numbers("alerts"),
    "admin": _finish_numbers("admin"),
    "storage": _finish_storage,
    "report": _finish_report,
}


def _known_regions(config: Config) -> None:
    import phonenumbers  # on first use: see numbers.py

    for region in config.line.allowed_regions:
        if region not in phonenumbers.SUPPORTED_REGIONS:
            config._problem(
                ConfigError(
                    f"{region!r} is not a region code phonenumbers knows; use two letters "
                    'such as "FR"',
                    key="line.allowed_regions",
                    source=config._where,
                ),
                None,
            )


#: Checks beyond one section's values, run by ``Config.check``.
_WHOLE_FILE_CHECKS: tuple[Callable[[Config], None], ...] = (_known_regions,)


def resolve_config_path(option: str | os.PathLike[str] | None) -> Path:
    """``--config`` if given, else ``$ANTI_RELOUS_CONFIG``, else the system-wide default."""
    if option:
        return Path(option)
    from_env = os.environ.get(CONFIG_ENV_VAR)
    return Path(from_env) if from_env else DEFAULT_CONFIG_PATH


def load_config(path: Path) -> Config:
    """Read the TOML file at ``path`` and check all of it (ConfigError on the first mistake)."""
    return open_config(path).check()


def open_config(
    path: Path, *, lenient: bool = False, warn: Callable[[str], None] | None = None
) -> Config:
    """Read the TOML file at ``path``; each section is checked when first read.

    ``lenient``: a bad key is reported through ``warn`` and replaced by its default, so that
    steering the line survives a typo made while editing the file (not in ``[storage]``).
    """
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
    return Config(_toml(text, str(path)), source=path, lenient=lenient, warn=warn)


def parse_config(text: str, source: str = "<config>") -> Config:
    """Check all of TOML ``text``; ``source`` names it in error messages."""
    return Config(_toml(text, source), where=source).check()


def _toml(text: str, source: str) -> dict[str, Any]:
    import tomllib

    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(f"not valid TOML: {error}", source=source) from None
