"""The `anti-relous` command line: thin click commands over the store, the service and the modem."""

from __future__ import annotations

import click

from anti_relous import __version__


@click.group()
@click.version_option(__version__, prog_name="anti-relous")
def cli() -> None:
    """Run and steer an anti-relous SMS line."""


def main() -> None:
    """Console-script entry point."""
    cli()
