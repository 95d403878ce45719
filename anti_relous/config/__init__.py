"""Load the TOML configuration into frozen dataclasses; every mistake names its key and the fix.

The package's interface: ``Config`` (each section checked when the file is read, parsed on first
use), the loaders, ``ConfigError``, and the sections and duration helpers re-exported from its
private modules: ``values`` (how a value is written, and the check each key's value passes) and
``sections`` (one dataclass per section: the file's schema). Imports: ``errors``, ``lazyclass``,
``numbers`` (on first use); nothing else of the package.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any, Generic, TypeVar, cast, overload

from anti_relous.config.sections import (
    DEFAULT_REPLY,
    AdminConfig,
    AlertsConfig,
    AttackConfig,
    CostConfig,
    FloodConfig,
    LineConfig,
    LogConfig,
    MetricsConfig,
    ModemConfig,
    QuotaConfig,
    ReportConfig,
    ScheduleConfig,
    StorageConfig,
)
from anti_relous.config.values import format_duration, parse_duration
from anti_relous.errors import AntiRelousError
from anti_relous.lazyclass import declared_fields

__all__ = [
    "CONFIG_ENV_VAR",
    "DEFAULT_CONFIG_PATH",
    "DEFAULT_REPLY",
    "AdminConfig",
    "AlertsConfig",
    "AttackConfig",
    "Config",
    "ConfigError",
    "CostConfig",
    "FloodConfig",
    "LineConfig",
    "LogConfig",
    "MetricsConfig",
    "ModemConfig",
    "QuotaConfig",
    "ReportConfig",
    "ScheduleConfig",
    "StorageConfig",
    "format_duration",
    "load_config",
    "open_config",
    "parse_config",
    "parse_duration",
    "resolve_config_path",
]

DEFAULT_CONFIG_PATH = Path("/etc/anti-relous/config.toml")
CONFIG_ENV_VAR = "ANTI_RELOUS_CONFIG"


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
        known = declared_fields(cls)  # every key is an opt() field; no need to build the class
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
