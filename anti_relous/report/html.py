"""The report as one self-contained HTML page: Jinja2 templates (autoescaped), the SVG chart inline.

Every text and sender is hostile. Jinja2 escapes what the page shows (an SMS ``<script>`` is
text), ``untrusted.visible`` shows control, bidi and invisible characters as readable escapes,
and the page's Content-Security-Policy forbids scripts and every load, so nothing in it runs or
reaches the network even if an escape were missed.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta, tzinfo
from importlib import resources

from jinja2 import Environment, PackageLoader, StrictUndefined
from markupsafe import Markup

from anti_relous.report import chart
from anti_relous.report.campaigns import MIN_SENDERS
from anti_relous.report.model import Report
from anti_relous.report.texts import LABELS, PERIOD_KINDS, REASONS
from anti_relous.untrusted import visible

#: Scripts, frames, fonts, images from anywhere: none. Only the page's own <style> applies.
CONTENT_SECURITY_POLICY = (
    "default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; "
    "form-action 'none'"
)
#: The files of the pack, as the report lists them.
PACK_FILES = (
    "report.html",
    "messages.csv",
    "messages.jsonl",
    "numbers-33700.txt",
    "check_chain.py",
    "SHA256SUMS",
)
#: A thin space groups thousands in French (2 008), a comma in English (2,008).
_THOUSANDS = {"fr": "\u202f", "en": ","}
_DECIMAL = {"fr": ",", "en": "."}
_DATE_TIME = {"fr": "%d/%m/%Y %H:%M:%S", "en": "%Y-%m-%d %H:%M:%S"}


def check_script() -> str:
    """The standalone chain checker the pack ships (``check_chain.py``)."""
    return resources.files(__package__).joinpath("check_chain.py").read_text(encoding="utf-8")


def _environment(lang: str, tz: tzinfo | None) -> Environment:
    env = Environment(
        loader=PackageLoader("anti_relous.report", "templates"),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(_filters(lang, tz))
    return env


def _filters(lang: str, tz: tzinfo | None) -> dict[str, Callable[..., str]]:
    def num(value: int | float, decimals: int = 0) -> str:
        text = f"{value:,.{decimals}f}"
        return text.replace(",", "\0").replace(".", _DECIMAL[lang]).replace("\0", _THOUSANDS[lang])

    def when(moment: datetime | None, missing: str = "—") -> str:
        if moment is None:
            return missing
        return moment.astimezone(tz).strftime(_DATE_TIME[lang])

    def untrusted(text: str | None) -> str:
        # Line breaks stay (the cell shows them with white-space: pre-wrap); every other
        # control, bidi or invisible character becomes a visible escape.
        return "" if text is None else visible(text, newline="\n")

    def duration(delta: timedelta) -> str:
        minutes = int(delta.total_seconds() // 60)
        hours, minutes = divmod(minutes, 60)
        days, hours = divmod(hours, 24)
        units = (("j" if lang == "fr" else "d", days), ("h", hours), ("min", minutes))
        shown = [f"{count} {unit}" for unit, count in units if count]
        return " ".join(shown[:2]) or "< 1 min"

    return {"num": num, "when": when, "untrusted": untrusted, "duration": duration}


def utc_offset(moment: datetime, tz: tzinfo | None) -> str:
    """``UTC+01:00`` for the zone ``tz`` (None: the machine's) at ``moment``."""
    offset = moment.astimezone(tz).utcoffset() or timedelta(0)
    sign = "-" if offset < timedelta(0) else "+"
    minutes = int(abs(offset).total_seconds() // 60)
    return f"UTC{sign}{minutes // 60:02d}:{minutes % 60:02d}"


def render(report: Report, lang: str, signed_by: str | None = None) -> str:
    """The whole page, in ``lang`` (``fr`` or ``en``); ``signed_by``: the OpenPGP key that
    signs the pack's SHA256SUMS, if any."""
    labels = LABELS[lang]
    svg = None
    step = ""
    if report.timeline is not None:
        step = _step_label(report.timeline.step, labels)
        end = report.until or report.generated_at
        svg = chart.timeline_svg(
            report.timeline,
            [line.period for line in report.periods],
            {
                "inbound": labels["chart_inbound"],
                "replies": labels["chart_replies"],
                "attack": labels["chart_attack"],
                "y": labels["chart_y"].format(step=step),
                "dates": labels["date_formats"],
            },
            report.tz,
            min(end, report.generated_at),
        )
    template = _environment(lang, report.tz).get_template("report.html.j2")
    return template.render(
        r=report,
        t=labels,
        lang=lang,
        reasons=REASONS[lang],
        period_kinds=PERIOD_KINDS[lang],
        # Our own SVG from matplotlib: it holds no text or sender, so it is inlined as is.
        chart=Markup(svg) if svg else None,  # noqa: S704
        step=step,
        flag_source=(
            labels["builtin_list"]
            if report.flag_list.source == "built-in"
            else report.flag_list.source
        ),
        csp=CONTENT_SECURITY_POLICY,
        files=PACK_FILES,
        min_senders=MIN_SENDERS,
        zone=utc_offset(report.generated_at, report.tz),
        check_script=check_script(),
        signed_by=signed_by,
    )


def _step_label(step: timedelta, labels: dict[str, str]) -> str:
    for key, longest in (
        ("step_10s", timedelta(seconds=10)),
        ("step_1min", timedelta(minutes=1)),
        ("step_10min", timedelta(minutes=10)),
        ("step_1h", timedelta(hours=1)),
    ):
        if step <= longest:
            return labels[key]
    return labels["step_1d"]
