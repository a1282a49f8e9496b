"""``ntm figure`` and ``ntm atlas`` through click, on a group built here as the lead wires it."""

from __future__ import annotations

import click
import pytest
from click.testing import CliRunner

from api.cli import main as ntm_main
from api.cli_maps import register


@pytest.fixture(scope="module")
def group():
    @click.group()
    def g():
        """Test group."""

    register(g)
    return g


def run(group, *args, env=None):
    return CliRunner().invoke(group, [str(a) for a in args], env=env, catch_exceptions=False)


@pytest.mark.parametrize("suffix, magic", [("png", b"\x89PNG"), ("pdf", b"%PDF"), ("svg", b"<?xml")])
def test_figure_writes_the_format_of_its_suffix(group, laocai_store_path, tmp_path, suffix, magic):
    out = tmp_path / "maps" / f"simacai.{suffix}"
    result = run(group, "figure", "--store", laocai_store_path, "--district", "Si Ma Cai", "--year", 2024,
                 "--dpi", 50, "-o", out)
    assert result.exit_code == 0, result.output
    assert out.read_bytes().startswith(magic)
    assert f"Written: {out}" in result.output and suffix.upper() in result.output
    assert not list(out.parent.glob("*.part"))


def test_figure_takes_the_store_from_the_ntm_group_or_the_environment(laocai_store_path, tmp_path):
    group = click.Group("ntm", commands=dict(ntm_main.commands))  # a copy: the real group stays unwired
    group.params = ntm_main.params
    group.callback = ntm_main.callback
    register(group)
    out = tmp_path / "f.png"
    result = run(group, "--store", laocai_store_path, "figure", "--district", "Si Ma Cai", "--mode", "recognition",
                 "--paper", "A4-portrait", "--dpi", 50, "-o", out)
    assert result.exit_code == 0, result.output
    out.unlink()
    result = run(group, "figure", "--district", "Si Ma Cai", "--dpi", 50, "-o", out,
                 env={"NTM_STORE": str(laocai_store_path)})
    assert result.exit_code == 0, result.output and out.exists()


@pytest.mark.parametrize("args, message", [
    (["--mode", "criterion"], "'criterion'"),
    (["--mode", "criterion", "--criterion", "30"], "no criterion 30"),
    (["--set", "qd999"], "'set' unknown criteria set 'qd999'"),
    (["--district", "Nowhere"], "'district' must be a district code or name"),
    (["--scope", "Lào Cai"], "names several units"),
    (["--dpi", "7"], "'dpi' must be a whole number from 50 to 600"),
])
def test_figure_errors_name_the_option(group, laocai_store_path, tmp_path, args, message):
    out = tmp_path / "f.png"
    result = run(group, "figure", "--store", laocai_store_path, *args, "-o", out)
    assert result.exit_code == 1
    assert message in result.output and "Lỗi / Error" in result.output
    assert not out.exists()


def test_figure_usage_errors(group, laocai_store_path, tmp_path):
    result = run(group, "figure", "--store", laocai_store_path, "-o", tmp_path / "f.gif")
    assert result.exit_code == 1 and "'output' must end in .png, .pdf, .svg" in result.output
    result = run(group, "figure", "--store", laocai_store_path, "--district", "Bát Xát", "--province", "205",
                 "-o", tmp_path / "f.png")
    assert result.exit_code == 2 and "give one of --scope, --district, --province" in result.output
    result = run(group, "figure", "--store", tmp_path / "missing.gpkg", "-o", tmp_path / "f.png")
    assert result.exit_code == 1 and "missing.gpkg" in result.output
    assert "Examples:" in run(group, "figure", "--help").output


def test_atlas_options_reach_build_atlas(group, demo_store_path, tmp_path, monkeypatch):
    """Wiring only: the atlas itself is drawn and checked in tests/maps/test_atlas.py."""
    from maps import atlas

    calls = []

    def fake(store, path, **kw):
        calls.append(kw)
        path.write_bytes(b"%PDF-1.4 fake")
        kw["progress"]("pages", 1, 1)
        return atlas.AtlasResult(path, 11, [f"D01-01-{i:03d}" for i in range(1, 11)], 0.5)

    monkeypatch.setattr(atlas, "build_atlas", fake)
    out = tmp_path / "out" / "atlas.pdf"
    result = run(group, "atlas", "--store", demo_store_path, "--district", "Thành phố Sơn Cước", "--year", 2024,
                 "--paper", "A4-portrait", "--mode", "criterion", "--criterion", 5, "--lang", "en", "-o", out)
    assert result.exit_code == 0, result.output
    assert calls[0] | {"progress": None} == {
        "year": 2024, "set_id": None, "mode": "criterion", "criterion": 5, "scope_code": "D01-01",
        "per": "commune", "paper": "A4-portrait", "lang": "en", "source": None, "progress": None}
    assert "11 trang / pages: 1 + 10 commune" in result.output
    result = run(group, "atlas", "--store", demo_store_path, "--province", "Sơn Cước", "-o", out)
    assert result.exit_code == 0, result.output
    assert calls[1]["scope_code"] == "D01" and calls[1]["per"] == "district" and calls[1]["year"] == 2026


def test_atlas_refuses_what_it_cannot_write(group, demo_store_path, tmp_path):
    result = run(group, "atlas", "--store", demo_store_path, "-o", tmp_path / "atlas.png")
    assert result.exit_code == 2 and "must end in .pdf" in result.output
    result = run(group, "atlas", "--store", demo_store_path, "--province", "Nowhere", "-o", tmp_path / "a.pdf")
    assert result.exit_code == 1 and "'province' must be a province code or name" in result.output
    assert list(tmp_path.iterdir()) == []
