"""The ntm command as a newcomer meets it: help, errors on stderr, imports with summaries."""

import subprocess
import sys

import pytest
from click.testing import CliRunner

from api.cli import main

COMMANDS = {
    "store": ["init", "info"],
    "demo": ["build"],
    "import": ["boundaries", "infrastructure", "status", "plans", "recognitions", "targets"],
    "crosswalk": ["apply", "overlay"],
    "criteria": ["list", "show", "validate", "load-config"],
    "status": ["show", "summary"],
    "export": ["layer", "status"],
    "serve": [],
    "assets": ["fetch"],
}


def run(*args, env=None):
    return CliRunner().invoke(main, list(args), env=env, catch_exceptions=False)


def test_help_lists_every_command_with_one_line():
    out = run("--help").output
    for group in COMMANDS:
        line = next(l for l in out.splitlines() if l.strip().startswith(group + " "))
        assert len(line.split(None, 1)[1]) > 10, line


@pytest.mark.parametrize("group, sub", [(g, s) for g, subs in COMMANDS.items() for s in (subs or [None])])
def test_every_command_has_help(group, sub):
    args = [group] + ([sub] if sub else []) + ["--help"]
    result = run(*args)
    assert result.exit_code == 0
    assert "Usage:" in result.output


def test_missing_store_is_a_clear_error_on_stderr(tmp_path):
    proc = subprocess.run(
        [sys.executable, "-m", "api.cli", "--store", str(tmp_path / "none.gpkg"), "store", "info"],
        capture_output=True, text=True,
    )
    assert proc.returncode == 1
    assert proc.stdout == ""
    assert "Lỗi / Error: store" in proc.stderr and "does not exist; build the demo" in proc.stderr


def test_store_from_environment(tmp_path):
    path = tmp_path / "env.gpkg"
    assert run("store", "init", env={"NTM_STORE": str(path)}).exit_code == 0
    assert path.exists()
    out = run("store", "info", env={"NTM_STORE": str(path)}).output
    assert "communes" in out and "schema" in out


def test_import_boundaries_summary_and_bad_file(tmp_path, grid):
    gdf = grid(2, 2)
    gdf["ten_huyen"], gdf["ma_tinh"], gdf["ten_tinh"] = "Huyện Thử", "10", "Lào Cai"
    gdf.to_file(tmp_path / "xa.gpkg")
    store = str(tmp_path / "s.gpkg")
    result = run("--store", store, "import", "boundaries", str(tmp_path / "xa.gpkg"), "--level", "commune", "--build-parents")
    assert result.exit_code == 0, result.output
    assert "Đã ghi / Written" in result.output and "commune" in result.output and "Thời gian / Time" in result.output
    again = CliRunner().invoke(main, ["--store", store, "import", "boundaries", str(tmp_path / "xa.gpkg"), "--level", "commune", "--build-parents"])
    assert again.exit_code == 1
    assert "already in the store; use --replace" in again.output


def test_imports_from_the_command_line_are_audited(tmp_path, grid):
    from layers import audit
    from layers.store import Store

    gdf = grid(2, 1)
    gdf["ten_huyen"], gdf["ma_tinh"], gdf["ten_tinh"] = "Huyện Thử", "10", "Lào Cai"
    gdf.to_file(tmp_path / "xa.gpkg")
    store = str(tmp_path / "s.gpkg")
    assert run("--store", store, "import", "boundaries", str(tmp_path / "xa.gpkg"), "--level", "commune",
               "--build-parents").exit_code == 0
    (tmp_path / "kq.csv").write_text("Mã xã,Tiêu chí,Đạt\nC000,1,Đạt\nC000,2,Không đạt\n", encoding="utf-8")
    result = run("--store", store, "import", "status", str(tmp_path / "kq.csv"), "--year", "2024", "--form", "long",
                 "--source-document", "Báo cáo 12/BC-UBND")
    assert result.exit_code == 0, result.output
    entries, total = audit.history(Store(store), "C000")
    actions = [e["action"] for e in entries]
    assert actions[0] == "import.status" and "import.boundaries" in actions and total == len(entries)
    assert entries[0]["actor"].startswith("cli:") and entries[0]["source_document"] == "Báo cáo 12/BC-UBND"
    before = audit.history(Store(store), "C000")[1]
    assert run("--store", store, "import", "status", str(tmp_path / "kq.csv"), "--year", "2024", "--form", "long",
               "--dry-run").exit_code == 0
    assert audit.history(Store(store), "C000")[1] == before  # a dry run leaves no trace


def test_criteria_list_and_show():
    assert "qd51-2025-xa-ntm" in run("criteria", "list").output
    out = run("criteria", "show", "qd318-2022-xa-ntm", "--lang", "en").output
    assert "19. Defence and security" in out
    bad = CliRunner().invoke(main, ["criteria", "show", "nope"])
    assert bad.exit_code == 1 and "unknown criteria set 'nope'" in bad.output
