"""The configuration file's sections: one frozen dataclass each, every key with its default, the
check its value passes (``values``) and what it means. config.example.toml follows this order.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import ClassVar

from anti_relous.config.values import (
    choice,
    clock_range,
    clock_time,
    duration,
    flag,
    name_list,
    non_empty_text,
    opt,
    phone_list,
    price,
    prom_path,
    regions,
    reply_text,
    sim_pin,
    string,
    whole,
)
from anti_relous.lazyclass import frozen_dataclass

DEFAULT_REPLY = (
    "Ce numéro est un numéro anti-relous : la personne qui vous l'a donné ne voulait pas vous "
    "donner le sien. Insister, suivre, commenter le physique ou insulter une femme dans la rue, "
    "c'est du harcèlement de rue, puni par la loi (outrage sexiste et sexuel). "
    "Message automatique."
)
LOG_LEVELS = ("debug", "info", "warning", "error")


@frozen_dataclass
class ModemConfig:
    """How to reach the dongle."""

    backend: str = opt("at", choice("at", "gammu"))
    port: str = opt("/dev/gsm-modem", non_empty_text)
    baudrate: int = opt(115200, whole(1200))
    pin: str = opt("", sim_pin)
    command_timeout: timedelta = opt(timedelta(seconds=10), duration())
    gammu_config: str = opt("", string)


@frozen_dataclass
class LineConfig:
    """What the line is and what it answers."""

    own_number: str = opt("", string)
    reply: str = opt(DEFAULT_REPLY, reply_text)
    allowed_regions: tuple[str, ...] = opt(("FR",), regions)

    @property
    def default_region(self) -> str:
        """The region national-format numbers (``06...``) are read in."""
        return self.allowed_regions[0]


@frozen_dataclass
class QuotaConfig:
    """Per-number and global limits on replies, and the abuse auto-block."""

    replies_per_number: int = opt(1, whole(0))
    number_window: timedelta = opt(timedelta(hours=24), duration())
    max_inbound_per_number: int = opt(20, whole(1))
    abuse_window: timedelta = opt(timedelta(hours=1), duration())
    block_duration: timedelta = opt(timedelta(days=7), duration())
    replies_per_hour: int = opt(60, whole(0))
    replies_per_day: int = opt(300, whole(0))
    replies_per_month: int = opt(3000, whole(0))
    recipients_per_month: int = opt(150, whole(0))


@frozen_dataclass
class FloodConfig:
    """The flood breaker: total inbound rate above which the line stops replying."""

    threshold: int = opt(200, whole(1))
    window: timedelta = opt(timedelta(minutes=10), duration())
    cooldown: timedelta = opt(timedelta(minutes=30), duration())


@frozen_dataclass
class AttackConfig:
    """The attack regime: telling a raid, a swarm or a drip from the line's usual traffic, and
    answering the genuine texters while it lasts (see README, "How it works")."""

    #: "enforce"; "shadow" records what the regime would have done but acts as "off"; "off"
    #: mutes every reply while the inbound rate is above [flood] threshold, as before.
    mode: str = opt("enforce", choice("enforce", "shadow", "off"))
    #: More new senders than this within first_contact_window is an attack too.
    first_contacts: int = opt(15, whole(1))
    first_contact_window: timedelta = opt(timedelta(hours=3), duration())
    #: ...or more than this many within burst_window: the first minutes of a raid.
    burst_contacts: int = opt(5, whole(1))
    burst_window: timedelta = opt(timedelta(minutes=10), duration())
    #: Under attack, a sender new to the line waits this long before its reply is decided.
    hold: timedelta = opt(timedelta(minutes=20), duration(allow_zero=True))
    #: Near-identical texts from this many senders within campaign_window are a campaign.
    campaign_senders: int = opt(3, whole(2))
    campaign_window: timedelta = opt(timedelta(hours=24), duration())
    #: Short texts (under 16 letters) must be identical, from this many senders within an hour.
    short_campaign_senders: int = opt(8, whole(2))
    #: How alike two texts must be (percent, after normalising) to be one campaign.
    similarity: int = opt(85, whole(50))
    #: This many senders within campaign_window from one number block (all digits but the
    #: last 4: a SIM farm's consecutive numbers) and the block is suppressed.
    block_senders: int = opt(3, whole(2))
    #: Under attack, new senders who have not shown they are people are answered from a
    #: budget of new_senders_burst replies, refilled by new_senders_per_day.
    new_senders_burst: int = opt(20, whole(0))
    new_senders_per_day: int = opt(10, whole(0))


@frozen_dataclass
class AlertsConfig:
    """Who is told by SMS when something needs a person, and when they may be woken."""

    numbers: tuple[str, ...] = opt((), phone_list)
    min_interval: timedelta = opt(timedelta(hours=1), duration())
    quiet: str = opt("", clock_range)
    modem_lost_after: timedelta = opt(timedelta(minutes=10), duration())
    sim_full_after: timedelta = opt(timedelta(minutes=10), duration())
    database_after: timedelta = opt(timedelta(minutes=2), duration())
    digest: str = opt("", clock_time)


@frozen_dataclass
class AdminConfig:
    """The admin SMS channel: who may steer the line by SMS, and how hard guessing is."""

    numbers: tuple[str, ...] = opt((), phone_list)
    code_window: timedelta = opt(timedelta(minutes=5), duration())
    max_failures: int = opt(5, whole(1))
    failure_window: timedelta = opt(timedelta(hours=1), duration())
    lock_duration: timedelta = opt(timedelta(hours=1), duration())
    reserve_per_hour: int = opt(6, whole(0))
    reserve_per_day: int = opt(24, whole(0))


@frozen_dataclass
class MetricsConfig:
    """The Prometheus textfile the daemon rewrites every health interval."""

    textfile: str = opt("", prom_path)


@frozen_dataclass
class ScheduleConfig:
    """How often the daemon's jobs run."""

    poll_interval: timedelta = opt(timedelta(seconds=5), duration())
    send_interval: timedelta = opt(timedelta(seconds=6), duration())
    health_interval: timedelta = opt(timedelta(seconds=60), duration())
    multipart_timeout: timedelta = opt(timedelta(hours=1), duration())


@frozen_dataclass
class StorageConfig:
    """Where the evidence lives and how long message texts are kept."""

    #: A mistake here stops even the commands that tolerate the others: on the wrong database
    #: nothing they do would mean anything.
    strict: ClassVar[bool] = True

    database: Path = opt(Path("/var/lib/anti-relous/anti-relous.db"), lambda v: Path(string(v)))
    #: "0" keeps texts forever (for a pending complaint, say).
    retention: timedelta = opt(timedelta(days=90), duration(allow_zero=True))


@frozen_dataclass
class LogConfig:
    """Log verbosity and privacy."""

    level: str = opt("info", choice(*LOG_LEVELS))
    full_numbers: bool = opt(False, flag)


@frozen_dataclass
class CostConfig:
    """The figure of what a cloud SMS service would have charged, for reports."""

    cloud_price_per_sms: float = opt(0.16, price)
    currency: str = opt("EUR", non_empty_text)


@frozen_dataclass
class ReportConfig:
    """What the complaint pack (``anti-relous report``) flags for a human eye first."""

    #: The operator's flag list (a TOML file like anti_relous/report/flags.toml); "" for the
    #: built-in one. A relative path is read from the configuration's directory.
    flags: str = opt("", string)
    #: Names of the line's founders: a message naming one is flagged as personal data.
    founders: tuple[str, ...] = opt((), name_list)
