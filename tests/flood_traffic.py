"""Flood traffic as the network would deliver it: bots, genuine texters, long SMS, repeats.

Shared by ``benchmarks/flood.py`` (full scale) and ``tests/test_chaos.py`` (small scale): each
SMS is already encoded into the DELIVER PDUs that reach the SIM.
"""

from __future__ import annotations

import random
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from anti_relous.coding import fits_gsm7
from anti_relous.modem.pdu import encode_deliver

#: The attack on the first line: 20,000 SMS in under 6 hours.
ATTACK_SPAN = timedelta(hours=6)

BOT_SHORT = (
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
    "t'as un mec ?",
    "je sais où tu descends",
)
BOT_EMOJI = ("😘😘", "😍 t'es trop belle", "🔥🔥🔥 réponds", "t'es vexée ? 😂")
BOT_LONG = (
    "Je t'ai vue ce matin sur le quai de la ligne 13 et franchement tu m'as rendu fou.",
    "Tu fais la fiere mais je sais que tu lis mes messages, alors arrete ton cinema.",
    "Si tu réponds pas je vais continuer à t'écrire toute la nuit, j'ai que ça à faire.",
    "Mes potes disent que t'es pas si belle que ça mais moi je trouve que si.",
    "Donne-moi juste ton prénom et ton insta et je te laisse tranquille, promis.",
    "Tu m'as donné ce numéro exprès pour te moquer de moi ? Réponds au moins.",
    "Je passe tous les jours à la même heure devant ton travail, tu le sais.",
    "T'avais un beau sourire dans le bus, pourquoi tu fais la gueule maintenant ?",
)
GENUINE_TEXTS = (
    "Salut, c'est Karim, on s'est croisés au métro tout à l'heure",
    "Bonsoir, c'est bien ton numéro ?",
    "Coucou c'est Yanis de la soirée de samedi",
    "Hello, tu m'avais donné ton numéro à la boulangerie",
    "Re, t'as eu mon message ?",
)
# Shares of the bots' traffic: long texts (2 parts or more), emoji (UCS-2), byte-identical
# repeats sent in the same second; the rest are short texts. Some bots use foreign numbers.
LONG_SHARE = 0.10
EMOJI_SHARE = 0.12
REPEAT_SHARE = 0.03
FOREIGN_BOT_SHARE = 0.05


@dataclass(frozen=True)
class Sms:
    """One SMS as the network delivers it: its parts, exactly as they reach the SIM."""

    sender: str
    text: str
    pdus: tuple[bytes, ...]
    genuine: bool = False


@dataclass(frozen=True)
class Scenario:
    """The SMS of one replay, in the order they reach the network."""

    name: str
    messages: tuple[Sms, ...]
    bots: int

    @property
    def parts(self) -> int:
        return sum(len(sms.pdus) for sms in self.messages)

    @property
    def genuine_senders(self) -> list[str]:
        return sorted({sms.sender for sms in self.messages if sms.genuine})

    def describe(self) -> dict[str, Any]:
        sizes = Counter(len(sms.pdus) for sms in self.messages)
        return {
            "name": self.name,
            "messages": len(self.messages),
            "parts": self.parts,
            "bots": self.bots,
            "genuine_texters": len(self.genuine_senders),
            "genuine_messages": sum(sms.genuine for sms in self.messages),
            "messages_by_part_count": {str(k): sizes[k] for k in sorted(sizes)},
            "identical_repeats": sum(
                a.pdus == b.pdus for a, b in zip(self.messages, self.messages[1:], strict=False)
            ),
        }


def _numbers(rng: random.Random, count: int, prefixes: tuple[str, ...], digits: int) -> list[str]:
    numbers: set[str] = set()
    while len(numbers) < count:
        tail = "".join(rng.choice("0123456789") for _ in range(digits))
        numbers.add(rng.choice(prefixes) + tail)
    return sorted(numbers)


def _bot_numbers(rng: random.Random, bots: int) -> list[str]:
    foreign = round(bots * FOREIGN_BOT_SHARE)
    # French mobiles: +33 6 (0-2, 4-8) and +33 7 (5-9); Belgian mobiles: +32 47.
    french = _numbers(rng, bots - foreign, tuple(f"+336{d}" for d in "0124578"), 7)
    return french + _numbers(rng, foreign, ("+3247",), 7)


def _bot_text(rng: random.Random) -> str:
    roll = rng.random()
    if roll < LONG_SHARE:
        return " ".join(rng.sample(BOT_LONG, rng.randint(2, 4)))
    if roll < LONG_SHARE + EMOJI_SHARE:
        return rng.choice(BOT_EMOJI)
    return rng.choice(BOT_SHORT) + rng.choice(("", "", " ?", " !!", f" {rng.randint(1, 99)}"))


class _Encoder:
    """Turns (sender, text) into DELIVER PDUs on the attack's timeline, as a network would."""

    def __init__(self, start: datetime, total: int) -> None:
        self.start = start
        self.step = ATTACK_SPAN / max(total, 1)
        self.references: Counter[str] = Counter()

    def encode(self, position: int, sender: str, text: str) -> tuple[bytes, ...]:
        smsc_time = (self.start + self.step * position).replace(microsecond=0)
        # Each phone numbers its long messages itself, one reference after the other.
        self.references[sender] += 1
        reference = self.references[sender] % 256
        return tuple(encode_deliver(sender, text, smsc_time, reference=reference))


def flood_scenario(
    bot_messages: int, bots: int, genuine: int, *, seed: int, start: datetime
) -> Scenario:
    """``bot_messages`` SMS from ``bots`` numbers, and ``genuine`` texters sending one or two
    messages each at random moments."""
    rng = random.Random(seed)
    bot_numbers = _bot_numbers(rng, bots)
    texters = _numbers(rng, genuine, tuple(f"+337{d}" for d in "56789"), 7)
    order = [bot_numbers[i % bots] for i in range(bot_messages)]
    rng.shuffle(order)
    entries: list[tuple[str, str, bool]] = []
    for sender in order:
        previous = entries[-1] if entries else None
        if previous is not None and not previous[2] and rng.random() < REPEAT_SHARE:
            entries.append(previous)  # the same bot, the same text, the same second
        else:
            entries.append((sender, _bot_text(rng), False))
    insertions = []
    for texter in texters:
        for position in rng.sample(range(len(entries) + 1), rng.choice((1, 2))):
            insertions.append((position, (texter, rng.choice(GENUINE_TEXTS), True)))
    for position, entry in sorted(insertions, reverse=True):
        entries.insert(position, entry)
    encoder = _Encoder(start, len(entries))
    messages: list[Sms] = []
    for position, (sender, text, is_genuine) in enumerate(entries):
        previous_sms = messages[-1] if messages else None
        if previous_sms is not None and (sender, text) == (previous_sms.sender, previous_sms.text):
            pdus = previous_sms.pdus
            if len(pdus) > 1:  # a phone gives a new long message a new reference
                pdus = encoder.encode(position, sender, text)
        else:
            pdus = encoder.encode(position, sender, text)
        messages.append(Sms(sender, text, pdus, is_genuine))
    return Scenario("flood", tuple(messages), bots)


def peers_scenario(messages: int, parts: int, bots: int, *, seed: int, start: datetime) -> Scenario:
    """``messages`` SMS making exactly ``parts`` parts (single and two-part) from ``bots``."""
    if not messages <= parts <= 2 * messages:
        raise ValueError("parts must be between messages and twice as many")
    rng = random.Random(seed)
    numbers = _bot_numbers(random.Random(seed + 1), bots)
    two_part = [True] * (parts - messages) + [False] * (2 * messages - parts)
    rng.shuffle(two_part)
    # GSM-7 pieces, so two or three of them make a two-part SMS (161 to 306 characters).
    pieces = [piece for piece in BOT_LONG if fits_gsm7(piece)]
    encoder = _Encoder(start, messages)
    built = []
    for position, long in enumerate(two_part):
        sender = numbers[position % bots]
        for _ in range(100):
            if long:
                text = " ".join(rng.sample(pieces, rng.randint(2, 3)))
            else:
                text = rng.choice(BOT_SHORT) + f" {rng.randint(1, 99)}"
            pdus = encoder.encode(position, sender, text)
            if len(pdus) == (2 if long else 1):
                break
        else:
            raise ValueError("the bot texts cannot make SMS of the wanted sizes")
        built.append(Sms(sender, text, pdus))
    return Scenario("peers", tuple(built), bots)
