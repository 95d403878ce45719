"""What the line answers an admin command: one GSM-7 part each, in French. Pure.

Times are the machine's local time (``tz`` None), the operators' own.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, tzinfo

from anti_relous.coding import one_gsm7_part
from anti_relous.config import format_duration
from anti_relous.remote.commands import USAGE, Verb


def _moment(moment: datetime, now: datetime, tz: tzinfo | None) -> str:
    """``01:30`` within a day, ``05/12 14:00`` further away."""
    local = moment.astimezone(tz)
    if moment - now < timedelta(hours=20):
        return local.strftime("%H:%M")
    return local.strftime("%d/%m %H:%M")


def paused(
    until: datetime | None, duration: timedelta | None, now: datetime, tz: tzinfo | None = None
) -> str:
    """PAUSE done."""
    if until is None or duration is None:
        return one_gsm7_part(
            "Ligne en pause jusqu'à RESUME. Les SMS restent enregistrés, aucune réponse "
            "automatique ne part."
        )
    return one_gsm7_part(
        f"Ligne en pause jusqu'à {_moment(until, now, tz)} ({format_duration(duration)}). "
        "Les SMS restent enregistrés. RESUME + code pour reprendre avant."
    )


def resumed(was_paused: bool) -> str:
    """RESUME done (or nothing to do)."""
    if not was_paused:
        return "La ligne n'était pas en pause : elle répond déjà."
    return "Ligne relancée : les réponses automatiques reprennent dès le prochain SMS."


def blocked(number: str, until: datetime | None, now: datetime, tz: tzinfo | None = None) -> str:
    """BLOCK done."""
    end = f"jusqu'au {_moment(until, now, tz)}" if until else "sans limite"
    return one_gsm7_part(
        f"{number} bloqué {end} : plus aucune réponse à ce numéro. "
        f"Levez-le avec anti-relous unblock {number}"
    )


def allowed(number: str, already: bool) -> str:
    """ALLOW done (or nothing to do)."""
    if already:
        return one_gsm7_part(f"{number} était déjà sur la liste de confiance.")
    return one_gsm7_part(
        f"{number} ajouté à la liste de confiance : jamais mis en attente ni ignoré pendant "
        f"une attaque. Retirez-le avec anti-relous disallow {number}"
    )


def bad_number(typed: str) -> str:
    """BLOCK or ALLOW of something that is not a phone number."""
    return one_gsm7_part(f"Numéro {typed[:20]!r} incompris. Écrivez-le ainsi : +33612345678")


def not_available(verb: Verb) -> str:
    """A command this version of the line cannot carry out."""
    return one_gsm7_part(f"{verb.value} indisponible sur cette ligne pour l'instant.")


def malformed(verb: Verb, problem: str) -> str:
    """A command whose code was right but whose arguments were not."""
    return one_gsm7_part(f"{verb.value} non fait : {problem}. HELP pour la liste.")


def help_text() -> str:
    """HELP: every command in one part."""
    commands = ", ".join(USAGE[verb] for verb in Verb if verb is not Verb.HELP)
    return one_gsm7_part(f"Commandes : {commands}. CODE = les 6 chiffres de l'appli.")


@dataclass(frozen=True)
class LineSnapshot:
    """What STATUS reports, read from the store by the caller."""

    paused_until: datetime | None
    paused: bool
    flood: bool
    modem_ok: bool | None
    signal_dbm: int | None
    sim_used: int | None
    sim_total: int | None
    inbound_last_hour: int
    sent_last_hour: int
    hourly_cap: int
    sent_last_day: int
    daily_cap: int
    queued: int


def status(snapshot: LineSnapshot, now: datetime, tz: tzinfo | None = None) -> str:
    """STATUS: the line at a glance, one part."""
    s = snapshot
    if s.paused:
        state = f"pause jusqu'à {_moment(s.paused_until, now, tz)}" if s.paused_until else "pause"
    else:
        state = "active"
    if s.modem_ok is None:
        modem = "modem ?"
    elif not s.modem_ok:
        modem = "modem injoignable"
    else:
        modem = "modem ok"
        if s.signal_dbm is not None:
            modem += f" {s.signal_dbm}dBm"
        if s.sim_used is not None and s.sim_total is not None:
            modem += f" SIM {s.sim_used}/{s.sim_total}"
    return one_gsm7_part(
        f"Ligne {state}, attaque {'OUI' if s.flood else 'non'}, {modem}. 1h : "
        f"{s.inbound_last_hour} SMS arrivés. Envois {s.sent_last_hour}/{s.hourly_cap} h, "
        f"{s.sent_last_day}/{s.daily_cap} j. File {s.queued}."
    )
