"""Ordered schema migrations on PRAGMA user_version; each step and its version bump are atomic."""

from __future__ import annotations

import sqlite3

# Each entry moves the schema from version i to i + 1. Statements, not scripts: executescript()
# commits on its own, which would break the atomicity of a step.
MIGRATIONS: list[list[str]] = [
    [
        # Every PDU read from the SIM, decoded or not. pdu and text become NULL after retention;
        # pdu_sha256 stays for the evidence chain.
        """CREATE TABLE inbound_parts (
            id INTEGER PRIMARY KEY,
            received_at TEXT NOT NULL,
            sim_storage TEXT NOT NULL,
            sim_index INTEGER NOT NULL,
            pdu BLOB,
            pdu_sha256 TEXT NOT NULL,
            kind TEXT NOT NULL CHECK (kind IN ('deliver', 'status_report', 'undecodable')),
            error TEXT,
            sender_raw TEXT,
            smsc_time TEXT,
            coding TEXT,
            text TEXT,
            concat_ref INTEGER,
            concat_bits INTEGER,
            concat_total INTEGER,
            concat_seq INTEGER,
            group_id INTEGER,
            message_id INTEGER REFERENCES messages(id)
        )""",
        """CREATE INDEX inbound_parts_open_groups
            ON inbound_parts(sender_raw, concat_ref, concat_total)
            WHERE message_id IS NULL AND concat_total IS NOT NULL""",
        "CREATE INDEX inbound_parts_message ON inbound_parts(message_id)",
        # DESIGN invariant 2: parts committed but not yet confirmed deleted from the SIM. A re-read
        # of the same slot with the same bytes is the same part; anything else is new.
        """CREATE TABLE sim_pending (
            sim_storage TEXT NOT NULL,
            sim_index INTEGER NOT NULL,
            pdu_sha256 TEXT NOT NULL,
            part_id INTEGER NOT NULL REFERENCES inbound_parts(id),
            PRIMARY KEY (sim_storage, sim_index)
        ) WITHOUT ROWID""",
        # Logical messages, in evidence-chain order. text becomes NULL after retention;
        # text_sha256 and the chain stay verifiable.
        """CREATE TABLE messages (
            id INTEGER PRIMARY KEY,
            received_at TEXT NOT NULL,
            kind TEXT NOT NULL CHECK (kind IN ('sms', 'incomplete', 'undecodable')),
            sender_raw TEXT,
            sender TEXT,
            sender_e164 TEXT,
            sender_kind TEXT,
            sender_region TEXT,
            smsc_time TEXT,
            parts INTEGER NOT NULL,
            parts_expected INTEGER NOT NULL,
            text TEXT,
            text_sha256 TEXT,
            purged_at TEXT,
            prev_hash TEXT NOT NULL,
            chain_hash TEXT NOT NULL
        )""",
        "CREATE INDEX messages_sender_time ON messages(sender, received_at)",
        "CREATE INDEX messages_time ON messages(received_at)",
        # Messages awaiting their decision: a queue, so finding them never scans the history.
        "CREATE TABLE undecided (message_id INTEGER PRIMARY KEY REFERENCES messages(id))",
        """CREATE TABLE decisions (
            message_id INTEGER PRIMARY KEY REFERENCES messages(id),
            decided_at TEXT NOT NULL,
            reply INTEGER NOT NULL,
            reason TEXT NOT NULL,
            detail TEXT NOT NULL
        )""",
        "CREATE INDEX decisions_time ON decisions(decided_at)",
        """CREATE TABLE outbox (
            id INTEGER PRIMARY KEY,
            created_at TEXT NOT NULL,
            kind TEXT NOT NULL CHECK (kind IN ('reply', 'alert', 'manual')),
            message_id INTEGER REFERENCES messages(id),
            recipient TEXT NOT NULL,
            text TEXT NOT NULL,
            parts INTEGER NOT NULL,
            state TEXT NOT NULL
                CHECK (state IN ('queued', 'sending', 'sent', 'failed', 'unknown')),
            attempts INTEGER NOT NULL DEFAULT 0,
            next_attempt_at TEXT,
            last_error TEXT,
            message_refs TEXT,
            updated_at TEXT NOT NULL,
            sent_at TEXT
        )""",
        "CREATE INDEX outbox_state ON outbox(state, id)",
        "CREATE INDEX outbox_recipient_time ON outbox(recipient, created_at)",
        "CREATE INDEX outbox_time ON outbox(created_at)",
        # DESIGN invariant 3: at most one reply per message, whatever happens.
        "CREATE UNIQUE INDEX outbox_one_reply ON outbox(message_id) WHERE kind = 'reply'",
        # Distinct recipients per calendar month (UTC), for the recipients_per_month cap.
        """CREATE TABLE monthly_recipients (
            month TEXT NOT NULL,
            recipient TEXT NOT NULL,
            PRIMARY KEY (month, recipient)
        ) WITHOUT ROWID""",
        """CREATE TABLE blocks (
            id INTEGER PRIMARY KEY,
            target TEXT NOT NULL,
            is_prefix INTEGER NOT NULL,
            created_at TEXT NOT NULL,
            until TEXT,
            reason TEXT NOT NULL,
            automatic INTEGER NOT NULL,
            removed_at TEXT
        )""",
        "CREATE INDEX blocks_active ON blocks(target) WHERE removed_at IS NULL",
        """CREATE TABLE line_state (
            id INTEGER PRIMARY KEY CHECK (id = 1),
            paused INTEGER NOT NULL DEFAULT 0,
            paused_at TEXT,
            paused_until TEXT,
            pause_reason TEXT,
            flood_since TEXT,
            flood_last_above TEXT,
            last_alert_at TEXT
        )""",
        "INSERT INTO line_state (id) VALUES (1)",
        # What happened to the line, for operators and for the record.
        """CREATE TABLE events (
            id INTEGER PRIMARY KEY,
            at TEXT NOT NULL,
            kind TEXT NOT NULL,
            detail TEXT NOT NULL
        )""",
        "CREATE INDEX events_time ON events(at)",
        # What the daemon last saw (modem health, its state), for `anti-relous status`.
        """CREATE TABLE daemon_state (
            key TEXT PRIMARY KEY,
            value TEXT NOT NULL,
            updated_at TEXT NOT NULL
        ) WITHOUT ROWID""",
    ],
    [
        # Every decision looks for a prefix block. Prefix blocks are a few operator entries,
        # but blocks_active also holds every automatic number block (expired ones stay): with
        # 26,000 of them the lookup scanned them all, 5.6 ms a decision.
        """CREATE INDEX blocks_active_prefix ON blocks(target)
            WHERE is_prefix = 1 AND removed_at IS NULL""",
    ],
    [
        # Admin SMS (confirmations of commands sent by SMS) are a kind of their own: they leave
        # despite the caps within a reserved share. SQLite cannot alter a CHECK constraint, so
        # the outbox is rebuilt (rows and ids kept) and its indexes created again.
        """CREATE TABLE outbox_rebuilt (
            id INTEGER PRIMARY KEY,
            created_at TEXT NOT NULL,
            kind TEXT NOT NULL CHECK (kind IN ('reply', 'alert', 'manual', 'admin')),
            message_id INTEGER REFERENCES messages(id),
            recipient TEXT NOT NULL,
            text TEXT NOT NULL,
            parts INTEGER NOT NULL,
            state TEXT NOT NULL
                CHECK (state IN ('queued', 'sending', 'sent', 'failed', 'unknown')),
            attempts INTEGER NOT NULL DEFAULT 0,
            next_attempt_at TEXT,
            last_error TEXT,
            message_refs TEXT,
            updated_at TEXT NOT NULL,
            sent_at TEXT
        )""",
        """INSERT INTO outbox_rebuilt (id, created_at, kind, message_id, recipient, text, parts,
            state, attempts, next_attempt_at, last_error, message_refs, updated_at, sent_at)
            SELECT id, created_at, kind, message_id, recipient, text, parts, state, attempts,
            next_attempt_at, last_error, message_refs, updated_at, sent_at FROM outbox""",
        "DROP TABLE outbox",
        "ALTER TABLE outbox_rebuilt RENAME TO outbox",
        "CREATE INDEX outbox_state ON outbox(state, id)",
        "CREATE INDEX outbox_recipient_time ON outbox(recipient, created_at)",
        "CREATE INDEX outbox_time ON outbox(created_at)",
        "CREATE UNIQUE INDEX outbox_one_reply ON outbox(message_id) WHERE kind = 'reply'",
        # Counting admin SMS against their reserved share without scanning the outbox.
        "CREATE INDEX outbox_kind_time ON outbox(kind, created_at)",
        # One credential per admin number: a TOTP secret (base32) or a static PIN's scrypt
        # hash. last_step is the TOTP time step last accepted: a code works once (RFC 6238 5.2).
        """CREATE TABLE admin_credentials (
            number TEXT PRIMARY KEY,
            kind TEXT NOT NULL CHECK (kind IN ('totp', 'pin')),
            secret TEXT NOT NULL,
            enrolled_at TEXT NOT NULL,
            last_step INTEGER
        ) WITHOUT ROWID""",
        # Wrong or replayed codes from admin numbers, counted to lock the channel.
        """CREATE TABLE admin_failures (
            id INTEGER PRIMARY KEY,
            at TEXT NOT NULL,
            number TEXT NOT NULL,
            message_id INTEGER REFERENCES messages(id)
        )""",
        "CREATE INDEX admin_failures_time ON admin_failures(at)",
        """CREATE TABLE admin_channel (
            id INTEGER PRIMARY KEY CHECK (id = 1),
            locked_at TEXT,
            locked_until TEXT
        )""",
        "INSERT INTO admin_channel (id) VALUES (1)",
        # When each alert (by rate-limit key: "modem_lost", "cap:hour"...) was last queued.
        """CREATE TABLE alert_log (
            key TEXT PRIMARY KEY,
            last_at TEXT NOT NULL
        ) WITHOUT ROWID""",
    ],
    [
        # The attack regime (issue 11). Campaigns: near-identical texts from several senders,
        # one row per representative text (leader clustering); every message joins one.
        """CREATE TABLE campaigns (
            id INTEGER PRIMARY KEY,
            representative TEXT NOT NULL,
            text TEXT,
            short INTEGER NOT NULL,
            first_at TEXT NOT NULL,
            last_at TEXT NOT NULL,
            messages INTEGER NOT NULL,
            flagged_at TEXT
        )""",
        "CREATE INDEX campaigns_recent ON campaigns(last_at)",
        "CREATE INDEX campaigns_found ON campaigns(flagged_at) WHERE flagged_at IS NOT NULL",
        "ALTER TABLE messages ADD COLUMN campaign_id INTEGER REFERENCES campaigns(id)",
        """CREATE INDEX messages_campaign_time ON messages(campaign_id, received_at)
            WHERE campaign_id IS NOT NULL""",
        # Who sent each campaign's texts: its distinct senders, counted without scanning them.
        """CREATE TABLE campaign_senders (
            campaign_id INTEGER NOT NULL REFERENCES campaigns(id),
            sender TEXT NOT NULL,
            last_at TEXT NOT NULL,
            -- 1 when the sender's first SMS ever was this campaign's text: a new number.
            first_contact INTEGER NOT NULL DEFAULT 0,
            PRIMARY KEY (campaign_id, sender)
        ) WITHOUT ROWID""",
        "CREATE INDEX campaign_senders_recent ON campaign_senders(campaign_id, last_at)",
        # Attack periods are read from the event log for every decision.
        "CREATE INDEX events_kind_time ON events(kind, at)",
        # The caps count what was queued and did not fail: by time, with the state at hand.
        "CREATE INDEX outbox_time_state ON outbox(created_at, state)",
        # Every sender the line has seen, from its first arrival: a long SMS counts when its
        # first part arrives, so fragments that never complete are counted too.
        """CREATE TABLE senders (
            sender TEXT PRIMARY KEY,
            first_at TEXT NOT NULL,
            last_at TEXT NOT NULL,
            -- The shortest pause between two of its arrivals, in seconds (NULL: only one).
            min_gap_s REAL,
            arrivals INTEGER NOT NULL,
            number_block TEXT,
            -- 1 for a mobile number (one the line could answer): only those are new
            -- recipients an attack could spend, so only those count as first contacts.
            mobile INTEGER NOT NULL DEFAULT 0
        ) WITHOUT ROWID""",
        "CREATE INDEX senders_first ON senders(first_at) WHERE mobile = 1",
        """CREATE INDEX senders_block ON senders(number_block, last_at)
            WHERE number_block IS NOT NULL""",
        # Pending parts count per sender from their arrival (abuse window, flood window).
        "ALTER TABLE inbound_parts ADD COLUMN sender TEXT",
        """CREATE INDEX inbound_parts_pending ON inbound_parts(received_at)
            WHERE message_id IS NULL AND concat_total IS NOT NULL""",
        """CREATE INDEX inbound_parts_pending_sender ON inbound_parts(sender, received_at)
            WHERE message_id IS NULL AND concat_total IS NOT NULL""",
        # A held message has a provisional decision (reason 'held') until hold_until, when it
        # is decided for good: the row is then updated with the final reason (held_at stays).
        "ALTER TABLE decisions ADD COLUMN hold_until TEXT",
        "ALTER TABLE decisions ADD COLUMN held_at TEXT",
        "CREATE INDEX decisions_held ON decisions(hold_until) WHERE reason = 'held'",
        # [attack] mode = "shadow": what the attack regime would have decided, when it differs.
        "ALTER TABLE decisions ADD COLUMN shadow TEXT",
        "ALTER TABLE line_state ADD COLUMN attack_since TEXT",
        "ALTER TABLE line_state ADD COLUMN attack_last_above TEXT",
        "ALTER TABLE line_state ADD COLUMN attack_ended_at TEXT",
        # The new-senders budgets: one for a single SMS, one for people writing again.
        "ALTER TABLE line_state ADD COLUMN pace_tokens REAL",
        "ALTER TABLE line_state ADD COLUMN pace_at TEXT",
        "ALTER TABLE line_state ADD COLUMN people_tokens REAL",
        "ALTER TABLE line_state ADD COLUMN people_at TEXT",
        # Numbers the operators vouch for: the attack regime never holds nor suppresses them.
        """CREATE TABLE allowlist (
            id INTEGER PRIMARY KEY,
            number TEXT NOT NULL,
            created_at TEXT NOT NULL,
            reason TEXT NOT NULL,
            removed_at TEXT
        )""",
        "CREATE UNIQUE INDEX allowlist_active ON allowlist(number) WHERE removed_at IS NULL",
        # Senders already known before this version: their first and later arrivals.
        """INSERT INTO senders (sender, first_at, last_at, min_gap_s, arrivals, number_block,
            mobile)
            SELECT sender, min(received_at), max(received_at),
                CASE WHEN count(*) > 1 THEN (julianday(max(received_at))
                    - julianday(min(received_at))) * 86400 / (count(*) - 1) END,
                count(*),
                CASE WHEN sender GLOB '+[0-9]*' AND length(sender) >= 10
                    THEN substr(sender, 1, length(sender) - 4) END,
                max(sender_kind = 'mobile')
            FROM messages m WHERE sender IS NOT NULL GROUP BY sender""",
    ],
]

LATEST_VERSION = len(MIGRATIONS)


def schema_version(conn: sqlite3.Connection) -> int:
    """The schema version recorded in the database header."""
    version: int = conn.execute("PRAGMA user_version").fetchone()[0]
    return version


def migrate(conn: sqlite3.Connection, migrations: list[list[str]] | None = None) -> int:
    """Apply the missing steps, each in its own transaction with its version bump.

    Returns the version reached. Raises sqlite3.Error from a failing step, whose transaction is
    rolled back so the database stays at the previous version.
    """
    steps = MIGRATIONS if migrations is None else migrations
    version = schema_version(conn)
    while version < len(steps):
        conn.execute("BEGIN IMMEDIATE")
        try:
            # Re-read under the write lock: another process may have migrated meanwhile.
            version = schema_version(conn)
            if version >= len(steps):
                conn.execute("COMMIT")
                break
            for statement in steps[version]:
                conn.execute(statement)
            conn.execute(f"PRAGMA user_version = {version + 1}")
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
        version += 1
    return version
