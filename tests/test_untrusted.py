"""The renderer of text a stranger wrote: visible escapes for people, exact JSON for programs."""

from __future__ import annotations

import json
import unicodedata

from hypothesis import example, given
from hypothesis import strategies as st

from anti_relous.untrusted import columns, fit, json_dumps, visible

#: What must never reach a terminal raw (LF aside, when a caller keeps line breaks).
BIDI = {0x061C, 0x200E, 0x200F, *range(0x202A, 0x202F), *range(0x2066, 0x206A)}


def _raw_danger(shown: str, *, newline_ok: bool = False) -> list[str]:
    bad = []
    for position, char in enumerate(shown):
        code = ord(char)
        if char == "\n" and newline_ok:
            continue
        category = unicodedata.category(char)
        tag = 0xE0020 <= code < 0xE0080
        hidden_format = category == "Cf" and char != "\u200d" and not tag
        if category in ("Cc", "Cs", "Zl", "Zp") or code in BIDI or hidden_format:
            bad.append(char)
        elif char == "\u200d":
            # A kept joiner sits between two emoji (or their selectors and modifiers).
            before, after = shown[position - 1 : position], shown[position + 1 : position + 2]
            if not (_emoji_like(before) and _emoji_like(after)):
                bad.append(char)
    return bad


def _emoji_like(char: str) -> bool:
    return bool(char) and unicodedata.category(char) in ("So", "Sk", "Mn")


FRENCH = (
    "Salut ça va ? Je t'ai vue à la gare, où es-tu ? Réponds stp 😘",
    "Bonsoir, c'est bien ton numéro ? « Œuvre » — déjà vu, ÇA ÉTÉ ùûüÿ€",
    "Coucou 👩‍💻 et 👨‍👩‍👧 et 👍🏽 et 🏳️‍🌈 et 🏴󠁧󠁢󠁳󠁣󠁴󠁿",
)


def test_ordinary_french_text_with_emoji_is_unchanged() -> None:
    for text in FRENCH:
        assert visible(text) == text


def test_a_threat_hidden_by_cursor_moves_is_shown_in_full() -> None:
    hidden = "je vais te tuer\x1b[15D\x1b[Kbonjour !"
    shown = visible(hidden)
    assert shown == "je vais te tuer\\x1b[15D\\x1b[Kbonjour !"
    assert "\x1b" not in shown


def test_controls_c1_and_bidi_become_visible_escapes() -> None:
    assert visible("a\x08b\x07c\x00d\x7fe\x9bf") == "a\\x08b\\x07c\\x00d\\x7fe\\x9bf"
    assert visible("abc\u202edcba") == "abc⟨U+202E⟩dcba"
    assert visible("pay\u200bpal\u2066") == "pay⟨U+200B⟩pal⟨U+2066⟩"
    assert visible("tab\tcr\r") == "tab\\tcr\\r"


def test_line_breaks_are_shown_on_one_line_unless_asked_for() -> None:
    assert visible("ligne 1\nligne 2") == "ligne 1⏎ligne 2"
    assert visible("ligne 1\nligne 2", newline="\n") == "ligne 1\nligne 2"


def test_a_joiner_outside_an_emoji_sequence_is_visible() -> None:
    assert visible("ab\u200dcd") == "ab⟨U+200D⟩cd"
    assert visible("\u200d😘") == "⟨U+200D⟩😘"


def test_width_caps_a_cell_counting_wide_characters_twice() -> None:
    assert fit("abcdefghij", 5) == "abcd…"
    assert columns("😘😘") == 4
    assert columns(fit("😘" * 10, 7)) <= 7
    assert visible("\x1b" * 10, width=8) == "\\x1b\\x1…"


@given(st.text())
@example("\x1b]0;pwned\x07")
@example("\u202e\u2066\u200b\ufeff\u00ad\U000e0041")
@example("x\u200d")
def test_visible_output_never_holds_a_raw_control_c1_or_bidi_character(text: str) -> None:
    assert _raw_danger(visible(text)) == []
    assert _raw_danger(visible(text, newline="\n"), newline_ok=True) == []


@given(st.text(alphabet=st.characters(categories=("L", "M", "N", "P", "Zs", "Sm", "Sc"))))
def test_visible_is_the_identity_on_text_without_dangerous_characters(text: str) -> None:
    assert visible(text) == text


@given(st.text())
@example("\x9b31m\u202e\x7f\U000e0041\ud800")
def test_json_keeps_the_exact_text_and_shows_no_raw_control(text: str) -> None:
    dumped = json_dumps({"text": text})
    assert json.loads(dumped) == {"text": text}
    assert _raw_danger(dumped) == []


def test_json_leaves_french_and_emoji_readable() -> None:
    dumped = json_dumps({"text": FRENCH[0]})
    assert FRENCH[0] in dumped
    assert json_dumps("\x9b") == '"\\u009b"'
    assert json_dumps("\U000e0041") == '"\\udb40\\udc41"'


@given(st.text(), st.integers(min_value=1, max_value=40))
@example("👩\u200d💻", 3)
@example("🏴\U000e0067\U000e0062\U000e0073\U000e0063\U000e0074\U000e007f", 3)
def test_a_capped_cell_never_holds_a_raw_control_c1_or_bidi_character(
    text: str, width: int
) -> None:
    shown = visible(text, width=width)
    assert columns(shown) <= width
    assert _raw_danger(shown) == []


@given(st.recursive(st.text(), lambda inner: st.lists(inner) | st.dictionaries(st.text(), inner)))
def test_indented_json_keeps_its_line_breaks_and_the_exact_values(value: object) -> None:
    dumped = json_dumps(value, indent=2)
    assert json.loads(dumped) == value
    assert _raw_danger(dumped, newline_ok=True) == []
