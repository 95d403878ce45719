"""The simulated USB dongle on a pty: the device at the other end of the wire, not a driver.

``device`` (the pty and its serving thread) runs ``firmware`` (bytes in, bytes out) over
``equipment`` (state and V.250/27.007 commands), ``messaging`` (27.005 commands) and ``card``
(SIM storage, PIN), with ``wire`` (the serial line's pacing) and ``network`` (the SMSC's queue,
held while the SIM is full); ``control`` serves it to other processes. ``sandbox``
and ``demo`` put it to work for ``anti-relous simulate`` and ``anti-relous demo``.

Imports: the dongle modules use only the ``modem`` package root, ``modem.pdu``,
``modem.errors``, ``coding``, ``sms`` and ``errors``: never ``modem.at``, ``modem.commands``,
``modem.at_channel``, ``modem.at_modem`` or ``modem.gammu_modem``. A simulator sharing the
driver's parser would only test the parser against itself; libgammu's codec (``modem.pdu``) is
the independent reference. ``sandbox`` and ``demo``, tools over the dongle, may also use
``config`` and ``store``; the rule against the driver holds for them too
(tests/test_imports.py).
"""
