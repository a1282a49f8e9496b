"""The progress page (HTML, escaped, Vietnamese first) and the progress figure (PNG, PDF, SVG)."""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
from html.parser import HTMLParser

import pytest

from _progress_store import build_progress_store
from layers.progress import compute_progress
from layers.store import Store
from maps import i18n
from maps.progress_figure import progress_figure, progress_figure_bytes
from maps.progress_page import note_text, progress_html

DAY = dt.date(2024, 12, 20)


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    store = Store(build_progress_store(tmp_path_factory.mktemp("progress-page") / "smc.gpkg"))
    return compute_progress(store, "SMC", 2024, target_year=2025)


class _Text(HTMLParser):
    """Visible text and tags of a page."""

    def __init__(self):
        super().__init__()
        self.text, self.tags = [], []

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)

    def handle_data(self, data):
        self.text.append(data)


def _parse(page: str) -> _Text:
    parser = _Text()
    parser.feed(page)
    return parser


def test_vietnamese_page_shows_the_seeds_arithmetic(report):
    page = progress_html(report, created=DAY, links={"xlsx": "/analysis/progress.xlsx?scope=SMC&year=2024",
                                                     "other_lang": "/progress?scope=SMC&lang=en"})
    assert page.startswith("<!DOCTYPE html>") and '<html lang="vi">' in page
    text = " ".join(_parse(page).text)
    assert "Tiến độ xây dựng nông thôn mới — Huyện Si Ma Cai" in text
    assert "16,67" in text and "Bình quân tiêu chí/xã" in text  # 150 / 9, written the Vietnamese way
    assert "Lập ngày 20/12/2024" in text and "Xã dưới 15 tiêu chí" in text
    assert "Cán Cấu" in text and "17. Môi trường và an toàn thực phẩm" in text  # the commune at risk
    assert "Dự báo đến năm 2025" in text and "18,22" in text
    assert "Dự báo (không phải kết quả)" in text
    assert 'href="/analysis/progress.xlsx?scope=SMC&amp;year=2024"' in page
    assert "SMC-00" not in text  # the thị trấn is not a commune row
    assert "<script" not in page and "http://" not in page and "https://" not in page  # nothing loaded from outside


def test_english_page(report):
    page = progress_html(report, lang="en", created=DAY)
    text = " ".join(_parse(page).text)
    assert '<html lang="en">' in page
    assert "New rural development progress — Huyện Si Ma Cai" in text and "Average criteria per commune" in text
    assert "16.67" in text and "Projection, not a result" in text and "Dự báo" not in text


def test_values_from_the_store_are_escaped(report):
    hostile = dataclasses.replace(report, scope_name='<script>alert("x")</script>')
    page = progress_html(hostile, created=DAY, links={"figure": '/f.svg?a=1&b="2"'})
    assert "<script>" not in page and "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in page
    assert 'src="/f.svg?a=1&amp;b=&quot;2&quot;"' in page
    assert "script" not in _parse(page).tags


def test_bad_language_is_refused(report):
    with pytest.raises(ValueError, match=r"'lang' must be 'vi' or 'en', got 'fr'"):
        progress_html(report, lang="fr")


def test_translation_files_have_the_same_progress_keys():
    def keys(node, prefix=""):
        return {prefix + k for k in node} | {x for k, v in node.items() if isinstance(v, dict)
                                             for x in keys(v, prefix + k + ".")}

    assert keys(i18n.strings("vi")["progress"]) == keys(i18n.strings("en")["progress"])


def test_note_text_picks_one_language():
    note = "Ngưỡng 15 tiêu chí. / Threshold 15 criteria."
    assert (note_text(note, "vi"), note_text(note, "en")) == ("Ngưỡng 15 tiêu chí.", "Threshold 15 criteria.")


# --- figure ---------------------------------------------------------------------------


def test_figure_panels(report):
    fig = progress_figure(report, created=DAY)
    axes = fig.get_axes()
    assert len(axes) == 3
    titles = [ax.get_title(loc="left") for ax in axes]
    assert titles == ["Số xã theo mức công nhận", "Bình quân tiêu chí/xã", "Số xã chưa đạt, theo tiêu chí"]
    levels, trend, unmet = axes
    actual, target, projected = levels.containers
    assert [b.get_height() for b in actual] == [5, 0, 0]  # đạt chuẩn, nâng cao, kiểu mẫu in 2024
    assert [b.get_height() for b in target] == [7, 0, 0]  # only đạt chuẩn has a 2025 target
    assert [round(b.get_height(), 2) for b in projected] == [5.33, 0, 0]
    assert [round(y, 2) for y in trend.get_lines()[0].get_ydata()] == [13.56, 15.11, 16.67]
    widths = [p.get_width() for p in unmet.patches]
    assert max(widths) == 4 and unmet.get_yticklabels()[-1].get_text().startswith("13.")  # most unmet on top


@pytest.mark.parametrize("fmt, magic", [("png", b"\x89PNG"), ("pdf", b"%PDF"), ("svg", b"<?xml")])
def test_figure_formats(report, fmt, magic):
    data = progress_figure_bytes(report, fmt, created=DAY)
    assert data.startswith(magic)
    if fmt == "svg":
        text = data.decode("utf-8")
        assert "Tiến độ nông thôn mới — Huyện Si Ma Cai, năm 2024" in text  # text kept as text
        assert re.search(r"Dự báo 2025", text)


def test_figure_refuses_unknown_format(report):
    with pytest.raises(ValueError, match=r"'format' must be one of \('png', 'pdf', 'svg'\), got 'gif'"):
        progress_figure_bytes(report, "gif")
