"""The hot-spot and indicator map modes (web map and figures) and the travel-time overlay."""

from __future__ import annotations

import html
import io
import json
import re

import numpy as np
import pytest
from PIL import Image

from layers.store import Store
from maps import figures, travel_overlay, web, web_data
from maps._analysis_modes import nice_breaks
from maps._errors import ParameterError
from maps.modes import ALL_MODES, MODES, classify_communes

from _hotspot_store import COLD, HOT, INDICATOR, build_hotspot_store


@pytest.fixture(scope="module")
def store(demo_store_path, tmp_path_factory):
    return Store(build_hotspot_store(demo_store_path, tmp_path_factory.mktemp("modes") / "demo.gpkg"))


@pytest.fixture(scope="module")
def cache():
    return web_data.MemoCache()


def _district(code: str) -> str:
    return code.rsplit("-", 1)[0]


def test_the_status_modes_are_unchanged_and_the_analysis_modes_follow():
    assert MODES == ("count", "criterion", "recognition", "change", "gap", "plan")
    assert ALL_MODES == MODES + ("hotspot", "indicator")


@pytest.mark.parametrize("lang", ["vi", "en"])
def test_hotspot_mode_classes(store, lang):
    cls = classify_communes(store, year=2024, mode="hotspot", indicator=INDICATOR, lang=lang)
    frame = cls.frame
    assert [c.key for c in cls.legend] == ["HH", "LL", "HL", "LH", "ns", "island", "no_data"]
    assert sum(c.count for c in cls.legend) == len(frame) == 120
    assert all(_district(c) == HOT for c in frame.loc[frame["key"] == "HH", "unit_code"])
    assert all(_district(c) == COLD for c in frame.loc[frame["key"] == "LL", "unit_code"])
    counts = {c.key: c.count for c in cls.legend}
    assert counts["HH"] >= 6 and counts["LL"] >= 6
    hot = frame[frame["key"] == "HH"].iloc[0]
    assert hot["colour"] == "#d7191c" and hot["value"].startswith("I = ") and "q (FDR)" in hot["value"]
    assert ("Global Moran" if lang == "en" else "Moran toàn cục") in cls.note
    assert cls.legend[0].label == ("Hot spot (High–High)" if lang == "en" else "Điểm nóng (Cao–Cao)")


def test_hotspot_mode_without_enough_data_shows_no_data_and_says_why(store):
    cls = classify_communes(store, year=2030, mode="hotspot")  # no status in 2030
    assert {c.key: c.count for c in cls.legend}["no_data"] == len(cls.frame) > 100
    assert "2030" in cls.note and cls.note.startswith("Chưa tính được điểm nóng")


def test_indicator_mode_classes(store):
    cls = classify_communes(store, year=2024, mode="indicator", indicator=INDICATOR, lang="en")
    frame = cls.frame.set_index("unit_code")
    # planted values: 0 (11 communes of D01-08), 45–55 (97), 100 (12 of D01-03); quintile breaks 46, 49, 52, 54
    assert [c.label for c in cls.legend] == ["0 – 46", "46 – 49", "49 – 52", "52 – 54", "54 – 100", "No data"]
    assert sum(c.count for c in cls.legend) == 120 and cls.legend[-1].count == 0
    assert (frame.loc[[c for c in frame.index if _district(c) == COLD], "key"] == "q0").all()
    assert (frame.loc[[c for c in frame.index if _district(c) == HOT], "key"] == "q4").all()
    assert cls.title == f"Indicator: {INDICATOR} (điểm)"
    assert frame.loc[frame.index[frame["key"] == "q4"][0], "value"] in ("100 điểm", "54 điểm", "55 điểm")
    assert frame["colour"].str.match(r"^#[0-9a-f]{6}$").all()


def test_indicator_mode_errors(store):
    with pytest.raises(ValueError, match="needs 'indicator'"):
        classify_communes(store, year=2024, mode="indicator")
    with pytest.raises(LookupError, match="no.such"):
        classify_communes(store, year=2024, mode="indicator", indicator="no.such")


def test_nice_breaks_follow_the_values():
    assert nice_breaks(range(1, 101)) == [21.0, 41.0, 61.0, 81.0]
    assert nice_breaks([3.0] * 10) == []
    assert nice_breaks([0.0012, 0.0049, 0.0101, 0.0222, 0.0333]) == [0.0049, 0.01, 0.022, 0.033]


# --- web map ------------------------------------------------------------------------------


def _data(page: str) -> dict:
    return json.loads(re.search(r'<script type="application/json" id="ntm-data">(.*?)</script>', page, re.S)[1])


@pytest.mark.parametrize("mode, indicator", [("hotspot", None), ("hotspot", INDICATOR), ("indicator", INDICATOR)])
def test_web_map_renders_the_analysis_modes(store, cache, mode, indicator):
    view = web_data.resolve_view(store, mode=mode, year=2024, indicator=indicator)
    page = web.overview_html(store, view, cache=cache)
    data = _data(page)
    communes = data["communes"]
    assert len(communes["code"]) == 120 and len(communes["v"]) == 120
    counts = [int(n) for n in re.findall(r'<span class="ntm-count">(\d+)</span>', page)[:len(data["classes"])]]
    assert sum(counts) == 120
    assert data["valueLabel"] and f'value="{mode}" selected' in page
    assert ('name="indicator"' in page) and (indicator is None or f'value="{html.escape(indicator)}" selected' in page)
    assert not re.findall(r'(?:src|href)="https?://', page)
    # tooltips get the statistic or value of every commune that has one
    assert sum(v is not None for v in communes["v"]) >= 100
    if mode == "hotspot":
        assert 'class="ntm-note"' in page


def test_web_map_travel_overlay_config(store, cache):
    view = web_data.resolve_view(store, year=2024)
    data = _data(web.overview_html(store, view, cache=cache))
    travel = data["travel"]
    assert [layer["url"] for layer in travel["layers"]] == ["/map/travel-time.png?name=travel_time_health_stations"]
    (south, west), (north, east) = travel["layers"][0]["bounds"]
    assert 21 < south < north < 23.5 and 103 < west < east < 106
    assert [c[1] for c in travel["legend"]] == ["0–15 phút", "15–30 phút", "30–60 phút", "60–120 phút",
                                                 "> 120 phút"]


def test_web_map_without_travel_raster_has_no_overlay(demo_store_path):
    demo = Store(demo_store_path)
    data = _data(web.overview_html(demo, web_data.resolve_view(demo, year=2024)))
    assert data["travel"] is None


def test_web_map_indicator_parameters(store):
    view = web_data.resolve_view(store, mode="indicator", year=2024)  # the first stored indicator by default
    assert view.indicator == INDICATOR and view.query()["indicator"] == INDICATOR
    assert web_data.resolve_view(store, mode="count", year=2024, indicator=INDICATOR).indicator is None
    with pytest.raises(ParameterError, match="'indicator' must be an indicator stored for 2024") as exc:
        web_data.resolve_view(store, mode="indicator", year=2024, indicator="no.such")
    assert exc.value.parameter == "indicator"
    with pytest.raises(ParameterError, match="no indicator is stored for 2023"):
        web_data.resolve_view(store, mode="indicator", year=2023)


# --- figures ------------------------------------------------------------------------------


def _legend_counts(fig) -> list[int]:
    return [int(a.get_text()) for a in fig.findobj() if a.get_gid() == "legend-count"]


@pytest.mark.parametrize("mode, title", [
    ("hotspot", f"Hot and cold spots of {INDICATOR} in 2024 (Local Moran's I)"),
    ("indicator", f"Indicator {INDICATOR} in 2024"),
])
def test_figure_of_the_analysis_modes(store, mode, title):
    fig = figures.commune_figure(store, year=2024, mode=mode, indicator=INDICATOR, dpi=50, lang="en")
    assert fig.get_label() == title
    assert sum(_legend_counts(fig)) == 120
    png = figures.figure_bytes(fig, "png")
    w, h = Image.open(io.BytesIO(png)).size
    assert (abs(w - 11.69 * 50) <= 1, abs(h - 8.27 * 50) <= 1) == (True, True)  # A4 landscape at 50 dpi
    texts = " ".join(t.get_text() for t in fig.findobj(lambda a: hasattr(a, "get_text")))
    if mode == "hotspot":
        assert "Global Moran's I" in texts and "Hot spot (High–High)" in texts


def test_figure_hotspot_of_criteria_met_and_bad_indicator(store):
    fig = figures.commune_figure(store, year=2024, mode="hotspot", scope_code="D01", dpi=50)
    assert fig.get_label() == "Điểm nóng, điểm lạnh về số tiêu chí đạt năm 2024 (Moran cục bộ)"
    with pytest.raises(ParameterError, match="needs 'indicator'") as exc:
        figures.commune_figure(store, year=2024, mode="indicator", dpi=50)
    assert exc.value.parameter == "indicator"
    with pytest.raises(ParameterError, match="no.such") as exc:
        figures.commune_figure(store, year=2024, mode="indicator", indicator="no.such", dpi=50)
    assert exc.value.parameter == "indicator"
    assert figures.figure_filename(mode="indicator", year=2024, fmt="png", indicator="road_km.huyen_lo") \
        == "ntm-indicator-road-km-huyen-lo-2024.png"


# --- travel-time overlay ------------------------------------------------------------------


def test_travel_png_colours_the_row_bands(store):
    (layer,) = travel_overlay.travel_layers(store)
    assert (layer.facility, layer.province) == ("health_stations", None)
    image = travel_overlay.travel_png(store, layer.name)
    img = Image.open(io.BytesIO(image.png))
    assert img.mode == "P" and img.size == image.size and img.info.get("transparency") == 0
    idx = np.asarray(img)
    # minutes grow from 0 (top) to 200 (bottom): the middle column passes every class in order
    column = idx[:, idx.shape[1] // 2]
    column = column[column > 0]
    assert list(dict.fromkeys(column.tolist())) == [1, 2, 3, 4, 5]
    # the 5-cell strip without value (the west edge) is transparent
    assert (idx[idx.shape[0] // 2, :3] == 0).all()
    palette = img.getpalette()[3:18]
    assert ["#%02x%02x%02x" % tuple(palette[i:i + 3]) for i in range(0, 15, 3)] == \
        [c for _, c in travel_overlay.TRAVEL_CLASSES]
    assert image.bounds == travel_overlay.travel_bounds(store, layer)


def test_travel_png_unknown_name(store):
    with pytest.raises(ParameterError, match="travel_time_health_stations") as exc:
        travel_overlay.travel_png(store, "dem")
    assert exc.value.parameter == "name"


def test_indicator_mode_is_offered_only_when_indicators_are_stored(store, demo_store_path, cache):
    page = web.overview_html(store, web_data.resolve_view(store, year=2024), cache=cache)
    assert '<option value="indicator">' in page and '<option value="hotspot">' in page
    demo = Store(demo_store_path)  # no indicator computed
    page = web.overview_html(demo, web_data.resolve_view(demo, year=2024))
    assert '<option value="indicator">' not in page and '<option value="hotspot">' in page
