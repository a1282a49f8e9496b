"""The atlas: one PDF, a cover summary then a page per district (or commune), every page
drawn (rasterised with pdftoppm), numbers on the cover that agree with the store."""

from __future__ import annotations

import re
import subprocess

import numpy as np
import pytest
from PIL import Image

from layers import recognitions
from layers.store import Store
from maps import atlas, figures
from maps._errors import ParameterError


@pytest.fixture(scope="module")
def demo(demo_store_path):
    return Store(demo_store_path)


@pytest.fixture(scope="module")
def province_atlas(demo, tmp_path_factory):
    path = tmp_path_factory.mktemp("atlas") / "atlas.pdf"
    seen = []
    result = atlas.build_atlas(demo, path, year=2024, progress=lambda label, done, total: seen.append((done, total)))
    return result, seen


@pytest.fixture(scope="module")
def commune_atlas(demo, tmp_path_factory):
    path = tmp_path_factory.mktemp("atlas") / "communes.pdf"
    return atlas.build_atlas(demo, path, year=2024, scope_code="D01-01", per="commune", paper="A4-portrait",
                             mode="criterion", criterion=5, lang="en")


def pdf_text(path, page: int) -> str:
    return subprocess.run(["pdftotext", "-f", str(page), "-l", str(page), "-layout", str(path), "-"], check=True,
                          capture_output=True, text=True).stdout


def rasterise(path, tmp_path) -> list[np.ndarray]:
    subprocess.run(["pdftoppm", "-r", "15", "-gray", str(path), str(tmp_path / "p")], check=True)
    return [np.asarray(Image.open(p)) for p in sorted(tmp_path.glob("p-*.pgm"))]


def pdf_info(path) -> str:
    return subprocess.run(["pdfinfo", str(path)], check=True, capture_output=True, text=True).stdout


def test_one_page_per_district_after_a_cover(province_atlas, demo, tmp_path):
    result, seen = province_atlas
    districts = demo.read_table("districts")
    assert result.units == sorted(districts["code"])
    assert result.pages == 1 + len(districts)
    info = pdf_info(result.path)
    assert re.search(rf"Pages:\s+{result.pages}\n", info) and "Tập bản đồ nông thôn mới — Tỉnh Sơn Cước" in info
    assert "841.89 x 595.276" in info  # A4 landscape, in points
    pages = rasterise(result.path, tmp_path)
    assert len(pages) == result.pages
    for i, page in enumerate(pages, 1):
        assert (page < 245).mean() > 0.05, f"page {i} is blank"
    assert seen[-1] == (len(districts), len(districts))
    assert not result.path.with_name(result.path.name + ".part").exists()


def test_each_map_page_is_its_district(province_atlas, demo):
    result, _ = province_atlas
    names = dict(zip(demo.read_table("districts")["code"], demo.read_table("districts")["full_name"]))
    for number, code in [(2, result.units[0]), (result.pages, result.units[-1])]:
        text = pdf_text(result.path, number)
        assert f"{names[code]}, Tỉnh Sơn Cước" in text
        assert f"Trang {number}/{result.pages}" in text
        assert "Nguồn:" in text and "EPSG:9207" in text and "Tỷ lệ 1:" in text


def test_cover_numbers_agree_with_the_store(province_atlas, demo):
    result, _ = province_atlas
    cover = pdf_text(result.path, 1)
    status = recognitions.recognition_status(demo, 2024)
    xa = status[status["unit_type"] == "xa"]
    standard = int(xa["level"].isin(["dat_chuan", "nang_cao", "kieu_mau"]).sum())
    assert f"{standard}/{len(xa)} xã đạt chuẩn nông thôn mới trở lên" in cover
    assert f"Nâng cao: {int((xa['level'] == 'nang_cao').sum())}" in cover
    assert "Kết quả theo huyện" in cover and "Trang 1/" in cover
    base = figures.load_map_base(demo, year=2024)
    summary = atlas.atlas_summary(demo, base, None)
    total = summary.iloc[-1]
    assert total["communes"] == len(xa) and total["standard"] == standard
    assert (summary.iloc[:-1][["communes", "standard", "at_risk"]].sum() == total[["communes", "standard",
                                                                                   "at_risk"]]).all()
    assert (summary["standard"] == summary[["dat_chuan", "nang_cao", "kieu_mau"]].sum(axis=1)).all()


def test_per_commune_atlas_of_a_district(commune_atlas, demo, tmp_path):
    result = commune_atlas
    communes = demo.read_table("communes", "parent_code = ?", ["D01-01"])
    assert sorted(result.units) == sorted(communes["code"])
    assert result.pages == 1 + len(communes)
    assert "595.276 x 841.89" in pdf_info(result.path)  # A4 portrait
    pages = rasterise(result.path, tmp_path)
    assert len(pages) == result.pages and all((p < 245).mean() > 0.05 for p in pages)
    page = pdf_text(result.path, 2)
    assert "Criteria results" in page and "Criterion 5" in page


def test_bad_options_write_nothing(demo, tmp_path):
    out = tmp_path / "a.pdf"
    with pytest.raises(ParameterError, match="'per' must be one of") as err:
        atlas.build_atlas(demo, out, year=2024, per="village")
    assert err.value.parameter == "per"
    with pytest.raises(ParameterError, match="no districts") as err:
        atlas.build_atlas(demo, out, year=2024, scope_code="D01-01", per="district")
    with pytest.raises(ParameterError, match="paper"):
        atlas.build_atlas(demo, out, year=2024, paper="Letter")
    assert list(tmp_path.iterdir()) == []
