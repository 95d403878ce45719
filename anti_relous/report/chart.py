"""The timeline chart, drawn by matplotlib's SVG backend, inlined in the report (no file, no font).

Uses ``matplotlib.figure.Figure`` directly, never pyplot: no global figure state, no GUI backend.
The chart holds only our own labels and counts, never a text or a sender.
"""

from __future__ import annotations

import io
import re
from collections.abc import Mapping
from datetime import datetime, tzinfo

import matplotlib
from matplotlib import dates
from matplotlib.figure import Figure

from anti_relous.report.timeline import AttackPeriod, Timeline

_INBOUND = "#4a6fa5"
_REPLIES = "#c0392b"
_ATTACK = "#f39c12"
#: Everything before the <svg> element: an XML declaration and a DOCTYPE, useless inline.
_PROLOGUE = re.compile(r"\A.*?(?=<svg\b)", re.DOTALL)
#: Metadata matplotlib would write (date, creator, format): none, so the file is reproducible.
_NO_METADATA = {"Date": None, "Creator": None, "Format": None, "Type": None}


def timeline_svg(
    data: Timeline,
    periods: list[AttackPeriod],
    labels: Mapping[str, str],
    tz: tzinfo | None,
    end: datetime,
) -> str:
    """An SVG element: SMS per step as bars, replies as dots, attack periods shaded.

    ``labels`` holds ``inbound``, ``replies``, ``attack``, ``y`` (the axis title) and
    ``dates`` (the strftime forms of a date, a day and a time, joined by ``|``); ``end``
    closes periods still under way. Times are drawn in ``tz`` (None: the machine's zone).
    """

    def x(moment: datetime) -> float:
        # Naive local times: matplotlib then labels the axis with the local clock as is,
        # summer time included, whatever zone object the machine has.
        return float(dates.date2num(moment.astimezone(tz).replace(tzinfo=None)))

    step_days = data.step.total_seconds() / 86400
    starts = [x(s) for s in data.starts]
    with matplotlib.rc_context(
        {"svg.fonttype": "none", "svg.hashsalt": "anti-relous", "font.size": 9}
    ):
        figure = Figure(figsize=(10, 3.2), layout="constrained")
        axes = figure.add_subplot()
        for period in periods:
            axes.axvspan(
                x(period.start) if period.start else starts[0],
                x(period.end or end),
                color=_ATTACK,
                alpha=0.25,
                linewidth=0,
                label=labels["attack"] if period is periods[0] else None,
            )
        axes.bar(
            starts,
            data.inbound,
            width=step_days,
            align="edge",
            color=_INBOUND,
            label=labels["inbound"],
        )
        replied = [(s + step_days / 2, n) for s, n in zip(starts, data.replies, strict=True) if n]
        if replied:
            xs, ys = zip(*replied, strict=True)
            axes.plot(xs, ys, "o", color=_REPLIES, markersize=3.5, label=labels["replies"])
        locator = dates.AutoDateLocator(maxticks=12)
        axes.xaxis.set_major_locator(locator)
        axes.xaxis.set_major_formatter(_date_formatter(locator, labels["dates"]))
        axes.set_xlim(starts[0], starts[-1] + step_days)
        axes.set_ylabel(labels["y"])
        axes.set_ylim(bottom=0)
        axes.grid(axis="y", linewidth=0.4, alpha=0.5)
        axes.spines[["top", "right"]].set_visible(False)
        axes.legend(loc="upper right", frameon=False, fontsize=8)
        buffer = io.StringIO()
        figure.savefig(buffer, format="svg", metadata=_NO_METADATA)
    return _PROLOGUE.sub("", buffer.getvalue(), count=1)


def _date_formatter(locator: dates.AutoDateLocator, forms: str) -> dates.ConciseDateFormatter:
    """Tick labels in the report's language, by number only (matplotlib's month names are
    English): ticks show the day or the time, the axis' corner the date."""
    date, day, time = forms.split("|")
    return dates.ConciseDateFormatter(
        locator,
        formats=["%Y", day, day, time, time, "%S"],
        zero_formats=["", "%Y", day, day, time, "%H:%M:%S"],
        offset_formats=["", "%Y", date, date, date, f"{date} {time}"],
    )
