"""The commune page: criteria grid per set, recognitions, targets, plans, facts, escaping."""

import contextlib
import json
import re

import pandas as pd
import pytest

from layers import criteria, plans, recognitions, status, targets
from layers.status import record_status
from layers.store import Store
from maps import assets
from maps.commune_page import (
    CommuneNotFound,
    commune_page_html,
    commune_plans,
    commune_targets,
    criteria_grids,
    find_commune,
    not_found_html,
)
from maps._commune_map import safe_json
from maps._errors import ParameterError

QD318, QD51 = "qd318-2022-xa-ntm", "qd51-2025-xa-ntm"
HOSTILE = '<script>alert("x")</script>'
QUOTED = "Thôn \"Đỉnh\" O'Neil & Co"


@pytest.fixture(scope="module")
def demo(demo_store_path):
    return Store(demo_store_path)


@pytest.fixture(scope="module")
def js_css():
    return assets.offline_resources()


RICH = """SELECT t.scope_code FROM targets t
           WHERE length(t.scope_code) > 6
             AND EXISTS (SELECT 1 FROM status_records r WHERE r.unit_code = t.scope_code AND r.year = 2026)
             AND (SELECT count(DISTINCT year) FROM plans p WHERE p.unit_code = t.scope_code) >= 3
           ORDER BY (SELECT count(*) FROM projects p WHERE p.commune_code = t.scope_code) DESC LIMIT 1"""


@pytest.fixture(scope="module")
def rich(demo, js_css):
    """(code, page of 2024) of a demo commune with its own target, plans, projects and 2026 status."""
    code = _one(demo, RICH)[0]
    return code, commune_page_html(demo, code, year=2024, offline_js=js_css[0], offline_css=js_css[1])


def _one(store, sql, params=()):
    with contextlib.closing(store.connect()) as conn:
        return conn.execute(sql, params).fetchone()


def _grid_block(page: str, set_id: str) -> str:
    start = page.index(f'data-set="{set_id}"')
    return page[start:page.index("</table>", start)]


def _data(page: str) -> list[dict]:
    """Every GeoJSON FeatureCollection embedded in the page."""
    return [json.loads(m) for m in re.findall(r"L\.geoJson\((\{.*?\}), \{", page)]


def test_grids_follow_the_latest_status_records(demo, rich):
    code = rich[0]
    grids = criteria_grids(demo, code)
    assert [g.cset.id for g in grids] == [QD318, QD51]  # separate grids, oldest set first
    assert grids[0].years == [2021, 2022, 2023, 2024, 2025] and grids[1].years == [2026]
    latest = status.current_status(demo, unit_codes=[code])
    for r in latest.itertuples():
        grid = grids[0] if r.set_id == QD318 else grids[1]
        expected = None if pd.isna(r.met) else bool(r.met)
        assert grid.cells[(r.criterion, r.year)] == expected
        assert grid.symbol(r.criterion, r.year) == {True: "✓", False: "✗", None: "–"}[expected]
    assert grids[0].n_met(2024) == int(latest.query("year == 2024 and set_id == @QD318")["met"].fillna(False).sum())


def test_page_shows_one_grid_per_set_with_vietnamese_names(demo, rich):
    code, page = rich
    old, new = _grid_block(page, QD318), _grid_block(page, QD51)
    assert old.count('<th class="crit">') == 19 and new.count('<th class="crit">') == 10
    for cset, block in ((criteria.get_set(QD318), old), (criteria.get_set(QD51), new)):
        for c in cset.criteria:
            assert f"{c.number}. {c.name_vi}" in block
    assert "Từ năm 2026 áp dụng bộ tiêu chí mới" in page
    n_met = criteria_grids(demo, code)[0].n_met(2024)
    assert f'<td class="tot sel">{n_met}/19' in old  # the chosen year is highlighted
    assert "2. Giao thông" in old and "2. Hạ tầng kinh tế - xã hội" in new


def test_a_new_record_changes_the_page(demo_store, js_css):
    code, number = _one(demo_store, "SELECT unit_code, criterion FROM status_records "
                                    "WHERE year = 2023 AND set_id = ? AND met = 1 AND indicator IS NULL "
                                    "AND unit_code IN (SELECT unit_code FROM status_records WHERE year = 2024) "
                                    "LIMIT 1", [QD318])
    record_status(demo_store, [{"unit_code": code, "year": 2024, "set_id": QD318, "criterion": number,
                                "met": False, "source_document": "BC 12/BC-UBND"}], recorded_by="test")
    grid = criteria_grids(demo_store, code)[0]
    assert grid.cells[(number, 2024)] is False and grid.cells[(number, 2023)] is True
    page = commune_page_html(demo_store, code, year=2024)
    row = re.search(rf'<th class="crit">{number}\. .*?</tr>', _grid_block(page, QD318)).group(0)
    assert 'class="no lost sel"' in row and "BC 12/BC-UBND" in row  # lost since 2023, source in the tooltip


def test_recognition_history_and_revocation(demo_store):
    code, level, year = _one(demo_store, "SELECT unit_code, level, year FROM recognitions "
                                         "WHERE unit_level = 'commune' AND unit_code IN (SELECT unit_code FROM "
                                         "recognitions GROUP BY unit_code HAVING count(*) >= 2) ORDER BY year LIMIT 1")
    recognitions.revoke_recognition(demo_store, code, level, year, note="Thu hồi theo QĐ 99")
    page = commune_page_html(demo_store, code, year=2024)
    section = page[page.index('<section id="recognitions">'):page.index('<section id="targets">')]
    decisions = demo_store.read_table("recognitions", "unit_code = ? AND unit_level = 'commune'", [code])
    assert section.count("<tr>") == len(decisions) + 1 >= 3
    assert all(d in section for d in decisions["decision_number"].dropna())
    assert section.count('class="revoked">Đã thu hồi') == 1 and "Thu hồi theo QĐ 99" in section
    standing = recognitions.recognition_status(demo_store, 2024, scope_code=code).iloc[0]
    levels = {"dat_chuan": "Đạt chuẩn NTM", "nang_cao": "NTM nâng cao", "kieu_mau": "NTM kiểu mẫu"}
    assert f"Mức công nhận năm 2024: <b>{levels[standing['level']]}</b>" in section


def test_targets_are_those_of_the_commune_and_the_units_above_it(demo, rich):
    code, page = rich
    district = find_commune(demo, code)["parent_code"].iloc[0]
    province = demo.read_table("districts", "code = ?", [district])["parent_code"].iloc[0]
    df = commune_targets(demo, code, 2024, [code, district, province])
    assert set(df["scope_code"]) == {code, district, province}  # no sibling commune's targets
    own = df[df["scope_code"] == code].iloc[0]
    expected = targets.evaluate_targets(demo, 2024, scope_code=code)
    assert bool(own["met"]) == bool(expected.loc[expected["scope_code"] == code, "met"].iloc[0])
    ahead = df[df["target_year"] == 2025]
    assert len(ahead) and (ahead["data_year"] == 2024).all()  # 2025 targets: progress on 2024 data
    section = page[page.index('<section id="targets">'):page.index('<section id="plans">')]
    assert "Xã này" in section and "số liệu năm 2024" in section
    assert section.count("<tr>") == len(df) + 1


def test_plans_against_actual(demo, rich):
    code, page = rich
    df = commune_plans(demo, code)
    expected = plans.plan_vs_actual(demo, 2024, QD318, scope_code=code)
    assert len(df[df["year"] == 2024]) == len(expected) > 0
    section = page[page.index('<section id="plans">'):page.index('<section id="villages">')]
    years = sorted(set(df["year"]))
    assert [int(y) for y in re.findall(r"<tr><td>(\d{4})</td>", section)] == years
    assert "Chi tiết kế hoạch năm 2024" in section
    assert section.split("Chi tiết kế hoạch năm 2024")[1].count("<tr>") == len(expected) + 1


def test_facts_villages_and_map_layers(demo, rich):
    code, page = rich
    unit = find_commune(demo, code).iloc[-1]
    villages = demo.read_table("villages", "parent_code = ? AND valid_to IS NULL", [code])
    assert f'<a href="/map?district={unit["parent_code"]}">' in page
    households = f"{int(villages['households'].sum()):,}".replace(",", ".")
    assert f"<tr><th>Số hộ</th><td>{households}</td></tr>" in page
    assert "<th>Xã đặc biệt khó khăn</th><td>" + ("Có" if unit["extremely_difficult"] else "Không") in page
    layers = _data(page)
    village_layer = next(fc for fc in layers if any("lb" in f["properties"] for f in fc["features"]))
    assert sorted(f["properties"]["lb"] for f in village_layer["features"]) == sorted(villages["name"])
    projects = next(fc for fc in layers if any(f["properties"].get("s", {}).get("radius") == 7
                                               for f in fc["features"]))
    labels = json.loads(re.search(r"var NTM_LABELS = (\[.*?\]);", page).group(1))
    rows = {labels[k]: v for k, v in projects["features"][0]["properties"]["r"]}
    assert {"Tình trạng", "Nguồn vốn", "Kinh phí (triệu đồng)"} <= set(rows)
    assert rows["Nguồn vốn"] in {"Ngân sách TW - vốn đầu tư phát triển", "Ngân sách TW - vốn sự nghiệp",
                                 "Ngân sách địa phương", "Vốn lồng ghép", "Tổ chức, doanh nghiệp", "Cộng đồng dân cư"}
    roads = next(fc for fc in layers if any("dashArray" in f["properties"]["s"] for f in fc["features"]))
    assert {f["properties"]["s"].get("dashArray") for f in roads["features"]} >= {None, "7 5"}  # hardened or not
    assert 'class="ntm-legend"' not in page  # the legend is built by script …
    assert "ntm-legend" in page and "L.control.layers" in page and "L.control.scale" in page
    assert not re.findall(r'(?:src|href)="(https?://[^"]+)"', page)  # offline: our own copies only


def test_merged_and_abolished_units(demo):
    old, new, act = _one(demo, "SELECT old_code, new_code, legal_act FROM crosswalk WHERE level = 'commune' LIMIT 1")
    page = commune_page_html(demo, old)
    assert re.search(r'data-year="(\d+)"', page).group(1) == "2024"  # its last year
    note = re.search(r'<p class="note">Đơn vị này không còn tồn tại.*?</p>', page).group(0)
    assert f'href="/communes/{new}"' in note and act in note
    page = commune_page_html(demo, new, year=2022)  # before the merger: nearest boundary and a note
    assert "Xã không tồn tại vào cuối năm 2022" in page
    assert f'href="/communes/{old}"' in page and "Xã được thành lập từ" in page
    assert "CV 3372/BNN-VPĐP" in page


def test_unknown_codes_and_bad_parameters(demo):
    with pytest.raises(CommuneNotFound, match="no commune with code 'X-1'") as info:
        commune_page_html(demo, "X-1")
    assert info.value.level is None
    district = demo.read_table("districts", columns=["code"])["code"].iloc[0]
    with pytest.raises(CommuneNotFound) as info:
        find_commune(demo, district)
    assert info.value.level == "district"
    page = not_found_html(district, "vi", level="district")
    assert "Không tìm thấy xã" in page and "mã của một huyện" in page and f"/map?district={district}" in page
    assert "&lt;b&gt;" in not_found_html("<b>", "en")
    code = demo.read_table("communes", columns=["code"])["code"].iloc[0]
    with pytest.raises(ParameterError, match="'lang' must be one of") as info:
        commune_page_html(demo, code, lang="fr")
    assert info.value.parameter == "lang"
    with pytest.raises(ParameterError, match="'year' must be a year"):
        commune_page_html(demo, code, year=1800)


def test_real_lao_cai_commune_without_status(laocai_store_path, js_css):
    store = Store(laocai_store_path)
    row = store.read_table("communes", "name = ?", ["Sín Chéng"]).iloc[0]
    page = commune_page_html(store, row["code"], year=2024, offline_js=js_css[0], offline_css=js_css[1])
    assert "<h1>Xã Sín Chéng</h1>" in page and "Huyện Si Ma Cai" in page
    assert "Xã chưa có số liệu đánh giá tiêu chí" in page
    grid = _grid_block(page, QD318)
    assert grid.count("<th class=\"crit\">") == 19 and grid.count(">–</td>") == 19 and "0/19" in grid
    assert "Chưa có dữ liệu thôn, bản của xã." in page and "Chưa có quyết định công nhận nào." in page
    layers = _data(page)
    assert any(f["properties"].get("t") == "Xã Sín Chéng" for fc in layers for f in fc["features"])
    neighbours = [f["properties"]["t"] for fc in layers for f in fc["features"] if "r" in f["properties"]]
    assert "Xã Nàn Sán" in neighbours or "Xã Bản Mế" in neighbours  # real neighbours of Sín Chéng
    assert "L.tileLayer" not in page  # no basemap by default
    tiles = "http://127.0.0.1:8080/tiles/{z}/{x}/{y}.png"
    page = commune_page_html(store, row["code"], year=2024, tiles=tiles, tiles_attribution="Sở TN&MT")
    assert "L.tileLayer" in page and tiles in page


def test_hostile_names_are_escaped_everywhere(demo_store):
    store = demo_store
    code = _one(store, "SELECT commune_code FROM projects GROUP BY commune_code ORDER BY count(*) DESC LIMIT 1")[0]
    with store.transaction() as conn:
        conn.execute("UPDATE communes SET name = ?, full_name = ? WHERE code = ?", (HOSTILE, HOSTILE, code))
        conn.execute("UPDATE villages SET name = ?, full_name = ? WHERE fid = (SELECT min(fid) FROM villages "
                     "WHERE parent_code = ?)", (QUOTED, QUOTED, code))
        conn.execute("UPDATE projects SET name = ? WHERE fid = (SELECT min(fid) FROM projects WHERE commune_code = ?)",
                     (HOSTILE, code))
        conn.execute("UPDATE schools SET name = ? WHERE fid = (SELECT min(fid) FROM schools WHERE commune_code = ?)",
                     (QUOTED, code))
        conn.execute("UPDATE recognitions SET decision_number = ? WHERE unit_code = ?", (HOSTILE, code))
    page = commune_page_html(store, code)
    assert HOSTILE not in page and QUOTED not in page
    assert "<script>alert" not in page
    escaped = '&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;'
    assert f"<h1>{escaped}</h1>" in page and f"<title>{escaped} — " in page  # page text and title
    in_json = safe_json(escaped)[1:-1]  # inside the embedded GeoJSON: escaped before JSON
    assert in_json in page
    assert safe_json("Thôn &quot;Đỉnh&quot; O&#x27;Neil &amp; Co")[1:-1] in page  # village label, school tooltip
    layers = _data(page)
    texts = [v for fc in layers for f in fc["features"] for v in (f["properties"].get("t"), f["properties"].get("lb"))
             if v]
    assert not [x for x in texts if "<script" in x or '"Đỉnh"' in x]
