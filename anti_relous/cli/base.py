"""What every command shares: the group, the context object, errors and option parsers."""

from __future__ import annotations

import functools
import importlib
import sys
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from anti_relous import __version__
from anti_relous.errors import AntiRelousError

if TYPE_CHECKING:
    from anti_relous.config import Config
    from anti_relous.store import Store

#: The reason codes of DESIGN section 5 (policy.Reason), plus messages not decided yet. Spelled
#: out here so that `--help` does not import the policy.
REASONS = (
    "paused",
    "blocked",
    "destination_filtered",
    "abuse_block",
    "flood",
    "campaign",
    "number_block",
    "number_quota",
    "held",
    "hourly_cap",
    "daily_cap",
    "monthly_cap",
    "recipients_cap",
    "paced",
    "replied",
    "undecodable",
    "admin",
    "undecided",
)


OUTBOX_STATES = ("queued", "sending", "sent", "failed", "unknown")


class CliError(click.ClickException):
    """One line on stderr and exit status 1: how an operational failure ends a command."""

    exit_code = 1

    def format_message(self) -> str:
        from anti_relous.untrusted import visible

        # Messages quote numbers, senders and device answers that a stranger may have written.
        return visible(self.message, newline="\n")


class CliUsageError(CliError):
    """A mistake in what was typed (a bad number, duration or time): one line, exit status 2.

    Unlike click.UsageError it does not repeat the usage: the message says what to write.
    """

    exit_code = 2


def plural(count: int, singular: str, plural: str | None = None) -> str:
    """``1 message``, ``2 messages``, ``1,024 messages`` (``plural`` for irregular words)."""
    word = singular if count == 1 else plural or f"{singular}s"
    return f"{count:,} {word}"


def usage_error(message: str) -> CliError:
    """The error for a bad value typed on the command line."""
    return CliUsageError(message)


def translate(error: AntiRelousError) -> CliError:
    """The CLI error for one of the package's errors, with its exit code."""
    return CliUsageError(str(error)) if error.exit_code == 2 else CliError(str(error))


def _config_after_command(ctx: click.Context, param: click.Parameter, value: str | None) -> None:
    """``anti-relous status --config X`` means ``anti-relous --config X status``."""
    app = ctx.find_object(App)
    if value is None or app is None:
        return
    if app.config_option is not None and app.config_option != value:
        raise usage_error(
            f"--config given twice ({app.config_option} before the command, {value} after it): "
            "give it once"
        )
    app.config_option = value


class AntiRelousCommand(click.Command):
    """A command that also takes ``--config`` after its name, where people tend to type it."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.params.append(
            click.Option(
                ["--config"],
                metavar="PATH",
                expose_value=False,
                callback=_config_after_command,
                help="Configuration file (also accepted before the command).",
            )
        )


class AntiRelousGroup(click.Group):
    """Turns the package's own errors into one line and their exit code, never a traceback.

    Command modules are imported when one of their commands runs (or ``--help`` lists them
    all): ``anti-relous status`` does not pay for what ``export`` or ``run`` import.
    ``lazy_commands`` maps each command's name to the module that defines it.
    """

    command_class = AntiRelousCommand

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.lazy_commands: dict[str, str] = {}

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*self.commands, *self.lazy_commands})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in self.commands and cmd_name in self.lazy_commands:
            importlib.import_module(self.lazy_commands[cmd_name])  # registers its commands
        return self.commands.get(cmd_name)

    def load_all(self) -> None:
        """Import every command module (for tools that walk ``commands``)."""
        for module in sorted(set(self.lazy_commands.values())):
            importlib.import_module(module)

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except AntiRelousError as error:
            raise translate(error) from None


class App:
    """What commands share: the configuration and the store, each opened on first use.

    Each section of the configuration is checked when a command first reads it. Commands that
    only steer or watch the line (``pass_lenient_app``) tolerate mistakes outside [storage],
    with one warning each on stderr: a typo made while editing the file during an incident
    must not keep the operator from pausing the line.
    """

    def __init__(self, config_option: str | None, database_option: Path | None = None):
        self.config_option = config_option
        self.lenient = False
        #: ``--database``: read this database instead of the configuration's.
        self.database_option = database_option
        self._config: Config | None = None
        self._store: Store | None = None

    @property
    def config_path(self) -> Path:
        """``--config``, else ``$ANTI_RELOUS_CONFIG``, else /etc/anti-relous/config.toml."""
        from anti_relous.config import resolve_config_path

        return resolve_config_path(self.config_option)

    @property
    def config(self) -> Config:
        """The loaded configuration (ConfigError, exit 2, if missing or invalid).

        With ``--database`` and no configuration file anywhere, the built-in defaults: reading
        a replay's or a copied database needs no installed line.
        """
        if self._config is None:
            from anti_relous.config import Config, open_config

            if (
                self.database_option is not None
                and self.config_option is None
                and not self.config_path.exists()
            ):
                self._config = Config()
            else:
                self._config = open_config(self.config_path, lenient=self.lenient, warn=_warn)
        return self._config

    @property
    def database(self) -> Path:
        """``--database``, else the configuration's ``[storage] database``."""
        if self.database_option is not None:
            return self.database_option
        return self.config.storage.database

    @property
    def store(self) -> Store:
        """The line's database; it must exist (`anti-relous init` or `run` create it)."""
        if self._store is None:
            from anti_relous.store import Store

            self._store = Store.open(self.database, create=False)
        return self._store

    def close(self) -> None:
        """Close the store if a command opened it."""
        if self._store is not None:
            self._store.close()
            self._store = None


def invocation() -> str:
    """How to run this very anti-relous from another terminal, as a shell word or three.

    ``anti-relous`` when that name on PATH is this installation; else the script beside this
    Python (after ``make demo``, ``.venv/bin`` is not on PATH); else ``python -m anti_relous``.
    """
    import shlex
    import shutil

    script = Path(sys.executable).parent / "anti-relous"
    on_path = shutil.which("anti-relous")
    if on_path is not None and script.exists() and Path(on_path).resolve() == script.resolve():
        return "anti-relous"
    if script.exists():
        return shlex.quote(str(script))
    return f"{shlex.quote(sys.executable)} -m anti_relous"


def _warn(problem: str) -> None:
    echo(f"Warning: {problem}", err=True)


pass_app = click.make_pass_decorator(App)


def echo(message: str, *, err: bool = False) -> None:
    """Print a line for a person: the one way commands write to the terminal.

    Tables and reports already escape what a stranger wrote (``render``); this catches the
    rest, so no control, C1 or bidi character in any message reaches the terminal raw.
    """
    from anti_relous.untrusted import visible

    click.echo(visible(message, newline="\n"), err=err)


def pass_lenient_app(command: Callable[..., Any]) -> Callable[..., Any]:
    """Like ``pass_app``, for a command that runs on a configuration with mistakes outside
    [storage] (each one a warning, and its default used)."""

    @click.pass_context
    def run(ctx: click.Context, /, *args: Any, **kwargs: Any) -> Any:
        app = ctx.find_object(App)
        if app is None:  # pragma: no cover - the group always creates it
            raise RuntimeError("no App in the click context")
        app.lenient = True
        return ctx.invoke(command, app, *args, **kwargs)

    return functools.update_wrapper(run, command)


def echo_json(value: Any) -> None:
    """Print ``value`` as indented JSON (texts exact, controls escaped)."""
    from anti_relous.cli.render import to_json

    click.echo(to_json(value))


def duration_callback(
    ctx: click.Context, param: click.Parameter, value: str | None
) -> timedelta | None:
    if value is None:
        return None
    from anti_relous.config import parse_duration

    try:
        delta = parse_duration(value)
    except ValueError as error:
        raise usage_error(f"{option_name(param)}: {error}") from None
    if delta <= timedelta(0):
        raise usage_error(f'{option_name(param)}: give a duration above zero such as "2h"')
    return delta


def option_name(param: click.Parameter) -> str:
    """The option as people type it (``--for``), not the variable it fills (``duration``)."""
    return param.opts[0] if param.opts else f"--{param.name}"


def moment_callback(ahead: bool) -> Any:
    def parse(ctx: click.Context, param: click.Parameter, value: str | None) -> datetime | None:
        if value is None:
            return None
        from anti_relous.clock import local_now, parse_moment

        try:
            return parse_moment(value, local_now(), ahead=ahead)
        except ValueError as error:
            raise usage_error(f"{option_name(param)}: {error}") from None

    return parse


def period_or_exit(since: datetime | None, until: datetime | None) -> None:
    """A ``--since``/``--until`` range that can hold messages; else a usage error (exit 2)."""
    from anti_relous.cli.render import local_time
    from anti_relous.clock import utc_now

    if since is not None and since > utc_now():
        raise usage_error(
            f"--since: {local_time(since)} is in the future, so nothing matches; "
            'give a past moment such as "24h" or "2026-11-01"'
        )
    if since is not None and until is not None and since >= until:
        raise usage_error(
            f"--since {local_time(since)} is not before --until {local_time(until)}: "
            "swap them or widen the range"
        )


def number_or_exit(app: App, raw: str) -> str:
    """``raw`` in E.164, read in the line's region; a bad number is a usage error."""
    from anti_relous.numbers import normalise

    number = normalise(raw, app.config.line.default_region)
    if number is None:
        raise usage_error(f"{raw!r} is not a valid phone number; write it as +33612345678")
    return number


def block_target(app: App, raw: str, prefix: bool) -> tuple[str, bool]:
    """A number or, with a trailing ``*`` or ``--prefix``, a prefix; normalised to E.164."""
    from anti_relous.numbers import normalise_prefix

    if raw.endswith("*"):
        raw, prefix = raw[:-1], True
    if not prefix:
        return number_or_exit(app, raw), False
    target = normalise_prefix(raw, app.config.line.default_region)
    if target is None or len(target) < 3:
        raise usage_error(
            f"{raw!r} is not a number prefix; write it as +33899 or 0899 (digits only)"
        )
    return target, True


def sender_filter(app: App, raw: str | None) -> str | None:
    """A sender as the store keys it: E.164 for numbers, the text itself for names."""
    if raw is None:
        return None
    from anti_relous.numbers import normalise

    return normalise(raw, app.config.line.default_region) or raw.strip()


@click.group(cls=AntiRelousGroup)
@click.option(
    "--config",
    "config_option",
    metavar="PATH",
    help="Configuration file [default: $ANTI_RELOUS_CONFIG, else /etc/anti-relous/config.toml].",
)
@click.option(
    "--database",
    "database_option",
    metavar="PATH",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Read this database instead of [storage] database (a replay's, a copy of evidence).",
)
@click.version_option(__version__, prog_name="anti-relous")
@click.pass_context
def cli(ctx: click.Context, config_option: str | None, database_option: Path | None) -> None:
    """Run and steer an anti-relous SMS line.

    Every command reads the configuration (--config) and, except `init`, `run`, `simulate` and
    `demo`, the line's existing database. Try `anti-relous demo` first.
    """
    app = App(config_option, database_option)
    ctx.obj = app
    ctx.call_on_close(app.close)
