"""The complaint pack (``anti-relous report``): a folder a police officer and a lawyer can read.

A ``model.Report`` is built from the store for one period (``model.build``): figures (the same
query as ``stats``), senders ranked by volume, campaigns (``campaigns.campaigns_of``), attack
periods and the timeline (``timeline``), messages flagged for a human eye (``flags``), and the
evidence chain as ``verify`` sees it. Those parts are pure functions of what was read. Rendering
sits at the edge: ``html`` (Jinja2, autoescaped) with ``chart`` (matplotlib's SVG backend), and
``pack`` writes the folder and its SHA256SUMS.

Imports: the store (reads only), config, policy.campaigns (pure), admin.status (the figures'
cost rule), untrusted, clock and errors; Jinja2 and matplotlib (the ``report`` extra) only in
``html`` and ``chart``. Nothing here touches sqlite3, the modem or the CLI.
"""

from __future__ import annotations

import importlib.util

from anti_relous.errors import AntiRelousError

#: What the HTML and the chart need beyond the daemon's install.
EXTRA_MODULES = ("jinja2", "matplotlib")


class ReportError(AntiRelousError):
    """The pack cannot be made; the message says why and what to do."""


def require_extra() -> None:
    """Raise ReportError naming the install command when the ``report`` extra is missing."""
    missing = [name for name in EXTRA_MODULES if importlib.util.find_spec(name) is None]
    if missing:
        raise ReportError(
            f"the report needs {' and '.join(missing)}, which the daemon's install leaves out: "
            "install them with `pip install 'anti-relous[report]'` in anti-relous's virtualenv"
        )
