"""Map modes classify every commune of a scope; legends count each class."""

import pytest

from layers.demo import build_demo
from layers.store import Store
from maps.modes import MODES, class_breaks, classify_communes


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    path = tmp_path_factory.mktemp("demo") / "demo.gpkg"
    build_demo(path, communes=24, seed=7)
    return Store(path)


def test_class_breaks():
    assert class_breaks(19) == [(0, 9), (10, 14), (15, 18), (19, 19)]
    assert class_breaks(10) == [(0, 5), (6, 7), (8, 9), (10, 10)]


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("lang", ["vi", "en"])
def test_every_mode_classifies_every_commune(demo, mode, lang):
    result = classify_communes(demo, year=2024, mode=mode, criterion=2, lang=lang)
    assert len(result.frame) > 0
    assert sum(c.count for c in result.legend) == len(result.frame)
    assert set(result.frame["key"]) <= {c.key for c in result.legend}
    assert result.frame["colour"].str.match(r"^#[0-9a-f]{6}$").all()


def test_count_mode_agrees_with_the_numbers(demo):
    result = classify_communes(demo, year=2024, mode="count")
    for row in result.frame.itertuples():
        if row.n_assessed:
            low, high = map(int, row.key.split("-"))
            assert low <= row.n_met <= high


def test_gap_and_criterion_modes(demo):
    gap = classify_communes(demo, year=2024, mode="gap").frame
    full = gap[gap["key"] == "gap_0"]
    assert (full["n_met"] == full["n_total"]).all()
    crit = classify_communes(demo, year=2024, mode="criterion", criterion=17).frame
    assert all((17 in m) == (k == "met") for m, k in zip(crit["met"], crit["key"]))


def test_bad_parameters(demo):
    with pytest.raises(ValueError, match="'mode' must be one of"):
        classify_communes(demo, year=2024, mode="heat")
    with pytest.raises(ValueError, match="needs 'criterion'"):
        classify_communes(demo, year=2024, mode="criterion")
    with pytest.raises(ValueError, match="has no criterion 25"):
        classify_communes(demo, year=2024, mode="criterion", criterion=25)
