"""Normalise sender addresses to E.164 and say what kind of number they are; never raises."""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import cache, lru_cache

from anti_relous.sms import NumberKind, PhoneNumber

# phonenumbers takes longer to import than the rest of the CLI, so the functions that parse
# numbers import it: commands that never parse one (`anti-relous status`) start faster.
# Short codes are national and at most 6 digits in the numbering plans phonenumbers knows.
_MAX_SHORT_CODE_DIGITS = 6
#: A block prefix must reach this many digits past a country code the line serves: a shorter one
#: (``+33*``, ``+336*``) silences the country or whole mobile ranges, which is what a pause is for.
MIN_PREFIX_DIGITS_PAST_COUNTRY = 3
_SEPARATORS = re.compile(r"[\s.\-()/]")
_DIGITS = re.compile(r"\+?\d+")


@cache
def _kind_by_type() -> dict[int, NumberKind]:
    from phonenumbers import PhoneNumberType

    # phonenumbers answers FIXED_LINE_OR_MOBILE where a plan cannot tell (US, CA...): such a
    # number can receive SMS, so it counts as mobile; the region filter still applies.
    return {
        PhoneNumberType.MOBILE: NumberKind.MOBILE,
        PhoneNumberType.FIXED_LINE_OR_MOBILE: NumberKind.MOBILE,
        PhoneNumberType.FIXED_LINE: NumberKind.FIXED_LINE,
        PhoneNumberType.PREMIUM_RATE: NumberKind.PREMIUM_RATE,
        # Shared-cost numbers bill the caller above the standard rate: as dangerous as premium.
        PhoneNumberType.SHARED_COST: NumberKind.PREMIUM_RATE,
    }


#: A flood repeats the same few hundred senders: parsing each once saves most of the ingest.
@lru_cache(maxsize=8192)
def classify(raw: str, default_region: str) -> PhoneNumber:
    """Normalise ``raw`` (as received or typed) and classify it.

    National formats are read in ``default_region``; ``00`` international prefixes, spaces, dots
    and dashes are accepted. Letters make an alphanumeric sender. Anything unparsable is INVALID.
    """
    import phonenumbers

    text = raw.strip()
    compact = _SEPARATORS.sub("", text)
    if not compact:
        return PhoneNumber(raw=raw, kind=NumberKind.INVALID)
    if not _DIGITS.fullmatch(compact):
        kind = NumberKind.ALPHANUMERIC if any(c.isalpha() for c in compact) else NumberKind.INVALID
        return PhoneNumber(raw=raw, kind=kind)
    if compact.startswith("00"):
        compact = "+" + compact[2:]
    try:
        parsed = phonenumbers.parse(compact, default_region)
    except phonenumbers.NumberParseException:
        return PhoneNumber(raw=raw, kind=NumberKind.INVALID)
    if not compact.startswith("+") and len(compact) <= _MAX_SHORT_CODE_DIGITS:
        if phonenumbers.is_possible_short_number_for_region(parsed, default_region):
            return PhoneNumber(raw=raw, kind=NumberKind.SHORT_CODE, region=default_region)
        return PhoneNumber(raw=raw, kind=NumberKind.INVALID)
    if not phonenumbers.is_valid_number(parsed):
        return PhoneNumber(raw=raw, kind=NumberKind.INVALID)
    e164 = phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)
    kind = _kind_by_type().get(phonenumbers.number_type(parsed), NumberKind.OTHER)
    return PhoneNumber(
        raw=raw, kind=kind, e164=e164, region=phonenumbers.region_code_for_number(parsed)
    )


def normalise(raw: str, default_region: str) -> str | None:
    """The E.164 form of ``raw``, or None when it is not a valid phone number."""
    return classify(raw, default_region).e164


def normalise_prefix(raw: str, default_region: str) -> str | None:
    """Turn a block prefix such as ``0899`` or ``+33 899`` into its E.164 form (``+33899``).

    Prefixes cannot be validated as numbers, so only the international or trunk prefix is
    rewritten: ``00`` becomes ``+``, a national ``0`` becomes ``+`` and the region's code.
    """
    compact = _SEPARATORS.sub("", raw.strip())
    if not _DIGITS.fullmatch(compact):
        return None
    if compact.startswith("00"):
        return "+" + compact[2:]
    if compact.startswith("+"):
        return compact
    import phonenumbers

    country_code = phonenumbers.country_code_for_region(default_region)
    if compact.startswith("0") and country_code:
        return f"+{country_code}{compact[1:]}"
    return None


def country_covered(prefix: str, regions: Iterable[str]) -> str | None:
    """The country code (``+33``) of one of ``regions`` that the E.164 ``prefix`` covers too
    broadly (fewer than MIN_PREFIX_DIGITS_PAST_COUNTRY digits past it), or None."""
    import phonenumbers

    for region in regions:
        code = f"+{phonenumbers.country_code_for_region(region)}"
        if code.startswith(prefix) or (
            prefix.startswith(code) and len(prefix) - len(code) < MIN_PREFIX_DIGITS_PAST_COUNTRY
        ):
            return code
    return None


def mask(number: str) -> str:
    """Hide the middle of a phone number for logs at INFO: ``+33612345678`` -> ``+336••••••78``.

    Alphanumeric senders are company names and short codes are services, not people: they are
    shown as they are.
    """
    if any(c.isalpha() for c in number) or sum(c.isdigit() for c in number) < 6:
        return number
    head = 4 if number.startswith("+") else 3
    return number[:head] + "•" * (len(number) - head - 2) + number[-2:]
