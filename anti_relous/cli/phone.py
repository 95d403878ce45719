"""`anti-relous admin ...`: enrol, list and revoke the phones allowed to steer the line by SMS."""

from __future__ import annotations

import click

from anti_relous.cli.base import App, CliError, cli, echo, echo_json, pass_app
from anti_relous.clock import utc_now


@cli.group(short_help="Steer the line by SMS: enrol, list and revoke admin phones.")
def admin() -> None:
    """Steer the line by SMS from the phones of [admin] numbers: enrol them here.

    An enrolled phone texts the line PAUSE [2h] CODE, RESUME CODE, STATUS CODE,
    BLOCK NUMBER [7d] CODE, ALLOW NUMBER CODE or HELP, CODE being its authenticator
    app's 6 digits.

    Example:

    \b
      anti-relous admin
    """


@admin.command(short_help="Give an [admin] numbers phone its secret for SMS commands.")
@click.argument("number")
@click.option(
    "--pin",
    "use_pin",
    is_flag=True,
    help="A static PIN (6 to 8 digits, asked twice) instead of an app: weaker, see README.",
)
@pass_app
def enroll(app: App, number: str, use_pin: bool) -> None:
    """Give an [admin] numbers phone its secret for SMS commands, replacing any previous one.

    Prints the secret once, as a QR code and an otpauth:// link for an authenticator app
    (Aegis, FreeOTP, Google Authenticator...). Works before the daemon's first start: the
    database is created if needed, and the daemon needs no restart.

    Examples:

    \b
      anti-relous admin enroll 0612345678
      anti-relous admin enroll +33612345678 --pin
    """
    from anti_relous.admin import enroll as enrolment
    from anti_relous.cli.render import stdout_unicode

    config = app.config
    target = enrolment.admin_number(config, number)
    pin = None
    if use_pin:
        pin = enrolment.check_pin(
            click.prompt("PIN (6 to 8 digits)", hide_input=True, confirmation_prompt=True)
        )
    done = enrolment.enroll(config, target, utc_now(), pin=pin)
    if done.database_created:
        echo(f"Created the database {done.database}.")
    again = "Re-enrolled (the previous secret no longer works)" if done.replaced else "Enrolled"
    if done.secret is None or done.uri is None:
        echo(f"{again} {target} with a static PIN.")
        echo(f'Test it: text "STATUS <PIN>" to the line from {target}.')
        return
    echo(f"{again} {target}: scan this with an authenticator app (TOTP, 30 s, 6 digits).")
    echo(enrolment.qr_code(done.uri, unicode=stdout_unicode()))
    echo(f"Or type this key by hand: {enrolment.grouped(done.secret)}")
    echo(done.uri)
    echo(f'Test it: text "STATUS <code>" to the line from {target}; "HELP" lists the commands.')
    echo("Keep the key secret: with it, and a phone that can pass for this number, anyone")
    echo("can steer the line. Enrol again to replace it, `anti-relous admin revoke` to remove it.")


@admin.command(name="list", short_help="The [admin] numbers, who is enrolled, and the lock.")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON array.")
@pass_app
def list_(app: App, as_json: bool) -> None:
    """The [admin] numbers, whether each enrolled, and whether the channel is locked.

    Example:

    \b
      anti-relous admin list
    """
    from anti_relous.admin.enroll import admins
    from anti_relous.cli.render import local_time, table

    now = utc_now()
    rows = admins(app.store, app.config)
    locked_until = app.store.remote.locked_until(now)
    if as_json:
        echo_json({"locked_until": locked_until, "admins": rows})
        return
    if not rows:
        echo("No [admin] numbers: add some to the configuration, then `anti-relous admin enroll`.")
        return
    secrets = {"totp": "TOTP app", "pin": "PIN", None: "not enrolled"}
    echo(
        table(
            ["number", "secret", "since", "in [admin] numbers"],
            [
                (
                    row.number,
                    secrets[row.kind],
                    local_time(row.enrolled_at) if row.enrolled_at else "",
                    "yes" if row.listed else "no (its SMS are not obeyed)",
                )
                for row in rows
            ],
        )
    )
    if locked_until is not None:
        echo(f"The admin SMS channel is LOCKED until {local_time(locked_until)} (wrong codes).")


@admin.command(short_help="Remove a phone's secret: its SMS commands are then ignored.")
@click.argument("number")
@pass_app
def revoke(app: App, number: str) -> None:
    """Remove a phone's secret: its SMS commands are treated as ordinary SMS from now on.

    Example:

    \b
      anti-relous admin revoke 0612345678
    """
    from anti_relous.cli.base import number_or_exit

    target = number_or_exit(app, number)
    if not app.store.remote.revoke(utc_now(), target):
        raise CliError(f"{target} has no secret enrolled: see `anti-relous admin list`")
    echo(f"Revoked {target}: its SMS commands are ignored until it enrolls again.")
