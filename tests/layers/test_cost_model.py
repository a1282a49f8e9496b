"""The versioned cost model: the shipped file loads; bad files name the key at fault."""

from __future__ import annotations

import pytest
import yaml

from layers import criteria
from layers.cost_model import COST_MODEL_PATH, CostModelError, default_cost_model, load_cost_model


def _write(tmp_path, data, name="model.yaml"):
    path = tmp_path / name
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return path


@pytest.fixture
def data():
    return yaml.safe_load(COST_MODEL_PATH.read_text(encoding="utf-8"))


def test_shipped_model_is_versioned_and_illustrative():
    m = default_cost_model()
    assert m.version == "2026.12-illustrative" and m.currency == "VND" and m.date == "2026-12-07"
    assert m.status == "illustrative" and "không phải" in m.title_vi and "not official" in m.title_en
    assert m.components["road_duong_xa"].unit_cost_vnd == 3.5e9
    assert m.components["road_duong_xa"].driver == "road_to_harden_km.duong_xa"
    assert m.components["temporary_housing"].unit_cost_vnd == 6e7


@pytest.mark.parametrize("set_id", ["qd318-2022-xa-ntm", "qd51-2025-xa-ntm"])
def test_every_criterion_is_closable_or_has_a_reason(set_id):
    m = default_cost_model()
    numbers = set(criteria.get_set(set_id).numbers)
    closable, blocked = set(m.closable[set_id]), set(m.not_closable[set_id])
    assert closable | blocked == numbers and not closable & blocked
    for reason in m.not_closable[set_id].values():
        assert reason["reason_vi"] and reason["reason_en"]


def test_money_alone_does_not_close_income_poverty_politics():
    m = default_cost_model()
    assert {10, 11, 12, 13, 14, 16, 18, 19} == set(m.not_closable["qd318-2022-xa-ntm"])
    assert {3, 4, 6, 7, 9, 10} == set(m.not_closable["qd51-2025-xa-ntm"])
    assert m.closable["qd318-2022-xa-ntm"][2].components[:2] == ("road_huyen_lo", "road_duong_xa")


def test_funding_splits_sum_to_one_and_use_the_vocabulary():
    for comp in default_cost_model().components.values():
        assert abs(sum(comp.funding_sources.values()) - 1) < 1e-9
        assert set(comp.funding_sources) <= {"central_investment", "central_recurrent", "local_budget",
                                             "integrated", "organisations", "community"}


def test_as_dict_round_trips(tmp_path):
    doc = default_cost_model().as_dict()
    assert doc["sets"]["qd318-2022-xa-ntm"]["closable"]["2"]["fallback_vnd"] == 2e9
    assert doc["components"]["market"]["funding_sources"]["organisations"] == 0.5


@pytest.mark.parametrize("change, key", [
    (lambda d: d["components"]["road_duong_xa"]["funding_sources"].update(foo=0.0),
     "components.road_duong_xa.funding_sources.foo: unknown funding source"),
    (lambda d: d["components"]["market"]["funding_sources"].update(organisations=0.9),
     "components.market.funding_sources: the shares must sum to 1"),
    (lambda d: d["components"]["market"].update(driver="markets_far_away"),
     "components.market.driver: unknown driver 'markets_far_away'"),
    (lambda d: d["components"]["road_duong_xa"].update(driver="road_to_harden_km.motorway"),
     "components.road_duong_xa.driver: unknown road class 'motorway'"),
    (lambda d: d["sets"]["qd318-2022-xa-ntm"]["closable"][2]["components"].insert(1, "bridge"),
     "sets.qd318-2022-xa-ntm.closable.2.components[1]: unknown component 'bridge'"),
    (lambda d: d["sets"]["qd318-2022-xa-ntm"]["not_closable"].pop(19),
     "sets.qd318-2022-xa-ntm: criteria [19] are neither 'closable' nor 'not_closable'"),
    (lambda d: d["sets"]["qd318-2022-xa-ntm"]["not_closable"].update({2: {"reason_vi": "x", "reason_en": "x"}}),
     "sets.qd318-2022-xa-ntm.not_closable.2: criterion 2 is also under 'closable'"),
    (lambda d: d["sets"]["qd51-2025-xa-ntm"]["closable"].update({11: {"components": ["market"]}}),
     "sets.qd51-2025-xa-ntm.closable.11: set 'qd51-2025-xa-ntm' has no criterion 11"),
    (lambda d: d["components"]["market"].update(unit_cost_vnd=-5),
     "components.market.unit_cost_vnd"),
    (lambda d: d.update(currency="USD"), "currency"),
    (lambda d: d.pop("version"), "'version' is a required property"),
])
def test_bad_file_names_the_key(tmp_path, data, change, key):
    change(data)
    path = _write(tmp_path, data)
    with pytest.raises(CostModelError) as err:
        load_cost_model(path)
    assert key in str(err.value) and str(path) in str(err.value)


def test_missing_file_and_broken_yaml(tmp_path):
    with pytest.raises(FileNotFoundError, match="cost model file not found"):
        load_cost_model(tmp_path / "none.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("version: [1\n", encoding="utf-8")
    with pytest.raises(CostModelError, match="not valid YAML"):
        load_cost_model(bad)


def test_a_province_file_replaces_the_defaults(tmp_path, data):
    data["version"] = "lao-cai-2027"
    data["components"]["road_duong_xa"]["unit_cost_vnd"] = 4_200_000_000
    m = load_cost_model(_write(tmp_path, data))
    assert m.version == "lao-cai-2027" and m.components["road_duong_xa"].unit_cost_vnd == 4.2e9
