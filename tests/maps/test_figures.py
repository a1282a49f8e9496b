"""Report figures: every mode in PNG/PDF/SVG on the demo province and real Lào Cai, true scale
bar, true north, labels that never overlap, Vietnamese text that survives every format."""

from __future__ import annotations

import io
import re
import subprocess
import xml.etree.ElementTree as ET

import numpy as np
import pytest
from PIL import Image
from pyproj import Geod, Transformer

from layers import admin_units
from layers.boundaries import import_boundaries
from layers.status import record_status
from layers.store import Store
from maps import figures
from maps._cartography import PAPERS, meridian_convergence
from maps._errors import ParameterError
from maps.modes import MODES

SVG = "{http://www.w3.org/2000/svg}"
LOW_DPI = 50
NAMES = ["Thào Chư Phìn", "Quan Hồ Thẩn", "Sín Chéng", "Bản Mế"]


@pytest.fixture(scope="module")
def demo(demo_store_path):
    return Store(demo_store_path)


@pytest.fixture(scope="module")
def laocai(laocai_store_path):
    return Store(laocai_store_path)


@pytest.fixture(scope="module")
def simacai(laocai):
    return figures.resolve_scope(laocai, "Si Ma Cai", level="district")


@pytest.fixture(scope="module")
def drawn(demo, laocai, simacai):
    """Figures drawn once per (store, mode, scope): the demo province whole, Lào Cai's
    Si Ma Cai district (small, and it holds Thào Chư Phìn)."""
    cache = {}

    def get(which: str, mode: str = "count", **kw):
        key = (which, mode, tuple(sorted(kw.items())))
        if key not in cache:
            store, scope = (demo, None) if which == "demo" else (laocai, simacai)
            kw.setdefault("scope_code", scope)
            cache[key] = figures.commune_figure(store, year=2024, mode=mode, criterion=2 if mode == "criterion"
                                                else None, dpi=LOW_DPI, **kw)
        return cache[key]

    return get


def non_blank(png: bytes) -> float:
    """Share of pixels that are not white."""
    a = np.asarray(Image.open(io.BytesIO(png)).convert("L"))
    return float((a < 245).mean())


def pdf_pages_png(pdf: bytes, tmp_path, dpi: int = 20) -> list[bytes]:
    src = tmp_path / "f.pdf"
    src.write_bytes(pdf)
    subprocess.run(["pdftoppm", "-r", str(dpi), "-png", str(src), str(tmp_path / "p")], check=True)
    return [p.read_bytes() for p in sorted(tmp_path.glob("p-*.png"))]


def svg_texts(svg: bytes) -> list[str]:
    root = ET.fromstring(svg)
    return ["".join(el.itertext()) for el in root.iter(f"{SVG}text")]


def map_axes(fig):
    return next(ax for ax in fig.axes if ax.get_gid() == "map")


def by_gid(artist, gid):
    return [a for a in artist.findobj() if a.get_gid() == gid]


# --- every mode, every format ---------------------------------------------------------


@pytest.mark.parametrize("which", ["demo", "laocai"])
@pytest.mark.parametrize("mode", MODES)
def test_every_mode_renders_as_png_pdf_and_svg(drawn, which, mode, tmp_path):
    fig = drawn(which, mode)
    png = figures.figure_bytes(fig, "png")
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    w, h = Image.open(io.BytesIO(png)).size
    assert (w, h) == (int(PAPERS["A4-landscape"][0] * LOW_DPI), int(PAPERS["A4-landscape"][1] * LOW_DPI))
    assert non_blank(png) > 0.08
    pdf = figures.figure_bytes(fig, "pdf")
    pages = pdf_pages_png(pdf, tmp_path)
    assert len(pages) == 1 and non_blank(pages[0]) > 0.08
    texts = svg_texts(figures.figure_bytes(fig, "svg"))
    title = fig.get_label()
    assert title in " ".join(texts)
    # the legend counts add up to the communes coloured on the map
    counts = [int(a.get_text()) for a in by_gid(fig, "legend-count")]
    assert sum(counts) == len(by_gid(map_axes(fig), "communes")[0].get_paths())
    assert by_gid(fig, "commune-label"), "no commune label placed"


def test_legend_counts_every_commune_once(drawn, demo):
    fig = drawn("demo", "recognition")
    counts = [int(a.get_text()) for a in by_gid(fig, "legend-count")]
    communes = by_gid(map_axes(fig), "communes")[0]
    valid = admin_units.units_table(demo, "commune", on=admin_units.year_end(2024))
    assert sum(counts) == len(communes.get_paths()) == len(valid)


def test_laocai_without_status_renders_all_no_data(drawn, laocai, simacai):
    fig = drawn("laocai", "count")
    counts = {a.get_text() for a in by_gid(fig, "legend-label")}
    assert "Chưa có số liệu" in counts
    n = len(by_gid(map_axes(fig), "communes")[0].get_paths())
    assert n == 13  # Si Ma Cai's 13 pre-2020 communes in vietnam63
    assert [int(a.get_text()) for a in by_gid(fig, "legend-count")][-1] == n
    summary = by_gid(fig, "legend-summary")[0].get_text()
    assert "Chưa có số liệu đánh giá năm 2024" in summary


# --- scale, scale bar, north ----------------------------------------------------------


def _bar_metres(fig) -> tuple[float, float, tuple]:
    """(drawn length in map metres, length its label states, (x0, x1, y) in map metres)."""
    ax = map_axes(fig)
    fig.canvas.draw()
    segments = by_gid(ax, "scalebar-segment")
    assert len(segments) == 4
    boxes = [s.get_window_extent() for s in segments]
    inv = ax.transData.inverted()
    (x0, y), (x1, _) = inv.transform([[min(b.x0 for b in boxes), boxes[0].y0],
                                      [max(b.x1 for b in boxes), boxes[0].y0]])
    number = by_gid(ax, "scalebar-label")[0].get_text()
    unit = by_gid(ax, "scalebar-unit")[0].get_text()
    stated = float(number.replace(".", "").replace(",", ".")) * {"km": 1000.0, "m": 1.0}[unit]
    return x1 - x0, stated, (x0, x1, y)


@pytest.mark.parametrize("which, kw", [("demo", {}), ("laocai", {}), ("laocai", {"paper": "A3-portrait"}),
                                       ("demo", {"scope_code": "D01-01-010"})])
def test_scale_bar_is_as_long_as_it_says(drawn, which, kw, demo, laocai):
    fig = drawn(which, "count", **kw)
    drawn_m, stated_m, (x0, x1, y) = _bar_metres(fig)
    assert drawn_m == pytest.approx(stated_m, rel=0.01)
    # and on the ground: the bar's ends, back in lon/lat, are that far apart (geodesic)
    epsg = int(re.search(r"EPSG:(\d+)", by_gid(fig, "footer")[0].get_text()).group(1))
    to_geo = Transformer.from_crs(epsg, 4326, always_xy=True)
    (lon0, lon1), (lat0, lat1) = to_geo.transform([x0, x1], [y, y])
    ground = Geod(ellps="WGS84").inv(lon0, lat0, lon1, lat1)[2]
    assert ground == pytest.approx(stated_m, rel=0.01)


def test_map_is_printed_at_the_round_scale_it_states(drawn):
    fig = drawn("laocai", "count")
    ax = map_axes(fig)
    ratio = next(t.get_text() for t in fig.findobj() if hasattr(t, "get_text") and "1:" in str(t.get_text()))
    denominator = int(re.search(r"1:([\d.]+)", ratio).group(1).replace(".", ""))
    pos = ax.get_position()
    width_m_paper = pos.width * fig.get_figwidth() * 0.0254
    height_m_paper = pos.height * fig.get_figheight() * 0.0254
    (x0, x1), (y0, y1) = ax.get_xlim(), ax.get_ylim()
    assert (x1 - x0) / width_m_paper == pytest.approx(denominator, rel=1e-6)
    assert (y1 - y0) / height_m_paper == pytest.approx(denominator, rel=1e-6)  # equal aspect


def test_north_arrow_leans_to_true_north(drawn):
    # Si Ma Cai (~104.3°E) lies west of zone 9208's meridian (104.75°E): true north leans east
    fig = drawn("laocai", "count")
    ax = map_axes(fig)
    x = np.mean(ax.get_xlim())
    y = np.mean(ax.get_ylim())
    convergence = meridian_convergence(9208, x, y)
    assert convergence > 0.05
    tip = by_gid(ax, "north-arrow-tip")[0].get_xy()
    apex, back = tip[0], tip[2]  # tip, left, base: apex and the base point lie on the arrow's axis
    lean = np.degrees(np.arctan2(apex[0] - back[0], apex[1] - back[1]))
    assert lean == pytest.approx(convergence, abs=1e-6)


# --- labels ---------------------------------------------------------------------------


@pytest.mark.parametrize("which, kw", [("demo", {}), ("laocai", {"scope_code": None}),
                                       ("demo", {"scope_code": "D01-02", "paper": "A4-portrait"})])
def test_labels_never_overlap_each_other_or_the_furniture(drawn, which, kw):
    fig = drawn(which, "count", **kw)
    ax = map_axes(fig)
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    texts = [a for gid in ("district-label", "commune-label", "context-label") for a in by_gid(ax, gid)]
    assert len(texts) >= 10
    boxes = [t.get_window_extent(renderer) for t in texts]
    frame = ax.get_window_extent(renderer)
    furniture = [by_gid(ax, g)[0].get_window_extent(renderer) for g in ("scalebar", "north-arrow")]
    for i, a in enumerate(boxes):
        assert frame.x0 <= a.x0 and a.x1 <= frame.x1 and frame.y0 <= a.y0 and a.y1 <= frame.y1
        assert not any(a.overlaps(f) for f in furniture), texts[i].get_text()
        for b, other in zip(boxes[i + 1:], texts[i + 1:]):
            assert not a.overlaps(b), (texts[i].get_text(), other.get_text())


def test_district_boundaries_are_heavier_than_commune_boundaries(drawn):
    ax = map_axes(drawn("demo", "count"))
    commune_lw = by_gid(ax, "communes")[0].get_linewidths()[0]
    district_lw = by_gid(ax, "district-boundaries")[0].get_linewidths()[0]
    assert district_lw >= 3 * commune_lw


def test_page_furniture_is_all_there(drawn):
    fig = drawn("laocai", "count")
    text = " ".join(t.get_text() for t in fig.findobj() if hasattr(t, "get_text") and isinstance(t.get_text(), str))
    assert "Số tiêu chí nông thôn mới đạt năm 2024" in by_gid(fig, "title")[0].get_text()
    subtitle = by_gid(fig, "subtitle")[0].get_text()
    assert "Huyện Si Ma Cai, Tỉnh Lào Cai" in subtitle and "QĐ 318/QĐ-TTg" in subtitle
    footer = by_gid(fig, "footer")[0].get_text()
    assert re.search(r"Nguồn: .+; Ngày lập: \d\d/\d\d/\d{4}", footer)
    assert "VN-2000" in footer and "104°45′" in footer and "EPSG:9208" in footer
    locator = next(ax for ax in fig.axes if ax.get_gid() == "locator")
    assert by_gid(locator, "locator-scope") and by_gid(locator, "locator-frame")
    assert any("°" in t.get_text() for t in by_gid(locator, "graticule-label"))
    assert "Tỷ lệ 1:" in text and "A4 ngang" in text


def test_one_commune_lists_its_criteria(drawn, demo):
    fig = drawn("demo", "count", scope_code="D01-01-010", paper="A4-portrait")
    marks = [t.get_text() for t in by_gid(fig, "criterion-mark")]
    names = [t.get_text() for t in by_gid(fig, "criterion-name")]
    assert len(marks) == len(names) == 19 and set(marks) <= {"✓", "✗", "–"}
    met = by_gid(fig, "legend-summary")[0].get_text()
    n_met = int(re.search(r"Đạt (\d+)/19", met).group(1))
    assert marks.count("✓") == n_met


# --- paper, dpi, errors ---------------------------------------------------------------


def test_paper_presets_and_default_dpi(laocai, simacai):
    assert figures.commune_figure.__kwdefaults__["dpi"] == 300
    mm = {"A4-portrait": (210, 297), "A4-landscape": (297, 210), "A3-portrait": (297, 420),
          "A3-landscape": (420, 297)}
    for paper, (w, h) in mm.items():
        fig = figures.commune_figure(laocai, year=2024, scope_code=simacai, paper=paper, dpi=LOW_DPI)
        assert tuple(np.round(fig.get_size_inches() * 25.4, 3)) == (w, h)
    png = figures.figure_bytes(fig, "png")
    assert Image.open(io.BytesIO(png)).size == (int(420 / 25.4 * LOW_DPI), int(297 / 25.4 * LOW_DPI))


@pytest.mark.parametrize("kw, parameter, match", [
    ({"paper": "A5"}, "paper", "A4-landscape"),
    ({"dpi": 10}, "dpi", "50 to 600"),
    ({"mode": "colour"}, "mode", "count"),
    ({"mode": "criterion"}, "criterion", "criterion number"),
    ({"mode": "criterion", "criterion": 20}, "criterion", "1 to 19"),
    ({"set_id": "qd999"}, "set", "known sets"),
    ({"scope_code": "XX"}, "scope", "unit code"),
    ({"lang": "fr"}, "lang", "vi"),
])
def test_bad_options_name_themselves(demo, kw, parameter, match):
    with pytest.raises(ParameterError, match=match) as err:
        figures.commune_figure(demo, **({"year": 2024} | kw))
    assert err.value.parameter == parameter


def test_scope_names_resolve_and_ambiguity_is_an_error(laocai):
    assert figures.resolve_scope(laocai, "Huyện Si Ma Cai") == figures.resolve_scope(laocai, "si ma cai",
                                                                                     level="district")
    assert figures.resolve_scope(laocai, "Lào Cai", level="province") == "205"
    with pytest.raises(ParameterError, match="several units") as err:
        figures.resolve_scope(laocai, "Lào Cai")
    assert err.value.parameter == "scope"
    with pytest.raises(ParameterError, match="no district named") as err:
        figures.resolve_scope(laocai, "Nowhere", level="district", parameter="district")
    assert err.value.parameter == "district"


def test_file_names_are_plain_ascii():
    assert figures.figure_filename(mode="criterion", criterion=2, year=2024, fmt="svg",
                                   scope="Thào Chư Phìn") == "ntm-criterion-tc2-2024-thao-chu-phin.svg"
    assert figures.figure_filename(mode="count", year=2024, fmt="png") == "ntm-count-2024.png"


# --- Vietnamese text ------------------------------------------------------------------


@pytest.fixture
def names_store(tmp_path, grid):
    """Four communes named as in Si Ma Cai, two with status: every name and "Đạt" on the map."""
    tmp = tmp_path
    gdf = grid(2, 2, x0=104.20, y0=22.65, size=0.06)
    gdf["ten_xa"] = [f"Xã {n}" for n in NAMES]
    gdf["ten_huyen"], gdf["ma_tinh"], gdf["ten_tinh"] = "Huyện Si Ma Cai", "10", "Lào Cai"
    gdf.to_file(tmp / "xa.gpkg")
    store = Store(tmp / "s.gpkg", create=True)
    import_boundaries(store, tmp / "xa.gpkg", level="commune", build_parents=True)
    rows = [{"unit_code": code, "year": 2024, "set_id": "qd318-2022-xa-ntm", "criterion": n, "met": n <= k}
            for code, k in (("C000", 19), ("C001", 12)) for n in range(1, 20)]
    record_status(store, rows, recorded_by="test")
    return store


def test_vietnamese_names_round_trip_in_svg_and_pdf(names_store, tmp_path):
    fig = figures.commune_figure(names_store, year=2024, mode="criterion", criterion=5, dpi=LOW_DPI,
                                 paper="A4-portrait")
    texts = svg_texts(figures.figure_bytes(fig, "svg"))
    for name in NAMES:
        assert name in texts, name
    assert "Đạt" in texts and "Không đạt" in texts
    assert any("Tiêu chí 5. Trường học" in t for t in texts)
    (tmp_path / "f.pdf").write_bytes(figures.figure_bytes(fig, "pdf"))
    text = subprocess.run(["pdftotext", str(tmp_path / "f.pdf"), "-"], check=True, capture_output=True,
                          text=True).stdout
    for name in NAMES:
        assert name in text, name
    fonts = subprocess.run(["pdffonts", str(tmp_path / "f.pdf")], check=True, capture_output=True,
                           text=True).stdout
    assert "DejaVuSans" in fonts and "Type 3" not in fonts
