"""Sender normalisation and classification."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from anti_relous.numbers import classify, mask, normalise_prefix
from anti_relous.sms import NumberKind


@pytest.mark.parametrize(
    "raw", ["0612345678", "+33612345678", "0033612345678", "06 12 34 56 78", "+33 6.12.34.56.78"]
)
def test_every_french_spelling_of_a_mobile_is_one_sender(raw):
    number = classify(raw, "FR")
    assert (number.e164, number.kind, number.region) == ("+33612345678", NumberKind.MOBILE, "FR")
    assert number.key == "+33612345678"


@pytest.mark.parametrize(
    ("raw", "kind"),
    [
        ("0145678901", NumberKind.FIXED_LINE),
        ("0899123456", NumberKind.PREMIUM_RATE),
        ("+33810123456", NumberKind.PREMIUM_RATE),  # shared cost
        ("36179", NumberKind.SHORT_CODE),
        ("3636", NumberKind.SHORT_CODE),
        ("SFR Info", NumberKind.ALPHANUMERIC),
        ("0800123456", NumberKind.OTHER),  # toll free
        ("", NumberKind.INVALID),
        ("+", NumberKind.INVALID),
        ("0612", NumberKind.SHORT_CODE),  # too short for a subscriber: some service
        ("+3361234567890123", NumberKind.INVALID),
        ("06-12-34-56-78-99", NumberKind.INVALID),
        ("@@@", NumberKind.INVALID),
    ],
)
def test_senders_are_classified(raw, kind):
    assert classify(raw, "FR").kind is kind


def test_alphanumeric_senders_keep_their_raw_text_as_identity():
    number = classify("PROMO", "FR")
    assert number.e164 is None and number.key == "PROMO"


def test_foreign_mobile_keeps_its_region():
    number = classify("+32470123456", "FR")
    assert (number.kind, number.region) == (NumberKind.MOBILE, "BE")


@given(st.text(max_size=40))
def test_classify_never_raises(raw):
    number = classify(raw, "FR")
    assert number.raw == raw
    assert (number.e164 is None) or number.e164.startswith("+")


@pytest.mark.parametrize(
    ("raw", "prefix"),
    [("0899", "+33899"), ("+44 7", "+447"), ("0044", "+44"), ("abc", None), ("899", None)],
)
def test_block_prefixes_are_normalised(raw, prefix):
    assert normalise_prefix(raw, "FR") == prefix


def test_mask_hides_the_middle_of_phone_numbers_only():
    assert mask("+33612345678") == "+336••••••78"
    assert mask("SFR Info") == "SFR Info"
    assert mask("36179") == "36179"
