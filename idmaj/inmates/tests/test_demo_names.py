"""The Moroccan names of the demo data and of the search benchmark (``inmates.demo_names``)."""

import re

import pytest

from idmaj.inmates import demo_names
from idmaj.inmates.names import search_key

ARABIC = re.compile(r"^[\u0600-\u06FF ]+$")
LATIN = re.compile(r"^[A-Za-zÀ-ÿ' -]+$")


@pytest.mark.parametrize(
    ("names", "at_least"),
    [
        (demo_names.MALE_FIRST_NAMES, 150),
        (demo_names.FEMALE_FIRST_NAMES, 100),
        (demo_names.FAMILY_NAMES, 300),
    ],
)
def test_lists_are_large_distinct_pairs_in_both_scripts(names, at_least):
    assert len(names) >= at_least
    assert len({ar for ar, _lat in names}) == len(names)
    assert len({lat for _ar, lat in names}) == len(names)
    # distinct for the search too: no two entries share a normalised key
    assert len({search_key(lat) for _ar, lat in names}) == len(names)
    for ar, lat in names:
        assert ARABIC.match(ar), ar
        assert LATIN.match(lat), lat


def test_first_names_are_not_shared_between_the_sexes():
    male = {lat for _ar, lat in demo_names.MALE_FIRST_NAMES}
    female = {lat for _ar, lat in demo_names.FEMALE_FIRST_NAMES}
    assert not male & female


def test_latin_variants_name_first_names_of_the_lists():
    firsts = {lat for _ar, lat in demo_names.MALE_FIRST_NAMES + demo_names.FEMALE_FIRST_NAMES}
    assert {"Mohamed", "Abdelkader", "Youssef", "Fatima"} <= set(demo_names.LATIN_VARIANTS)
    assert set(demo_names.LATIN_VARIANTS["Mohamed"]) >= {"Mohammed", "Muhammad", "Mohamad"}
    assert "Abd El Kader" in demo_names.LATIN_VARIANTS["Abdelkader"]
    for name, variants in demo_names.LATIN_VARIANTS.items():
        assert name in firsts, name
        assert variants and name not in variants and len(set(variants)) == len(variants)


def test_same_key_variants_are_those_the_normalisation_joins():
    same = demo_names.same_key_variants()
    assert "Mohammed" in same["Mohamed"] and "Abd El Kader" in same["Abdelkader"]
    for name, variants in demo_names.LATIN_VARIANTS.items():
        for variant in variants:
            joined = search_key(variant) == search_key(name)
            assert joined == (variant in same.get(name, ())), (name, variant)
