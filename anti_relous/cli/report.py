"""The complaint pack command: `anti-relous report`."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from anti_relous.cli.base import (
    App,
    cli,
    echo,
    moment_callback,
    pass_app,
    period_or_exit,
    sender_filter,
    usage_error,
)

if TYPE_CHECKING:
    from anti_relous.store import SenderMatch


def _senders(app: App, raw: str | None) -> SenderMatch | None:
    """``--from``: one sender, or with a trailing ``*`` every number starting with a prefix."""
    if raw is None:
        return None
    from anti_relous.numbers import normalise_prefix
    from anti_relous.store import SenderMatch

    if not raw.endswith("*"):
        return SenderMatch(sender_filter(app, raw) or raw)
    prefix = normalise_prefix(raw[:-1], app.config.line.default_region)
    if prefix is None or len(prefix) < 3:
        raise usage_error(
            f"--from: {raw!r} is not a number prefix; write it as +33756* or 0756* (digits, then *)"
        )
    return SenderMatch(prefix, is_prefix=True)


@cli.command(short_help="Write the complaint pack of a period, for a complaint.")
@click.option(
    "--since", metavar="TIME", callback=moment_callback(ahead=False), help="e.g. 2026-11-28, 48h."
)
@click.option("--until", metavar="TIME", callback=moment_callback(ahead=False), help="Same forms.")
@click.option(
    "--from",
    "sender",
    metavar="NUMBER|PREFIX*",
    help="Only this sender, or with a trailing * the numbers starting with a prefix.",
)
@click.option(
    "--lang",
    type=click.Choice(["fr", "en"]),
    default="fr",
    show_default=True,
    help="Language of report.html.",
)
@click.option(
    "--output",
    "-o",
    required=True,
    metavar="DIR",
    type=click.Path(path_type=Path),
    help="A new folder (or an empty one) for the pack.",
)
@click.option(
    "--sign",
    "key",
    metavar="KEY",
    help="Also sign SHA256SUMS with this OpenPGP key (gpg): SHA256SUMS.asc.",
)
@pass_app
def report(
    app: App,
    since: datetime | None,
    until: datetime | None,
    sender: str | None,
    lang: str,
    output: Path,
    key: str | None,
) -> None:
    """Write the complaint pack of a period: report.html, messages, numbers for 33700, SHA256SUMS.

    report.html (French by default) holds the summary, a timeline, the messages to read first
    (threats, personal data, insults), senders by volume, campaigns, the full log and how to
    check the evidence chain; it opens and prints from any browser. messages.csv and
    messages.jsonl are the same rows as `export`. Without --since, from the first message.
    --sign adds an OpenPGP signature of SHA256SUMS by your key (never needed).

    Examples:

    \b
      anti-relous report --since 2026-11-28 --until 2026-11-30 --output plainte-novembre
      anti-relous report --from 0612345678 --lang en --output complaint-0612345678
    """
    from anti_relous import report as pack_report

    pack_report.require_extra()
    from anti_relous.clock import utc_now
    from anti_relous.report import html, model, pack
    from anti_relous.report.flags import load_flag_list
    from anti_relous.report.signature import sign

    period_or_exit(since, until)
    pack.check_target(output)
    config, store = app.config, app.store
    senders = _senders(app, sender)
    flag_list = load_flag_list(config.report.flags, config.report.founders)
    made = model.build(
        store, config, since=since, until=until, senders=senders, flag_list=flag_list,
        now=utc_now(), tz=None,
    )  # fmt: skip
    filters: dict[str, Any] = {"since": since, "until": until, "sender": senders}
    names = pack.write_pack(
        output,
        {
            "report.html": lambda path: path.write_text(
                html.render(made, lang, signed_by=key), encoding="utf-8"
            ),
            "messages.csv": pack.messages_writer(store, "csv", filters),
            "messages.jsonl": pack.messages_writer(store, "json", filters),
            "numbers-33700.txt": lambda path: path.write_text(
                pack.numbers_text(made.attack_numbers), encoding="utf-8"
            ),
            "check_chain.py": lambda path: path.write_text(html.check_script(), encoding="utf-8"),
        },
        signed=(lambda sums, signature: sign(sums, signature, key)) if key else None,
    )
    chain = "chain OK" if made.chain.ok else f"CHAIN BROKEN at message {made.chain.broken_id}"
    echo(
        f"Wrote {output}/report.html ({len(made.entries)} messages, {len(made.flagged)} "
        f"flagged, {len(made.campaigns)} campaigns, {chain})"
    )
    echo(f"  with {', '.join(names[1:])}; check with `sha256sum -c SHA256SUMS` in {output}")
    if key:
        echo("  signed: check with `gpg --verify SHA256SUMS.asc SHA256SUMS`")
