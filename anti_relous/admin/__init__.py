"""Operator tools beyond single store calls: the line's status, manual sends, provisioning.

The CLI is another process than the daemon (DESIGN section 3): it reads what the daemon
published in the store, and writes pauses, blocks and queued SMS there for the daemon's next
decision or send. Nothing here prints; the CLI renders what these functions return.

``liveness`` judges what the daemon published, ``status`` gathers ``status`` and ``stats``,
``send`` queues and sends manual SMS at most once, ``provision`` writes the config and the
database for ``init``, ``export`` writes evidence records as JSON Lines or CSV, ``files``
writes whole files that no planted link can redirect, and ``enroll`` gives admin phones their
secret for SMS commands. Imports: ``store``, ``modem`` (the manual send), ``remote`` (codes),
``config``, ``coding``, ``clock``, ``errors``, ``untrusted``; never ``cli``, ``daemon`` or
``service``.
"""

from __future__ import annotations

from anti_relous.errors import AntiRelousError


class AdminError(AntiRelousError):
    """An operator request that cannot be carried out; the message says what to do instead."""
