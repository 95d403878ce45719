"""The flag list: which messages the complaint pack puts first for a human eye, and which not."""

from __future__ import annotations

import pytest
from flood_traffic import BOT_EMOJI, BOT_SHORT, GENUINE_TEXTS
from hypothesis import given
from hypothesis import strategies as st

from anti_relous.report.flags import (
    Category,
    FlagListError,
    first_category,
    flags_of,
    load_flag_list,
    parse_flag_list,
    plain,
)

BUILTIN = load_flag_list(None)
GENUINE = [
    "Salut ça va ?",
    "Salut ca va",
    "Coucou, c'était sympa ce soir",
    "On se voit ce soir ?",
    "Je suis en retard, désolé",
    "J'ai 3 cours demain et 2 places pour le concert",
    "C'est un restaurant réputé",
    "Gagnez un iPhone ! Code 00042",
    "je t'attends au bar",
    *GENUINE_TEXTS,
    *BOT_EMOJI,
]


def categories(text: str, flag_list=BUILTIN) -> list[Category]:
    return [flag.category for flag in flags_of(text, flag_list)]


@pytest.mark.parametrize("text", GENUINE)
def test_ordinary_texts_are_not_flagged(text):
    assert categories(text) == []


@pytest.mark.parametrize(
    "text",
    [
        "je sais où tu habites",
        "Je sais OÙ, tu habites !!",
        "jsais ou tu habites",
        "je sais où tu descends",
        "j'vais t'buter",
        "Je vais te retrouver",
        "Je passe tous les jours devant ton travail, tu le sais.",
        "I know where you live",
        "I'll kill you",
    ],
)
def test_threats_are_flagged_as_threats(text):
    assert categories(text)[0] is Category.THREAT


def test_invisible_characters_do_not_hide_a_threat():
    assert categories("je sais o\u200bù tu ha\u2060bites") == [Category.THREAT]


@pytest.mark.parametrize(
    "text",
    [
        "appelle-moi au 06 12 34 56 78",
        "+33 6 12 34 56 78 c'est toi",
        "écris à camille.martin@example.org",
        "t'habites au 12 rue de la Paix",
        "3 bis, avenue Jean Jaurès",
        "75011 Paris",
        "donne moi ton digicode",
    ],
)
def test_personal_data_is_flagged(text):
    assert Category.PERSONAL_DATA in categories(text)


@pytest.mark.parametrize("text", ["sale pute", "t'es moche", "Connasse", "fuck you bitch"])
def test_insults_are_flagged_in_french_and_english(text):
    assert categories(text) == [Category.INSULT]


def test_words_match_whole_words_only():
    assert categories("un chef réputé, une dispute") == []


def test_founders_names_are_personal_data_whatever_the_case_and_accents():
    flag_list = load_flag_list(None, ["Inès Dupont", "Camille"])
    assert categories("INES DUPONT on sait qui t'es", flag_list)[-1] is Category.PERSONAL_DATA
    assert categories("c'est camille qui gère ?", flag_list) == [Category.PERSONAL_DATA]
    assert categories("c'est camille qui gère ?") == []


def test_a_message_with_several_flags_lists_the_threat_first():
    found = flags_of("sale pute, je sais où tu habites, 12 rue Oberkampf", BUILTIN)
    assert [f.category for f in found] == list(Category)
    assert first_category(found) == 0
    assert found[0].matched == "je sais ou tu habites"


def test_the_bots_short_texts_are_not_flagged_but_a_stalking_one_is():
    flagged = [text for text in BOT_SHORT if flags_of(text, BUILTIN)]
    assert flagged == ["je sais où tu descends"]


def test_an_operator_list_replaces_the_builtin_one(tmp_path):
    own = tmp_path / "flags.toml"
    own.write_text('[[flag]]\ncategory = "insult"\nwords = ["gros naze"]\n', encoding="utf-8")
    flag_list = load_flag_list(own)
    assert categories("t'es un GROS NAZE", flag_list) == [Category.INSULT]
    assert categories("je sais où tu habites", flag_list) == []
    assert flag_list.source == str(own)


def test_a_trailing_star_matches_any_ending():
    flag_list = parse_flag_list(b'[[flag]]\ncategory = "threat"\nwords = ["tuer*"]\n', "x")
    assert categories("je te tuerai", flag_list) == [Category.THREAT]
    assert categories("tu es tuée", flag_list) == []


@pytest.mark.parametrize(
    ("document", "expected"),
    [
        ('[[flag]]\ncategory = "menace"\nwords = ["x"]', "[[flag]] number 1: category must be"),
        ('[[flag]]\ncategory = "threat"', "[[flag]] number 1: give words, patterns or both"),
        (
            '[[flag]]\ncategory = "insult"\nwords = ["a"]\n[[flag]]\ncategory = "threat"\n'
            "patterns = ['(unclosed']",
            "[[flag]] number 2: the pattern '(unclosed' is wrong",
        ),
        ('[[flag]]\ncategory = "threat"\nword = ["x"]', "unknown key 'word'"),
        ('[[flag]]\ncategory = "threat"\nwords = "x"', "words must be a list of strings"),
        ("flag = 1", "write each entry as a [[flag]] table"),
        ("[[flag]\n", "not a valid TOML file"),
    ],
)
def test_a_wrong_list_names_the_file_the_entry_and_the_fix(document, expected):
    with pytest.raises(FlagListError, match=r"^ops\.toml: ") as raised:
        parse_flag_list(document.encode(), "ops.toml")
    assert expected in str(raised.value)
    assert raised.value.exit_code == 2


def test_a_missing_list_says_which_key_points_at_it(tmp_path):
    with pytest.raises(FlagListError, match=r"cannot read the flag list .*\(\[report\] flags\)"):
        load_flag_list(tmp_path / "nope.toml")


def test_the_builtin_list_is_named_and_hashed():
    assert BUILTIN.source == "built-in"
    assert len(BUILTIN.sha256) == 64


@given(st.text())
def test_any_text_can_be_checked(text):
    found = flags_of(text, BUILTIN)
    assert len({flag.category for flag in found}) == len(found)


@given(st.text(alphabet=st.characters(categories=["Cf"]), max_size=5))
def test_plain_form_drops_invisible_characters(noise):
    assert plain(f"ha{noise}bites") == "habites"
