"""The siege: attack families mixed with genuine texters over 36 h, through `anti-relous replay`.

An attacker who cannot bankrupt the line wants to silence it. Each family below is one way to try,
mixed with 60 genuine texters (a third of them texting while the attack runs), and replayed through
the line's own policy in virtual time (`anti-relous replay`, a subprocess, default configuration
and one alert number). The generator's labels (bot or genuine) never reach the line: they stay
here to score what it did.

Families:
- ``control``: no attack.
- ``raid``: ~20,000 SMS in 6 h from ~120 numbers, copypasta in waves of bursts (the seed attack).
- ``swarm``: 600 fresh numbers, 1-2 SMS each within 2 h, below the flood threshold.
- ``drip``: one SMS from a fresh number every few minutes for 36 h, each text its own.
- ``spoof``: senders spoofing ~40 real people's numbers, so that the line texts the victims.
- ``fragments``: 30 bots sending 10 lone first parts of long SMS each (no message ever completes).
- ``farm``: a SIM farm: 200 numbers from two consecutive blocks, unique texts, over 3 h.
- ``mimic``: 150 bots writing like people (unique texts, a follow-up minutes later) over 6 h;
  the family the line cannot tell apart by content: it shows what pacing alone saves.

Scores per family, for today's policy (``[attack] mode = "off"``: flood mode mutes every reply)
next to the attack-aware one (the default): genuine texters answered within 30 min of their first
SMS (all, and those whose first SMS fell inside the attack), bot numbers answered, distinct
numbers and replies the line spent, and the replay's own time.

    .venv/bin/python benchmarks/siege.py                  # every family, seed 1 (~3 min)
    .venv/bin/python benchmarks/siege.py --seeds 1 2 3    # robustness across traffic draws
    .venv/bin/python benchmarks/siege.py --family drip --keep /tmp/siege
"""

from __future__ import annotations

import argparse
import json
import math
import random
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results"
CLI = [sys.executable, "-m", "anti_relous"]

SPAN = timedelta(hours=36)
START = datetime(2026, 12, 1, 6, 0, tzinfo=UTC)
#: When the attacks start: ten hours into the window, so the line has some history first.
ATTACK_AT = START + timedelta(hours=10)
ANSWER_WITHIN = timedelta(minutes=30)
ALERT_NUMBER = "+33695000001"
GENUINE = 60

# --- texts ---------------------------------------------------------------------------------------

NAMES = (
    "Karim", "Yanis", "Julien", "Mehdi", "Thomas", "Lucas", "Nico", "Sami", "Hugo", "Bilal",
    "Antoine", "Maxime", "Rayan", "Théo", "Adam", "Enzo", "Kevin", "Samir", "Alex", "Paul",
    "Jordan", "Romain", "Moussa", "Quentin", "Ilyes", "Baptiste", "Malik", "Florian", "Omar",
)  # fmt: skip
PLACES = (
    "au métro", "à la gare de Lyon", "à la boulangerie", "au Franprix", "dans le bus 38",
    "à la soirée de Léa", "au parc", "à la fac", "au café en bas", "à la salle de sport",
    "devant le cinéma", "au marché", "sur le quai", "à la laverie", "au concert", "au bar",
    "à la fête de la musique", "au Monop", "à l'arrêt de tram", "chez Sophie", "au boulot",
)  # fmt: skip
WHEN = (
    "tout à l'heure", "hier soir", "ce matin", "samedi", "la semaine dernière", "vendredi",
    "cet aprem", "dimanche", "lundi", "hier", "avant-hier",
)  # fmt: skip
OPENERS = (
    "Salut", "Bonsoir", "Coucou", "Hello", "Bonjour", "Hey", "Yo", "Re", "Salut toi", "Wesh",
    "Bonsoir mademoiselle", "Cc", "Slt", "Hello hello", "Bjr",
)  # fmt: skip
GENUINE_CLAUSES = (
    "c'est {name}, on s'est croisés {place} {when}",
    "c'est {name} de {place}",
    "tu m'as donné ton numéro {place}",
    "j'espère que je te dérange pas",
    "c'est bien ton numéro ?",
    "je voulais savoir si ça te dirait un verre un de ces jours",
    "on a parlé {when} {place}, tu te souviens ?",
    "j'ai pas arrêté de penser à notre discussion",
    "je suis le mec avec le chien",
    "désolé si c'est bizarre d'écrire comme ça",
    "t'avais l'air pressée {when}",
    "je me suis dit que j'allais tenter ma chance",
    "tu fais quoi ce week-end ?",
    "je sais pas si tu te rappelles de moi",
    "j'ai adoré ton rire",
    "t'es dispo pour un café ?",
    "on était à côté {place}",
    "tu m'avais dit de t'écrire",
    "je passe souvent {place}",
    "j'ai trouvé ça sympa de discuter avec toi",
    "t'as bien dit {name} pour ton pote ?",
    "je reviens de vacances et je retrouve ton numéro",
    "mon pote m'a dit que c'était pas ton vrai numéro mais bon",
    "tu bosses toujours là-bas ?",
    "ça va depuis {when} ?",
    "j'ai ton écharpe, tu l'as oubliée {place}",
    "j'espère que t'es bien rentrée",
    "on se refait une partie de billard ?",
    "j'ai vu que t'aimais le jazz, y'a un concert jeudi",
    "c'est moi qui t'ai aidée avec ta valise",
    "j'ai mis du temps à oser t'écrire",
    "tu peux m'appeler quand tu veux",
    "tu m'avais parlé d'un resto libanais, c'est lequel ?",
    "je t'envoie un message comme promis",
    "tu préfères que je t'appelle ?",
    "j'ai pensé à toi en passant {place}",
)
GENUINE_FOLLOW_UPS = (
    "?", "Allô ?", "T'as eu mon message ?", "Réponds quand tu peux", "C'est {name} au fait",
    "Désolé j'insiste pas", "Bon ben tant pis", "Tu dors ?", "Je me suis trompé de numéro ?",
    "Bonne soirée en tout cas", "Pourquoi tu réponds pas", "Ok je comprends", "Hé",
    "C'était {name} {place}", "Tu m'en veux ?", "Juste un mot stp", "Bon je laisse tomber",
)  # fmt: skip
SALUT = ("Salut ça va ?", "Salut ça va?", "salut ca va ?", "Salut, ça va ?")

BOT_COPYPASTA = (
    "t'es charmante, tu me donnes ton 06 ?",
    "réponds stp",
    "pourquoi tu réponds pas ??",
    "je t'ai vue à la gare hier soir, t'étais belle",
    "allez sois pas timide",
    "t'es où là ?",
    "on se voit ce soir ?",
    "tu m'as donné un faux numéro ou quoi",
    "salut bb ça va ?",
    "wesh réponds",
    "je sais où tu descends",
    "😘😘",
    "🔥🔥🔥 réponds",
    "Je t'ai vue ce matin sur le quai de la ligne 13 et franchement tu m'as rendu fou.",
    "Tu fais la fiere mais je sais que tu lis mes messages, alors arrete ton cinema.",
    "Si tu réponds pas je vais continuer à t'écrire toute la nuit, j'ai que ça à faire.",
    "Donne-moi juste ton prénom et ton insta et je te laisse tranquille, promis.",
    "Tu m'as donné ce numéro exprès pour te moquer de moi ? Réponds au moins.",
    "ce numéro anti relous c'est une blague, on va le faire sauter",
    "Les féministes qui filent des faux numéros, vous allez payer vos SMS",
)
BOT_CLAUSES = (
    "t'es trop bonne", "réponds-moi", "je t'ai vue {place}", "tu fais la fière",
    "donne ton snap", "t'as un mec ?", "je sais où tu bosses", "arrête de faire la meuf",
    "t'étais mieux {when}", "on va se retrouver", "t'as cru quoi", "je te lâcherai pas",
    "t'es qu'une menteuse", "viens {place} ce soir", "file ton insta", "t'es vexée ?",
    "je passe te voir", "ton numéro c'est un fake", "souris un peu", "t'es seule ?",
    "je connais ta rue", "fais pas genre", "c'était toi {place} ?", "t'as peur ou quoi",
)  # fmt: skip


def fill(rng: random.Random, template: str) -> str:
    return template.format(name=rng.choice(NAMES), place=rng.choice(PLACES), when=rng.choice(WHEN))


def own_words(rng: random.Random) -> str:
    """A stranger's own first SMS: an opener and one to three clauses of their own."""
    clauses = [fill(rng, c) for c in rng.sample(GENUINE_CLAUSES, rng.choice((1, 1, 2, 2, 3)))]
    text = rng.choice(OPENERS) + rng.choice((", ", " ", "! ", " ! ")) + ". ".join(clauses)
    return text + rng.choice(("", "", " 🙂", " :)", "!", " ?", "..."))


def bot_unique(rng: random.Random) -> str:
    """A harassment text assembled on the fly: each one its own, as a drip bot's."""
    clauses = [fill(rng, c) for c in rng.sample(BOT_CLAUSES, rng.choice((1, 2, 2, 3)))]
    return (
        rng.choice(("", "", "wesh ", "eh ", "oh "))
        + " ".join(clauses)
        + rng.choice(("", " !", " ?", " 😏", " 😂", "!!"))
    )


def copypasta(rng: random.Random, pool: tuple[str, ...]) -> str:
    """A campaign text with the small variations bots add to defeat exact matching."""
    text = rng.choice(pool)
    roll = rng.random()
    if roll < 0.25:
        text += f" {rng.randint(1, 999)}"
    elif roll < 0.4:
        text += rng.choice((" !!", " ??", " ...", " 😂", " bb"))
    elif roll < 0.5:
        text = text.upper()
    return text


# --- numbers -------------------------------------------------------------------------------------


class Numbers:
    """Fresh French mobile numbers, never the same twice in one run."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.used: set[str] = {ALERT_NUMBER}

    def fresh(self, prefix: str | None = None) -> str:
        """A valid French mobile number (phonenumbers' word), never handed out before."""
        while True:
            if prefix is None:  # a French mobile: 06, or 073 to 079
                lead = self.rng.choice(("6", "6", "6", *(f"7{d}" for d in "3456789")))
                tail = self.rng.randint(0, 10 ** (9 - len(lead)) - 1)
                number = f"+33{lead}{tail:0{9 - len(lead)}d}"
            else:
                number = prefix + "".join(
                    self.rng.choice("0123456789") for _ in range(12 - len(prefix))
                )
            if number not in self.used and (prefix is not None or _valid_mobile(number)):
                self.used.add(number)
                return number


def _valid_mobile(number: str) -> bool:
    import phonenumbers

    parsed = phonenumbers.parse(number)
    return phonenumbers.is_valid_number(parsed) and phonenumbers.number_type(parsed) in (
        phonenumbers.PhoneNumberType.MOBILE,
    )


# --- traffic -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Sms:
    at: datetime
    sender: str
    text: str
    bot: bool
    deliver_parts: tuple[int, ...] | None = None


@dataclass
class Traffic:
    family: str
    attack: tuple[datetime, datetime] | None
    sms: list[Sms] = field(default_factory=list)

    def add(self, at: datetime, sender: str, text: str, *, bot: bool, **extra: Any) -> None:
        self.sms.append(Sms(at, sender, text, bot, **extra))

    def jsonl(self) -> str:
        """What the line sees: no labels."""
        lines = []
        for sms in sorted(self.sms, key=lambda s: s.at):
            record: dict[str, Any] = {
                "received_at": sms.at.isoformat(), "sender": sms.sender, "text": sms.text,
            }  # fmt: skip
            if sms.deliver_parts is not None:
                record["deliver_parts"] = list(sms.deliver_parts)
            lines.append(json.dumps(record, ensure_ascii=False))
        return "\n".join(lines) + "\n"


def daytime_moment(rng: random.Random, start: datetime, end: datetime) -> datetime:
    """A moment in [start, end), people texting more by day than by night."""
    while True:
        at = start + (end - start) * rng.random()
        hour = (at.hour + 1) % 24  # Paris time in winter
        if rng.random() < (0.25 if hour < 8 else 1.0):
            return at


def add_genuine(traffic: Traffic, rng: random.Random, numbers: Numbers) -> None:
    """60 strangers, each writing their own words 1-4 times; some insist; some just say hi."""
    end = START + SPAN
    attack = traffic.attack
    for person in range(GENUINE):
        number = numbers.fresh()
        if attack is not None and person < GENUINE // 3:
            first = attack[0] + (attack[1] - attack[0]) * rng.random()
        else:
            first = daytime_moment(rng, START, end - timedelta(hours=1))
        insisting = rng.random() < 0.1
        count = rng.randint(5, 8) if insisting else rng.choices((1, 2, 3, 4), (35, 30, 20, 15))[0]
        text = rng.choice(SALUT) if rng.random() < 0.15 else own_words(rng)
        at = first
        for n in range(count):
            traffic.add(at, number, text, bot=False)
            gap = rng.uniform(20, 180) if insisting else math.exp(rng.gauss(math.log(240), 1.2))
            at += timedelta(seconds=gap)
            text = fill(rng, rng.choice(GENUINE_FOLLOW_UPS)) if n % 2 == 0 else own_words(rng)


def raid(traffic: Traffic, rng: random.Random, numbers: Numbers) -> None:
    """~20,000 SMS in 6 h from ~120 numbers: waves of bursts of copypasta."""
    start, end = traffic.attack or (ATTACK_AT, ATTACK_AT)
    bots = [numbers.fresh() for _ in range(rng.randint(110, 130))]
    target = rng.randint(19_000, 21_000)
    waves = rng.randint(3, 5)
    span = (end - start) / waves
    sent = 0
    while sent < target:
        wave = rng.randrange(waves)
        # Each wave is run by most bots; a burst is one bot sending several SMS in a row.
        bot = rng.choice(bots[: int(len(bots) * (0.5 + 0.5 * (wave + 1) / waves))])
        at = start + span * wave + span * 0.7 * rng.random()
        for _ in range(rng.randint(3, 25)):
            traffic.add(at, bot, copypasta(rng, BOT_COPYPASTA), bot=True)
            at += timedelta(seconds=rng.uniform(0.5, 8))
            sent += 1


def swarm(traffic: Traffic, rng: random.Random, numbers: Numbers) -> None:
    """600 fresh numbers, 1-2 SMS each within 2 h (under the flood threshold)."""
    start, end = traffic.attack or (ATTACK_AT, ATTACK_AT)
    pool = tuple(rng.sample(BOT_COPYPASTA, 8))
    for _ in range(600):
        bot = numbers.fresh()
        at = start + (end - start) * rng.random()
        for _ in range(rng.choice((1, 2))):
            traffic.add(min(at, end), bot, copypasta(rng, pool), bot=True)
            at += timedelta(seconds=rng.uniform(30, 900))


def drip(traffic: Traffic, rng: random.Random, numbers: Numbers) -> None:
    """One SMS from a fresh number every few minutes for the whole window, each text unique."""
    start, end = traffic.attack or (START, START)
    mean_gap = rng.uniform(5, 9) * 60
    at = start
    while at < end:
        traffic.add(at, numbers.fresh(), bot_unique(rng), bot=True)
        at += timedelta(seconds=rng.expovariate(1 / mean_gap))


def spoof(traffic: Traffic, rng: random.Random, numbers: Numbers) -> None:
    """Texts sent under ~40 real people's numbers, so that the line texts them."""
    start, end = traffic.attack or (ATTACK_AT, ATTACK_AT)
    pool = tuple(rng.sample(BOT_COPYPASTA, 5))
    for _ in range(rng.randint(35, 45)):
        victim = numbers.fresh()
        at = start + (end - start) * rng.random()
        for _ in range(rng.randint(1, 3)):
            traffic.add(at, victim, copypasta(rng, pool), bot=True)
            at += timedelta(seconds=rng.uniform(5, 120))


LONG_BOT = (
    "Ecoute moi bien, tu crois que tu peux donner des faux numeros aux gens sans consequence mais "
    "on est nombreux et on a du temps, alors on va t'ecrire jusqu'a ce que tu comprennes que ca "
    "ne se fait pas. Tu aurais mieux fait de repondre poliment la premiere fois au lieu de faire "
    "la maligne avec ton numero de feministe."
)


def fragments(traffic: Traffic, rng: random.Random, numbers: Numbers) -> None:
    """30 bots x 10 lone first parts of long SMS within 20 minutes: no message completes."""
    start = (traffic.attack or (ATTACK_AT, ATTACK_AT))[0]
    for _ in range(30):
        bot = numbers.fresh()
        for _ in range(10):
            at = start + timedelta(minutes=20) * rng.random()
            text = LONG_BOT + f" {rng.randint(1000, 9999)}"
            traffic.add(at, bot, text, bot=True, deliver_parts=(1,))


def farm(traffic: Traffic, rng: random.Random, numbers: Numbers) -> None:
    """A SIM farm: 200 numbers from two consecutive blocks, unique texts, 1-2 SMS, over 3 h."""
    start, end = traffic.attack or (ATTACK_AT, ATTACK_AT)
    blocks = [numbers.fresh()[:-4] for _ in "ab"]  # blocks holding valid mobiles
    for _ in range(200):
        bot = numbers.fresh(rng.choice(blocks))
        at = start + (end - start) * rng.random()
        for _ in range(rng.choice((1, 1, 2))):
            traffic.add(at, bot, bot_unique(rng), bot=True)
            at += timedelta(seconds=rng.uniform(60, 1200))


def mimic(traffic: Traffic, rng: random.Random, numbers: Numbers) -> None:
    """150 bots writing like people: unique texts, a follow-up 1-10 minutes later, over 6 h."""
    start, end = traffic.attack or (ATTACK_AT, ATTACK_AT)
    for _ in range(150):
        bot = numbers.fresh()
        at = start + (end - start) * rng.random()
        traffic.add(at, bot, own_words(rng), bot=True)
        traffic.add(at + timedelta(seconds=rng.uniform(60, 600)), bot, own_words(rng), bot=True)


@dataclass(frozen=True)
class Family:
    name: str
    #: (offset from START, duration) of the attack; None for the control.
    window: tuple[timedelta, timedelta] | None
    generate: Callable[[Traffic, random.Random, Numbers], None] | None


FAMILIES = {
    family.name: family
    for family in (
        Family("control", None, None),
        Family("raid", (timedelta(hours=10), timedelta(hours=6)), raid),
        Family("swarm", (timedelta(hours=10), timedelta(hours=2)), swarm),
        Family("drip", (timedelta(0), SPAN), drip),
        Family("spoof", (timedelta(hours=10), timedelta(hours=1)), spoof),
        Family("fragments", (timedelta(hours=10), timedelta(minutes=20)), fragments),
        Family("farm", (timedelta(hours=10), timedelta(hours=3)), farm),
        Family("mimic", (timedelta(hours=10), timedelta(hours=6)), mimic),
    )
}


def build(family: Family, seed: int) -> Traffic:
    rng = random.Random(f"{family.name}-{seed}")
    attack = None
    if family.window is not None:
        offset, duration = family.window
        attack = (START + offset, START + offset + duration)
    traffic = Traffic(family.name, attack)
    numbers = Numbers(rng)
    if family.generate is not None:
        family.generate(traffic, rng, numbers)
    add_genuine(traffic, rng, numbers)
    return traffic


# --- replay and score ----------------------------------------------------------------------------


def config_text(mode: str, database: Path, attack: tuple[str, ...] = ()) -> str:
    return (
        f'[storage]\ndatabase = "{database}"\n\n[alerts]\nnumbers = ["{ALERT_NUMBER}"]\n\n'
        f'[attack]\nmode = "{mode}"\n' + "".join(f"{line}\n" for line in attack)
    )


def run_replay(
    traffic: Traffic, mode: str, workdir: Path, attack: tuple[str, ...] = ()
) -> dict[str, Any]:
    workdir.mkdir(parents=True, exist_ok=True)
    (workdir / "traffic.jsonl").write_text(traffic.jsonl(), encoding="utf-8")
    config = workdir / f"{mode}.toml"
    config.write_text(config_text(mode, workdir / "line.db", attack), encoding="utf-8")
    sent_path, db_path = workdir / f"sent-{mode}.jsonl", workdir / f"replay-{mode}.db"
    db_path.unlink(missing_ok=True)
    started = time.monotonic()
    done = subprocess.run(
        [*CLI, "--config", str(config), "replay", str(workdir / "traffic.jsonl"),
         "--output", str(sent_path), "--database", str(db_path), "--json"],
        capture_output=True, text=True, check=False, cwd=ROOT,
    )  # fmt: skip
    wall = time.monotonic() - started
    if done.returncode != 0:
        raise SystemExit(f"replay failed ({traffic.family}, {mode}):\n{done.stderr}")
    summary = json.loads(done.stdout)
    sent = [json.loads(line) for line in sent_path.read_text().splitlines() if line]
    return {"summary": summary, "sent": sent, "wall_s": round(wall, 2)}


def score(traffic: Traffic, replayed: dict[str, Any]) -> dict[str, Any]:
    first: dict[str, datetime] = {}
    bots: set[str] = set()
    for sms in sorted(traffic.sms, key=lambda s: s.at):
        if sms.bot:
            bots.add(sms.sender)
        else:
            first.setdefault(sms.sender, sms.at)
    replies: dict[str, datetime] = {}
    recipients: set[str] = set()
    for record in replayed["sent"]:
        recipients.add(record["to"])
        if record["kind"] == "reply":
            at = datetime.fromisoformat(record["sent_at"])
            replies.setdefault(record["to"], at)
    answered = {n for n, at in first.items() if n in replies and replies[n] - at <= ANSWER_WITHIN}
    during = set()
    if traffic.attack is not None:
        start, end = traffic.attack
        during = {n for n, at in first.items() if start <= at < end}
    summary = replayed["summary"]
    bots_answered = len(bots & replies.keys())
    waits = sorted((replies[n] - first[n]).total_seconds() for n in answered)
    return {
        "genuine": len(first),
        "genuine_answered": len(answered),
        "during": len(during),
        "during_answered": len(answered & during),
        "genuine_ever_answered": len(first.keys() & replies.keys()),
        # How long the answered waited: what a hold costs the people it lets through.
        "wait_p50_s": round(waits[len(waits) // 2]) if waits else None,
        "wait_max_s": round(waits[-1]) if waits else None,
        "bots": len(bots),
        "bots_answered": bots_answered,
        "bot_share_answered": round(bots_answered / len(bots), 4) if bots else None,
        "recipients": len(recipients),
        "bot_recipients": len(bots & recipients),
        "replies": sum(1 for r in replayed["sent"] if r["kind"] == "reply"),
        "alerts": sum(1 for r in replayed["sent"] if r["kind"] == "alert"),
        "messages": summary["messages"],
        "decisions": summary["decisions"],
        "replay_s": summary["elapsed_s"],
        "wall_s": replayed["wall_s"],
        "latencies_s": {
            n: round((replies[n] - first[n]).total_seconds(), 1) for n in first if n in replies
        },
    }


def pct(part: int, whole: int) -> str:
    return f"{part}/{whole} ({100 * part / whole:.0f}%)" if whole else "-"


def wait_text(score: dict[str, Any]) -> str:
    if score["wait_p50_s"] is None:
        return "-"
    return f"{score['wait_p50_s']}/{score['wait_max_s']}"


def print_table(rows: list[dict[str, Any]]) -> None:
    header = (
        f"{'family':<10} {'policy':<8} {'msgs':>6} {'genuine answered':>17} "
        f"{'during attack':>15} {'bot numbers answered':>21} {'recipients':>10} "
        f"{'replies':>7} {'wait p50/max s':>14} {'replay s':>8}"
    )
    print(header)
    print("-" * len(header))
    for row in rows:
        s = row["score"]
        print(
            f"{row['family']:<10} {row['policy']:<8} {s['messages']:>6} "
            f"{pct(s['genuine_answered'], s['genuine']):>17} "
            f"{pct(s['during_answered'], s['during']):>15} "
            f"{pct(s['bots_answered'], s['bots']):>21} {s['recipients']:>10} "
            f"{s['replies']:>7} {wait_text(s):>14} {s['replay_s']:>8.1f}"
        )


def control_latency(rows: list[dict[str, Any]]) -> str | None:
    """How much later the new policy answered any control texter than today's."""
    by_policy = {r["policy"]: r["score"] for r in rows if r["family"] == "control"}
    if set(by_policy) != {"today", "new"}:
        return None
    old, new = by_policy["today"]["latencies_s"], by_policy["new"]["latencies_s"]
    later = [new[n] - old[n] for n in old if n in new]
    missing = [n for n in old if n not in new]
    worst = max(later, default=0.0)
    return (
        f"control: worst extra delay vs today {worst:.0f} s; answered by today only: {len(missing)}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--family", action="append", choices=sorted(FAMILIES))
    parser.add_argument("--seeds", type=int, nargs="+", default=[1])
    parser.add_argument("--policy", choices=("both", "today", "new"), default="both")
    parser.add_argument("--keep", type=Path, help="keep traffic, configs and databases here")
    parser.add_argument("--output", type=Path, default=RESULTS / "siege.json")
    parser.add_argument(
        "--attack",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="an [attack] setting for both policies, as TOML (--attack 'hold = \"5m\"')",
    )
    args = parser.parse_args()
    names = args.family or list(FAMILIES)
    modes = {"today": "off", "new": "enforce"}
    policies = ["today", "new"] if args.policy == "both" else [args.policy]
    rows = []
    with tempfile.TemporaryDirectory(prefix="siege-") as scratch:
        base = args.keep or Path(scratch)
        for seed in args.seeds:
            for name in names:
                traffic = build(FAMILIES[name], seed)
                for policy in policies:
                    replayed = run_replay(
                        traffic, modes[policy], base / f"{name}-{seed}", tuple(args.attack)
                    )
                    rows.append({
                        "family": name, "seed": seed, "policy": policy,
                        "score": score(traffic, replayed),
                    })  # fmt: skip
                    print(f"  {name} seed {seed} {policy}: {replayed['wall_s']} s", file=sys.stderr)
    print_table(rows)
    latency = control_latency(rows)
    if latency:
        print(latency)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    for row in rows:
        row["score"].pop("latencies_s", None)
    args.output.write_text(json.dumps({"rows": rows}, indent=2, ensure_ascii=False))


if __name__ == "__main__":
    main()
