"""Campaign clustering: normal forms, short texts, and leader clustering on varied copypasta."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from anti_relous.policy.campaigns import best_match, cluster, is_short, normalise

COPYPASTA = "Tu crois vraiment que ton numéro anti-relou va nous arrêter ? On est des milliers"


def test_normalise_drops_case_accents_digits_and_punctuation() -> None:
    assert normalise("  Ça VA, Élodie ?? 0612345678 !!") == "ca va elodie"
    assert normalise("😡😡😡") == "😡😡😡"
    assert normalise("😘😘 942") == normalise("😘😘 ??") == "😘😘"
    assert normalise("0612345678") == "0612345678"
    assert normalise("") == ""


def test_bot_variations_of_one_text_are_one_campaign() -> None:
    texts = [
        COPYPASTA,
        COPYPASTA + " 4821",
        COPYPASTA.upper() + "!!!",
        COPYPASTA.replace("milliers", "millier"),
        "Bonjour, je vous ai croisée rue de la Roquette, vous aviez un livre rouge",
        "Salut ça va ?",
        "salut ca va",
    ]
    clusters = cluster(texts)
    assert clusters[0].members == (0, 1, 2, 3)
    assert clusters[0].leader == 0
    assert sorted(c.members for c in clusters[1:]) == [(4,), (5, 6)]


def test_short_texts_join_only_identical_short_texts() -> None:
    assert is_short(normalise("Salut ça va ?"))
    representatives = [normalise("Salut ça va ?"), normalise(COPYPASTA)]
    assert best_match(normalise("salut ça va"), representatives) == 0
    assert best_match(normalise("salut ça vaa"), representatives) is None
    # a long text near a short one does not join it
    assert best_match(normalise("Salut ça va ? tu fais quoi ce soir"), representatives[:1]) is None


def test_distinct_personal_texts_stay_apart() -> None:
    texts = [
        "Je vous ai vue au métro Bastille ce matin, je voulais juste m'excuser",
        "Pourquoi tu m'as donné ce numéro ? Je voulais juste discuter avec toi",
        "C'est quoi ce site ? T'aurais pu dire non directement au lieu de mentir",
        "Bonsoir, on s'est parlé devant la boulangerie, vous vous souvenez de moi ?",
    ]
    assert len(cluster(texts)) == 4


@given(st.lists(st.text(max_size=40), max_size=30))
def test_cluster_is_a_partition_in_order(texts: list[str]) -> None:
    clusters = cluster(texts)
    members = sorted(i for c in clusters for i in c.members)
    assert members == list(range(len(texts)))
    for found in clusters:
        assert found.leader == found.members[0]
        assert list(found.members) == sorted(found.members)
