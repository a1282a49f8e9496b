"""``ntm progress`` on a group built in the test (the lead wires it into api/cli.py)."""

from __future__ import annotations

import click
import openpyxl
import pytest
from click.testing import CliRunner

from _progress_store import build_progress_store
from api.cli_progress import register


@click.group()
@click.option("--store", "store_path")
@click.pass_context
def ntm(ctx, store_path):
    ctx.ensure_object(dict)
    ctx.obj["store_path"] = store_path


register(ntm)


@pytest.fixture(scope="module")
def store_path(tmp_path_factory):
    return build_progress_store(tmp_path_factory.mktemp("progress-cli") / "smc.gpkg")


def run(*args):
    return CliRunner().invoke(ntm, [str(a) for a in args], catch_exceptions=False)


def test_summary_table(store_path):
    result = run("--store", store_path, "progress", "--scope", "SMC", "--year", 2024, "--target-year", 2025)
    assert result.exit_code == 0, result.output
    out = result.output
    assert "Tiến độ xây dựng nông thôn mới — Huyện Si Ma Cai (SMC)" in out
    lines = {line.split("  ")[0].strip(): line for line in out.splitlines()}
    assert lines["Bình quân tiêu chí/xã"].split()[-7:] == ["16,67", "17,30", "2025", "0,63", "Chưa", "đạt", "18,22"]
    assert lines["Số xã (không tính phường, thị trấn)"].split()[-4:] == ["9", "–", "–", "–"]
    assert "SMC-04  Cán Cấu: 17. Môi trường và an toàn thực phẩm" in out
    assert "4/9  13. Tổ chức sản xuất và phát triển kinh tế nông thôn" in out
    assert "Dự báo (không phải kết quả)" in out and "+1,56" in out


def test_writes_workbook_and_figure(store_path, tmp_path):
    xlsx, png = tmp_path / "bieu.xlsx", tmp_path / "tien-do.png"
    result = run("--store", store_path, "progress", "--scope", "SMC", "--year", 2024, "--xlsx", xlsx,
                 "--figure", png, "--lang", "en")
    assert result.exit_code == 0, result.output
    assert "Average criteria met per commune" in result.output and "16.67" in result.output
    assert openpyxl.load_workbook(xlsx).sheetnames[0] == "Biểu 01 – kết quả theo xã"
    assert png.read_bytes()[:4] == b"\x89PNG"


@pytest.mark.parametrize(("args", "message"), [
    (["--scope", "SMC", "--year", 2024, "--threshold", 30], "'threshold' must be a whole number of criteria from 1 to 19"),
    (["--scope", "NOPE", "--year", 2024], "'--scope' must be a province, district or commune code or name"),
    (["--scope", "SMC", "--figure", "x.gif"], "--figure must end in .png, .pdf or .svg, got 'x.gif'"),
    (["--scope", "SMC", "--xlsx", "x.csv"], "--xlsx must end in .xlsx, got 'x.csv'"),
])
def test_errors_go_to_stderr_with_exit_1(store_path, args, message):
    result = CliRunner().invoke(ntm, ["--store", str(store_path), "progress", *[str(a) for a in args]])
    assert result.exit_code == 1
    assert message in result.stderr and "Lỗi / Error" in result.stderr
    assert result.stdout == ""


def test_missing_store(tmp_path):
    result = CliRunner().invoke(ntm, ["--store", str(tmp_path / "none.gpkg"), "progress"])
    assert result.exit_code == 1 and "does not exist" in result.stderr
