"""Province configuration: departments, indicators and thresholds per criteria set."""

from __future__ import annotations

import shutil
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest
import yaml
from shapely.geometry import MultiPolygon, box

from layers import province_config
from layers._errors import CriteriaError
from layers.store import Store
from _units import sha256 as _sha

EXAMPLE = Path(province_config.__file__).with_name("data") / "province-config.example.yaml"
SET = "qd318-2022-xa-ntm"




@pytest.fixture(scope="module")
def template(tmp_path_factory) -> Path:
    """The fixture store, built once per module and copied for each test."""
    path = tmp_path_factory.mktemp("template") / "cfg.gpkg"
    s = Store(path, create=True)
    rows = pd.DataFrame([{"code": "VD", "name": "Tỉnh Ví Dụ", "slug": "tinh-vi-du", "unit_type": "tinh"},
                         {"code": "LCA", "name": "Lào Cai", "slug": "lao-cai", "unit_type": "tinh"}])
    gdf = gpd.GeoDataFrame(rows, geometry=[MultiPolygon([box(104, 22, 104.1, 22.1)]),
                                           MultiPolygon([box(104.2, 22, 104.3, 22.1)])], crs="EPSG:4326")
    district = gpd.GeoDataFrame(
        pd.DataFrame([{"code": "SMC", "name": "Si Ma Cai", "slug": "si-ma-cai", "unit_type": "huyen",
                       "parent_code": "LCA"}]),
        geometry=[MultiPolygon([box(104.2, 22, 104.25, 22.05)])], crs="EPSG:4326")
    with s.transaction() as conn:
        s.insert_features(conn, "provinces", gdf)
        s.insert_features(conn, "districts", district)
    return path


@pytest.fixture
def store(template, tmp_path) -> Store:
    path = tmp_path / template.name
    shutil.copyfile(template, path)
    return Store(path)


def _config(tmp_path, data: dict, name="cfg.yaml") -> Path:
    path = tmp_path / name
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


def _example() -> dict:
    return yaml.safe_load(EXAMPLE.read_text(encoding="utf-8"))


def test_example_is_marked_as_example_and_loads(store):
    text = EXAMPLE.read_text(encoding="utf-8")
    assert "VÍ DỤ / EXAMPLE" in text and "không phải ngưỡng chính thức" in text
    cfg = province_config.province_config_from_yaml(EXAMPLE)
    assert cfg.scope == "VD" and set(cfg.sets) == {SET, "qd51-2025-xa-ntm"}
    summary = province_config.load_province_config(store, EXAMPLE)
    assert summary["sets"][SET] == {"departments": 19, "indicators": 4, "thresholds": 6, "replaced": 0}
    deps = province_config.departments(store, SET, "VD")
    assert list(deps) == list(range(1, 20)) and deps[2] == "Sở Giao thông vận tải (ví dụ)"
    th = province_config.thresholds(store, SET, "VD")
    assert len(th) == 6 and set(th["source_document"]) == {cfg.source_document}
    assert "không phải ngưỡng chính thức" in cfg.source_document
    groups = province_config.thresholds(store, "qd51-2025-xa-ntm", "VD")
    assert sorted(groups["applies_to"]) == ["1", "3"]
    ind = province_config.indicators(store, SET, "VD")
    assert ind["indicator"].tolist() == ["2.1", "4.2", "10.1", "11.1"]
    assert ind["criterion"].tolist() == [2, 4, 10, 11]


def test_thresholds_in_force_in_a_year(store):
    province_config.load_province_config(store, EXAMPLE)
    income = lambda y: province_config.thresholds(store, SET, "VD", year=y).query("criterion == 10")["value"].tolist()  # noqa: E731
    assert income(2023) == [40.0] and income(2024) == [45.0] and income(2026) == []


def test_reloading_replaces_only_that_scope_and_set(store, tmp_path):
    province_config.load_province_config(store, EXAMPLE)
    other = _example() | {"scope": "LCA"}
    province_config.load_province_config(store, _config(tmp_path, other))
    smaller = _example()
    smaller["sets"] = {SET: {"departments": {2: "Sở Xây dựng (ví dụ)"},
                             "thresholds": [{"criterion": 2, "operator": ">=", "value": 0.5}]}}
    summary = province_config.load_province_config(store, _config(tmp_path, smaller, "small.yaml"))
    assert summary["sets"][SET]["replaced"] == 19 + 4 + 6
    assert province_config.departments(store, SET, "VD") == {2: "Sở Xây dựng (ví dụ)"}
    assert len(province_config.thresholds(store, SET, "VD")) == 1
    assert province_config.indicators(store, SET, "VD").empty
    assert len(province_config.thresholds(store, "qd51-2025-xa-ntm", "VD")) == 2  # other set kept
    assert len(province_config.departments(store, SET, "LCA")) == 19  # other province kept


def test_dry_run_writes_nothing(store):
    before = _sha(store.path)
    summary = province_config.load_province_config(store, EXAMPLE, dry_run=True)
    assert summary["dry_run"] and summary["sets"][SET]["thresholds"] == 6
    assert _sha(store.path) == before


def _broken(change) -> dict:
    data = _example()
    change(data)
    return data


def _threshold(data, k=0, **fields):
    data["sets"][SET]["thresholds"][k].update(fields)


@pytest.mark.parametrize(
    ("change", "match"),
    [
        (lambda d: d.pop("source_document"), r"\(top level\): 'source_document' is a required property"),
        (lambda d: d["sets"][SET].update(colour="red"), r"sets\.qd318-2022-xa-ntm: Additional properties are not allowed \('colour'"),
        (lambda d: _threshold(d, operator="=>"), r"sets\.qd318-2022-xa-ntm\.thresholds\[0\]\.operator: '=>' is not one of"),
        (lambda d: _threshold(d, value="70%"), r"thresholds\[0\]\.value: '70%' is not of type 'number'"),
        (lambda d: d["sets"].update({"qd999-xa": {"departments": {1: "Sở X"}}}), r"sets\.qd999-xa: unknown criteria set 'qd999-xa'"),
        (lambda d: d["sets"][SET]["departments"].update({25: "Sở X"}), r"departments\.25: set 'qd318-2022-xa-ntm' has no criterion 25 \(1\.\.19\)"),
        (lambda d: d["sets"][SET]["indicators"].append({"id": "25.1", "name_vi": "x"}), r"indicators\[4\]\.id: '25\.1' names criterion 25"),
        (lambda d: d["sets"][SET]["indicators"].append({"criterion": 3, "id": "2.9", "name_vi": "x"}), r"'2\.9' must start with the criterion number '3\.'"),
        (lambda d: d["sets"][SET]["indicators"].append({"id": "2.1", "name_vi": "x"}), r"indicators\[4\]\.id: '2\.1' is declared twice"),
        (lambda d: _threshold(d, criterion=3), r"thresholds\[0\]\.indicator: '2\.1' does not belong to criterion 3"),
        (lambda d: _threshold(d, indicator="2.7"), r"thresholds\[0\]\.indicator: '2\.7' is not declared under sets\.qd318-2022-xa-ntm\.indicators"),
        (lambda d: _threshold(d, applies_to="2"), r"thresholds\[0\]\.applies_to: '2' is not a region code of set 'qd318-2022-xa-ntm'; expected one of btb, dbscl"),
        (lambda d: d["sets"]["qd51-2025-xa-ntm"]["thresholds"][0].update(applies_to="tdmnpb"),
         r"qd51-2025-xa-ntm\.thresholds\[0\]\.applies_to: 'tdmnpb' is not a commune group .* expected one of 1, 2, 3"),
        (lambda d: _threshold(d, year_from=2025, year_to=2022), r"thresholds\[0\]\.year_from: 2025 is after year_to 2022"),
        (lambda d: _threshold(d, year_from=2030, year_to=2031), r"thresholds\[0\]: years 2030\.\.2031 fall outside the years of set 'qd318-2022-xa-ntm' \(2022\.\.2025\)"),
        (lambda d: _threshold(d, 4, year_from=2023), r"thresholds\[4\]: overlaps sets\.qd318-2022-xa-ntm\.thresholds\[3\]"),
        (lambda d: d.update(scope="NOPE"), r"scope: 'NOPE' is not a province code in store"),
        (lambda d: d.update(scope="SMC"), r"scope: 'SMC' is not a province code"),
    ],
)
def test_bad_configurations_are_refused(store, tmp_path, change, match):
    path = _config(tmp_path, _broken(change))
    before = _sha(store.path)
    with pytest.raises(CriteriaError, match=match):
        province_config.load_province_config(store, path)
    assert _sha(store.path) == before


def test_every_problem_is_reported_at_once(tmp_path):
    def change(d):
        d["sets"][SET]["departments"][30] = "Sở X"
        _threshold(d, 0, applies_to="mars")
        _threshold(d, 1, operator="~")
    path = _config(tmp_path, _broken(change))
    with pytest.raises(CriteriaError, match=r"\(3 problem\(s\)\), nothing was loaded") as err:
        province_config.province_config_from_yaml(path)
    text = str(err.value)
    assert "departments.30" in text and "thresholds[0].applies_to" in text and "thresholds[1].operator" in text


def test_unreadable_file(tmp_path):
    path = tmp_path / "broken.yaml"
    path.write_text("sets: [\n", encoding="utf-8")
    with pytest.raises(CriteriaError, match=r"cannot read province configuration"):
        province_config.province_config_from_yaml(path)
