"""The prioritisation page and figure, and the scenario page, on the Si Ma Cai store.

The plan (tests/_plan_fixture.py, 14 bn VND) funds whole communes in order of gaps:
SMC-04 (criterion 17: 2.7 bn), SMC-06 (5, 6, 13, 14: 7.8 bn) and SMC-08's closable
gaps (2, 13: 3.5 bn) — 14.0 bn in all, 70 % central investment, 30 % community. So:
already at the standard SMC-01, 02, 03, 05; reaching it SMC-04, SMC-06; funded but
not reaching SMC-08 (10, 11 are not closable by money); held back SMC-07, SMC-09.
"""

from __future__ import annotations

import datetime as dt
import subprocess

import numpy as np
import pytest
from PIL import Image

from _plan_fixture import build_plan
from _progress_store import build_progress_store
from layers import scenario
from layers.store import Store
from maps import assets, prioritise_figure, prioritise_page, scenario_page
from maps._errors import ParameterError

DAY = dt.date(2025, 1, 15)
HOSTILE = ['<script>window.__pwned=1</script>', '"><img src=x onerror="window.__pwned=2">']


@pytest.fixture(scope="module")
def store(tmp_path_factory) -> Store:
    return Store(build_progress_store(tmp_path_factory.mktemp("prioritise-page") / "smc.gpkg"))


@pytest.fixture(scope="module")
def plan(store):
    return build_plan(store, year=2024, scope_code="SMC", budget_vnd=14e9)


def test_outcomes_by_hand(plan):
    out = prioritise_page.plan_outcomes(plan).set_index("unit_code")
    assert out["outcome"].to_dict() == {
        "SMC-01": "already_standard", "SMC-02": "already_standard", "SMC-03": "already_standard",
        "SMC-04": "reaches", "SMC-05": "already_standard", "SMC-06": "reaches", "SMC-07": "not_closable",
        "SMC-08": "funded_partial", "SMC-09": "not_closable"}
    assert out.loc["SMC-06", "funded"] == [5, 6, 13, 14]
    assert out.loc["SMC-06", "funded_cost_vnd"] == pytest.approx(7.8e9)
    assert out.loc["SMC-06", "vnd_community"] == pytest.approx(7.8e9 * 0.3)
    assert [n for n, _ in out.loc["SMC-08", "blockers"]] == [10, 11]
    assert prioritise_page.outcome_counts(prioritise_page.plan_outcomes(plan)) == {
        "already_standard": 4, "reaches": 2, "funded_partial": 1, "not_funded": 0, "not_closable": 2}


def test_page_in_vietnamese(store, plan):
    js, css = assets.offline_resources()
    page = prioritise_page.prioritise_html(store, plan, offline_js=js, offline_css=css, created=DAY,
                                           links={"other_lang": "/prioritise?lang=en", "figure_pdf": "/f.pdf"})
    assert page.startswith("<!DOCTYPE html>") and '<html lang="vi">' in page
    assert "Ưu tiên đầu tư nông thôn mới — Huyện Si Ma Cai, năm 2024" in page
    assert "Đạt chuẩn nhờ kế hoạch" in page and "Lập ngày 15/01/2025" in page
    assert "14,00 tỷ đồng" in page and "7,80 tỷ đồng" in page and "2,70 tỷ đồng" in page  # total, SMC-06, SMC-04
    assert "Ngân sách TW - vốn đầu tư phát triển: 5,46 tỷ đồng" in page  # 70 % of SMC-06's 7.8 bn
    assert "Danh sách xã được cấp vốn (3 xã)" in page
    assert "/static/vendor/leaflet/dist/leaflet.js" in page and "jquery" not in page and "bootstrap" not in page
    assert 'href="/prioritise?lang=en"' in page
    # legend with counts: 2 communes reach the standard
    assert '<span class="sw" style="background:#2b83ba"></span>Đạt chuẩn nhờ kế hoạch<span class="count">2</span>' \
        in page


def test_page_in_english(store, plan):
    page = prioritise_page.prioritise_html(store, plan, lang="en", created=DAY)
    assert '<html lang="en">' in page and "Reaches the standard with the plan" in page
    assert "VND 14.00 bn" in page and "Communes funded (3)" in page
    with pytest.raises(ParameterError) as err:
        prioritise_page.prioritise_html(store, plan, lang="fr")
    assert err.value.parameter == "lang"


def test_hostile_names_are_escaped(store):
    plan = build_plan(store, year=2024, scope_code="SMC", budget_vnd=14e9,
                      names={"SMC-06": HOSTILE[0], "SMC-08": HOSTILE[1]})
    page = prioritise_page.prioritise_html(store, plan, created=DAY)
    for name in HOSTILE:
        assert name not in page
    assert "&lt;script&gt;window.__pwned=1&lt;/script&gt;" in page  # in the table
    assert "&quot;&gt;&lt;img src=x onerror=&quot;window.__pwned=2&quot;&gt;" in page
    # tooltips travel inside the map's JSON: escaped HTML, with < > & as \\u003c …
    assert "\\u0026lt;script\\u0026gt;window.__pwned=1" in page


def _ink(png_path) -> float:
    """Share of pixels that are not white."""
    img = np.asarray(Image.open(png_path).convert("L"))
    return float((img < 245).mean())


def test_plan_figure_png_pdf_svg(store, plan, tmp_path):
    fig = prioritise_figure.prioritise_figure(store, plan, created=DAY, dpi=80)
    png, pdf, svg = (prioritise_figure.figure_to_bytes(fig, f) for f in ("png", "pdf", "svg"))
    assert png.startswith(b"\x89PNG") and pdf.startswith(b"%PDF") and svg.lstrip().startswith(b"<?xml")
    text = svg.decode()
    assert "Ưu tiên đầu tư xây dựng nông thôn mới theo ngân sách, năm 2024" in text
    assert "Đạt chuẩn nhờ kế hoạch" in text and "14,00 tỷ đồng" in text and "Ngày lập: 15/01/2025" in text
    ax = next(a for a in fig.axes if a.get_gid() == "map")
    assert {"scalebar", "north-arrow"} <= {c.get_gid() for c in ax.get_children()}
    legend = " ".join(t.get_text() for a in fig.axes if a.get_gid() == "legend" for t in a.texts)
    assert "Đạt chuẩn nhờ kế hoạch" in legend
    (tmp_path / "p.pdf").write_bytes(pdf)
    subprocess.run(["pdftoppm", "-r", "40", "-png", "-singlefile", str(tmp_path / "p.pdf"), str(tmp_path / "p")],
                   check=True)
    assert _ink(tmp_path / "p.png") > 0.02  # a drawn page, not a blank one


@pytest.fixture(scope="module")
def result(store, plan):
    return scenario.run_scenario(store, scenario.scenario_from_plan(store, plan))


def test_scenario_page_and_figure(store, result):
    page = scenario_page.scenario_html(store, result, created=DAY)
    assert "KỊCH BẢN — không phải kết quả đánh giá" in page and "Kịch bản năm 2025: Huyện Si Ma Cai" in page
    # 150 criteria + 7 funded (SMC-04: 1, SMC-06: 4, SMC-08: 2) in 9 xã: 16.67 (2024) → 17.44 (2025 scenario)
    assert "16,67 → 17,44" in page
    assert "5 → 6" in page  # communes at the standard: SMC-06 is recognised in the scenario
    assert "Tác động của kế hoạch" in page
    en = scenario_page.scenario_html(store, result, lang="en", created=DAY)
    assert "SCENARIO — not an assessment" in en and "16.67 → 17.44" in en
    svg = prioritise_figure.figure_to_bytes(
        prioritise_figure.scenario_figure(store, result.scenario, created=DAY, dpi=80), "svg").decode()
    assert "KỊCH BẢN: số tiêu chí nông thôn mới đạt năm 2025 nếu thực hiện kế hoạch" in svg
    assert "Bình quân: 17,6 tiêu chí/xã" in svg  # (157 + the thị trấn's 19) / 10 units, as report maps count


def test_translation_files_have_the_same_keys():
    from maps import i18n

    def keys(node, prefix=""):
        return {prefix + str(k) for k in node} | {x for k, v in node.items() if isinstance(v, dict)
                                                  for x in keys(v, prefix + str(k) + ".")}

    for section in ("prioritise_map", "scenario"):
        vi, en = keys(i18n.strings("vi")[section]), keys(i18n.strings("en")[section])
        assert vi == en and "yes" in vi and "no" in vi  # quoted in YAML: never booleans
