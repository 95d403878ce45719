"""Allow `python -m anti_relous` as an alias of the `anti-relous` command."""

from anti_relous.cli import main

main()
