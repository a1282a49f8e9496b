"""``ntm prioritise`` on a group built in the test (the lead wires it into api/cli.py)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click
import openpyxl
import pytest
from click.testing import CliRunner

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "layers"))
from _prioritise_store import build_prioritise_store  # noqa: E402

from api.cli_prioritise import register  # noqa: E402
from layers.cost_model import COST_MODEL_PATH  # noqa: E402


@click.group()
@click.option("--store", "store_path")
@click.pass_context
def ntm(ctx, store_path):
    ctx.ensure_object(dict)
    ctx.obj["store_path"] = store_path


register(ntm)


@pytest.fixture(scope="module")
def store_path(tmp_path_factory):
    return build_prioritise_store(tmp_path_factory.mktemp("prioritise-cli") / "tiny.gpkg")


@pytest.fixture(scope="module")
def model_file(tmp_path_factory):
    """The shipped model with round costs (planning 6, irrigation 5, ICT 5 tỷ), as a file."""
    text = COST_MODEL_PATH.read_text(encoding="utf-8")
    text = text.replace("unit_cost_vnd: 800_000_000\n    funding_sources: {central_recurrent: 0.6",
                        "unit_cost_vnd: 6_000_000_000\n    funding_sources: {central_recurrent: 0.6")
    text = text.replace("unit_cost_vnd: 2_500_000_000\n    funding_sources: {integrated: 0.5, central_investment: 0.3",
                        "unit_cost_vnd: 5_000_000_000\n    funding_sources: {integrated: 0.5, central_investment: 0.3")
    text = text.replace("unit_cost_vnd: 600_000_000\n    funding_sources: {central_recurrent: 0.5",
                        "unit_cost_vnd: 5_000_000_000\n    funding_sources: {central_recurrent: 0.5")
    path = tmp_path_factory.mktemp("model") / "cost.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def run(*args):
    return CliRunner().invoke(ntm, [str(a) for a in args], catch_exceptions=False)


def test_summary_optimal_vs_greedy(store_path, model_file, tmp_path):
    xlsx, out = tmp_path / "plan.xlsx", tmp_path / "plan.json"
    result = run("--store", store_path, "prioritise", "--year", 2025, "--budget", "10 tỷ", "--weights",
                 "population=1", "--cost-model", model_file, "--xlsx", xlsx, "--json", out)
    assert result.exit_code == 0, result.output
    lines = {line.split("  ")[0].strip(): line.split() for line in result.output.splitlines()}
    assert lines["Xã đạt chuẩn nhờ kế hoạch"][-2:] == ["2", "1"]
    assert lines["Tổng vốn"][-4:] == ["10", "tỷ", "10", "tỷ"]
    assert "Bậc vốn tiếp theo: thêm 6 tỷ thì thêm 1 xã đạt chuẩn: X-01" in result.output
    chosen = [line.split()[1] for line in result.output.splitlines() if line.strip().startswith(("3 ", "4 "))]
    assert chosen == ["X-02", "X-03"]  # ranks 3 and 4 by population, the plan's two communes
    doc = json.loads(out.read_text(encoding="utf-8"))
    assert doc["summary"]["communes_reaching"] == 2 and len(doc["gaps"]) == 5
    assert openpyxl.load_workbook(xlsx).sheetnames[0] == "Tóm tắt"


def test_budget_per_source_in_english(store_path, model_file):
    result = run("--store", store_path, "prioritise", "--year", 2025, "--budget-source", "integrated=10e9",
                 "--cost-model", model_file, "--lang", "en", "--method", "greedy")
    assert result.exit_code == 0, result.output
    assert "Integrated programmes: 8.88 bn VND / budget 10 bn VND" in result.output
    ranked = [line.split() for line in result.output.splitlines() if line.strip()[:1].isdigit()]
    assert any(words[1:3] == ["X-02", "Bình"] for words in ranked)
    assert "greedy ranking" in result.output


@pytest.mark.parametrize("args, message", [
    (["--budget", "nhiều"], "'budget' must be an amount of VND"),
    (["--budget-source", "integrated"], "--budget-source expects CODE=VND"),
    (["--budget-source", "bank=1e9"], "unknown funding source 'bank'"),
    (["--weights", "beauty=1"], "unknown weight 'beauty'"),
    (["--scope", "Không Có"], "scope"),
    (["--cost-model", "/nonexistent/cost.yaml"], "cost model file not found"),
    (["--xlsx", "plan.csv"], "--xlsx must end in .xlsx"),
])
def test_errors_exit_1_with_a_message(store_path, args, message):
    result = run("--store", store_path, "prioritise", "--year", 2025, *args)
    assert result.exit_code == 1 and message in result.output


def test_strings_in_both_languages():
    from maps import i18n

    def keys(node, prefix=""):
        return {prefix + k for k, v in node.items()} | {x for k, v in node.items() if isinstance(v, dict)
                                                        for x in keys(v, f"{prefix}{k}.")}

    assert keys(i18n.strings("vi")["prioritise"]) == keys(i18n.strings("en")["prioritise"])
