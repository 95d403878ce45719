"""SMS coding and part arithmetic, held equal to the parts python-gammu actually makes."""

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from anti_relous.coding import GSM7_BASIC, GSM7_EXTENSION, fits_gsm7, one_gsm7_part, text_info
from anti_relous.modem import pdu


def gammu_parts(text: str) -> int:
    return len(pdu.encode_submit("+33612345678", text, reference=1))


@pytest.mark.parametrize(
    ("text", "coding", "parts"),
    [
        ("a" * 160, "gsm7", 1),
        ("a" * 161, "gsm7", 2),
        ("a" * 306, "gsm7", 2),
        ("a" * 307, "gsm7", 3),
        ("€" * 80, "gsm7", 1),  # an extension character costs two septets
        ("€" * 81, "gsm7", 2),
        ("a" * 152 + "€" + "a" * 152, "gsm7", 3),  # ESC and € never split across parts
        ("a" * 153 + "€" + "a" * 151, "gsm7", 2),
        ("ç" * 70, "ucs2", 1),
        ("ç" * 71, "ucs2", 2),
        ("ç" * 134, "ucs2", 2),
        ("ç" * 135, "ucs2", 3),
        ("😀" * 35, "ucs2", 1),  # a surrogate pair costs two UTF-16 units
        ("😀" * 36, "ucs2", 2),
        ("ç" * 66 + "😀" + "ç" * 66, "ucs2", 3),  # a pair never splits across parts
        ("ç" * 65 + "😀" + "ç" * 67, "ucs2", 2),
        ("ç" + "~" * 69, "ucs2", 1),  # our tilde doubling for gammu costs nothing on the air
    ],
)
def test_parts_match_what_gammu_sends(text, coding, parts):
    info = text_info(text)
    assert (info.coding, info.parts, info.characters) == (coding, parts, len(text))
    assert gammu_parts(text) == parts


def test_ucs2_exactly_outside_the_gsm7_tables():
    assert fits_gsm7("àéèù É Ç €[]{}~^|\\ @£$¥")
    assert not fits_gsm7("ça")
    assert not fits_gsm7("😀")


def test_describe_reads_as_a_sentence():
    assert text_info("a" * 161).describe() == "GSM-7, 161 characters, 2 SMS parts"
    assert text_info("ç").describe() == "UCS-2 (because of 'ç'), 1 character, 1 SMS part"


def test_ucs2_names_the_characters_that_forced_it_invisible_ones_by_code():
    info = text_info("Ça va ? Très bien\u00a0!")
    assert info.outside_gsm7 == ("\u00a0",)  # Ç is GSM-7; the no-break space is not
    described = text_info("ça\u00a0va").describe()
    assert "'ç'" in described and "U+00A0 NO-BREAK SPACE" in described


def test_gsm7_text_names_no_character():
    assert text_info("Très bien").outside_gsm7 == ()


# Texts near the part boundaries, rich in two-septet characters: where a count could go wrong.
# (tests/test_pdu.py holds the same equality on arbitrary Unicode replies.)
GSM7_TEXT = st.text(
    alphabet=st.sampled_from(sorted(GSM7_BASIC)) | st.sampled_from(sorted(GSM7_EXTENSION)),
    min_size=140,
    max_size=480,
)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(GSM7_TEXT)
def test_gsm7_part_count_is_gammus(text):
    assert text_info(text).parts == gammu_parts(text)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.text(alphabet=st.sampled_from("aç😀€~"), min_size=60, max_size=240))
def test_ucs2_part_count_is_gammus(text):
    assert text_info(text).parts == gammu_parts(text)


def test_one_gsm7_part_keeps_a_text_that_fits():
    text = "Ligne en pause jusqu'à 01:30 (2h). É è ù à"
    assert one_gsm7_part(text) == text


def test_one_gsm7_part_replaces_what_gsm7_lacks_instead_of_going_ucs2():
    assert one_gsm7_part("ça 😡") == "?a ?"


def test_one_gsm7_part_cuts_past_160_septets_with_an_ellipsis():
    cut = one_gsm7_part("x" * 200)
    assert cut == "x" * 157 + "..." and text_info(cut).parts == 1


def test_one_gsm7_part_counts_extension_characters_twice():
    cut = one_gsm7_part("€" * 100)
    assert text_info(cut).parts == 1 and cut.endswith("...")
    assert cut.count("€") == 78
