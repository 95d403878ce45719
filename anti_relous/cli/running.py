"""Commands that set the line up and run it: run, demo, init, doctor, simulate."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click

from anti_relous.cli.base import (
    App,
    CliError,
    cli,
    echo,
    echo_json,
    invocation,
    pass_app,
    plural,
    usage_error,
)


@cli.command(short_help="Run the line: poll the SIM, record, decide, reply.")
@pass_app
def run(app: App) -> None:
    """Run the line: poll the SIM, record, decide, reply (systemd starts this).

    Example:

    \b
      anti-relous --config /etc/anti-relous/config.toml run
    """
    from anti_relous import daemon

    sys.exit(daemon.run(app.config.check(), config_path=app.config_path))


@cli.command(short_help="Play a bot flood against the daemon on a simulated dongle.")
@click.option(
    "--messages",
    "flood_size",
    default=2000,
    show_default=True,
    type=click.IntRange(min=1),
    help="SMS in the flood.",
)
@click.option(
    "--bots",
    default=50,
    show_default=True,
    type=click.IntRange(min=1),
    help="Numbers the flood comes from.",
)
@click.option("--keep", is_flag=True, help="Keep the demo's config, database and logs.")
@click.option(
    "--report",
    metavar="DIR",
    type=click.Path(path_type=Path),
    help="Write the complaint pack of the flood to this new folder (needs the report extra).",
)
def demo(flood_size: int, bots: int, keep: bool, report: Path | None) -> None:
    """Play a bot flood against the real daemon and a simulated dongle (under a minute).

    Genuine texters get one reply each; a flood of 2,000 SMS from 50 numbers is recorded but
    trips the breakers; a pause and a resume follow. Ends with a summary table, and with
    --report the complaint pack (`anti-relous report`) of the flood.

    Examples:

    \b
      anti-relous demo
      anti-relous demo --report demo-report
    """
    from anti_relous.simulator import demo as scenario

    if bots > scenario.MAX_BOTS:
        raise usage_error(f"--bots: at most {scenario.MAX_BOTS:,}")

    # Its live progress line is rewritten with CR, and every text it shows is its own.
    scenario.main(
        flood_size=flood_size,
        bots=bots,
        echo=click.echo,
        live=sys.stdout.isatty(),
        keep=keep,
        report=report.absolute() if report else None,
        command=invocation(),
    )


@cli.command(short_help="Write the configuration and create the database.")
@click.option(
    "--path",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Where to write the configuration [default: the --config path].",
)
@click.option(
    "--database",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Set [storage] database in the new file (e.g. a path you can write without root).",
)
@click.option("--force", is_flag=True, help="Replace an existing configuration file.")
@pass_app
def init(app: App, path: Path | None, database: Path | None, force: bool) -> None:
    """Write the commented configuration (mode 0640) and create the database (mode 0660).

    Run as root, the configuration goes to group anti-relous and the database to the service
    user, as systemd/ expects.

    Examples:

    \b
      sudo anti-relous init
      anti-relous init --path ./line.toml --database ./line.db
    """
    from anti_relous.admin import provision
    from anti_relous.admin.status import reply_info, reply_warning
    from anti_relous.config import DEFAULT_CONFIG_PATH, Config, load_config

    target = path or app.config_path
    database = database.absolute() if database else None
    # Check everything before writing anything, and write only what is missing.
    keep = target.exists() and not force
    if keep:
        config = load_config(target)
        if database is not None and database != config.storage.database:
            raise CliError(
                f"{target} already exists and sets [storage] database = "
                f"{config.storage.database}: leave out --database to use it, edit the file, "
                "or add --force to replace it"
            )
        planned = config.storage.database
    else:
        planned = database or Config().storage.database
    provision.check_database_place(planned)
    if keep:
        echo(f"Kept the existing {target} (--force replaces it).")
    else:
        text = provision.config_text(database)
        group = provision.write_config(target, text, force=force)
        config = load_config(target)
        owner = f", group {group}" if group else ""
        echo(f"Wrote {target} (mode 0640{owner}): every key is commented, edit it.")
    created = provision.create_database(config.storage.database)
    state = "Created" if created else "Kept the existing"
    echo(f"{state} database {config.storage.database}")
    reply = reply_info(config.line.reply)
    echo(f"Reply: {reply.description}")
    warning = reply_warning(reply)
    if warning:
        echo(f"Warning: {warning}", err=True)
    if target == DEFAULT_CONFIG_PATH:
        echo(
            "Next: set [modem] port, check with `anti-relous doctor`, then "
            "`systemctl enable --now anti-relous`."
        )
    else:
        echo(
            f"Next: set [modem] port, check with `anti-relous --config {target} doctor`, then "
            f"`anti-relous --config {target} run`."
        )


@cli.command(short_help="Check the dongle, port, permissions, SIM, config and database.")
@click.option("--json", "as_json", is_flag=True, help="Print the findings as JSON.")
@click.option(
    "--no-modem", is_flag=True, help="Do not open the modem (e.g. while the daemon runs)."
)
@click.option(
    "--retry-pin",
    is_flag=True,
    help="Enter [modem] pin once more although the SIM rejected it (a replaced SIM).",
)
@pass_app
def doctor(app: App, as_json: bool, no_modem: bool, retry_pin: bool) -> None:
    """Check the dongle, its port, permissions, ModemManager, the SIM, the config and the DB.

    Every problem comes with the command that fixes it. Exits 1 if any problem was found.
    A PIN the SIM rejected is not entered again (three wrong ones lock it): --retry-pin
    enters it once more, for a SIM replaced by one whose PIN it is.

    Example:

    \b
      anti-relous doctor
    """
    from anti_relous import doctor as diagnosis
    from anti_relous.cli.render import doctor_json, doctor_text

    report = diagnosis.run(app.config_path, open_modem=not no_modem, retry_pin=retry_pin)
    if as_json:
        echo_json(doctor_json(report))
    else:
        echo(doctor_text(report))
    if report.problems:
        found = plural(len(report.problems), "problem")
        raise CliError(f"{found} found; fix them with the commands above")


@cli.group(
    invoke_without_command=True,
    short_help="Run a simulated USB dongle on a pty (no hardware needed).",
)
@click.option(
    "--dir",
    "directory",
    type=click.Path(file_okay=False, path_type=Path),
    help="Where the pty link, control socket and config go [default: a per-user runtime dir].",
)
@click.pass_context
def simulate(ctx: click.Context, directory: Path | None) -> None:
    """Run a simulated USB dongle on a pty, to try the real daemon without hardware.

    Prints the port and a config that points the daemon at it; text it from another terminal
    with `anti-relous simulate text`. Ctrl-C stops it.

    Example:

    \b
      anti-relous simulate
    """
    from anti_relous.simulator import sandbox as sim

    ctx.obj = sim.SimulateDir(directory or sim.default_dir())
    if ctx.invoked_subcommand is None:
        sim.serve(ctx.obj, echo, command=invocation())


@simulate.command("text")
@click.argument("sender")
@click.argument("text")
@click.pass_obj
def simulate_text(place: Any, sender: str, text: str) -> None:
    """Make a running simulator receive an SMS from SENDER.

    Example:

    \b
      anti-relous simulate text +33612345678 "salut"
    """
    from anti_relous.simulator.control import control

    answer = control(place.socket, {"op": "deliver", "sender": sender, "text": text})
    echo(f"Delivered from {sender} ({plural(answer['parts'], 'part')}).")


@simulate.command("sent")
@click.pass_obj
def simulate_sent(place: Any) -> None:
    """List the SMS the line sent through a running simulator.

    Example:

    \b
      anti-relous simulate sent
    """
    from anti_relous.simulator.control import control

    answer = control(place.socket, {"op": "sent"})
    messages = answer["messages"]
    for number, text in messages:
        echo(f"to {number}: {text}")
    if not messages:
        echo("Nothing sent yet.")
