"""A funding plan as an Excel workbook: summary, communes, gaps, sources, cost model.

Sheets (Vietnamese, as planners exchange them): "Tóm tắt" (budget, result against the
greedy ranking, next budget step), "Xã – xếp hạng" (one row per xã: score, rank, cost to
the standard, funded, reaches), "Tiêu chí – chi phí" (one row per commune × criterion not
met: cost, evidence, blocker, funded, money per source), "Nguồn vốn" (budget and spent
per funding source) and "Mô hình chi phí" (the unit costs used, with the model's
version and its note that they are illustrative). Tables use
``layers.status_export.write_table``.
"""

from __future__ import annotations

import datetime as dt
import io
from pathlib import Path

import pandas as pd

from . import admin_units, status_export
from .cost_model import CostModel, default_cost_model
from .prioritise import PriorityPlan, funding_sources

__all__ = ["SHEETS", "plan_to_xlsx", "plan_xlsx_bytes"]

SHEETS = {"summary": "Tóm tắt", "communes": "Xã – xếp hạng", "gaps": "Tiêu chí – chi phí",
          "sources": "Nguồn vốn", "model": "Mô hình chi phí"}
_OBJECTIVES = {"communes": "số xã đạt chuẩn", "criteria": "số tiêu chí đạt thêm",
               "population": "dân số các xã đạt chuẩn"}
_MILLION = 1e6


def _m(value) -> float | None:
    """VND -> million VND (triệu đồng), as the plans count money."""
    return None if value is None or pd.isna(value) else round(float(value) / _MILLION, 1)


def _lines(plan: PriorityPlan, created: dt.date) -> list[str]:
    return [f"Phạm vi: {plan.scope_code or 'toàn bộ dữ liệu'} · Năm đánh giá: {plan.year} · Bộ tiêu chí: {plan.set_id}",
            f"Mô hình chi phí: {plan.cost_model_version} (giá trị tham khảo, không phải đơn giá chính thức) · "
            f"Đơn vị tiền: triệu đồng · Ngày lập: {created:%d/%m/%Y}"]


def _summary_rows(plan: PriorityPlan) -> pd.DataFrame:
    s, g, n = plan.summary, plan.summary["greedy"], plan.summary["next_step"]
    rows = [
        ("Mục tiêu tối ưu", _OBJECTIVES[plan.objective], ""),
        ("Phương pháp", "quy hoạch nguyên (PuLP + " + str(s.get("solver") or "") + ")" if plan.method == "optimal"
         else "xếp hạng tham lam", ""),
        ("Trạng thái lời giải", s["status"], ""),
        ("Thời gian giải (giây)", s["solve_seconds"], ""),
        ("Tổng vốn (triệu đồng)", _m(s["budget_vnd"]) if s["budget_vnd"] is not None else "không giới hạn", ""),
        ("Đã phân bổ (triệu đồng)", _m(s["spent_vnd"]), _m(g["spent_vnd"])),
        ("Số xã đạt chuẩn nhờ kế hoạch", s["communes_reaching"], g["communes_reaching"]),
        ("Số tiêu chí đạt thêm", s["criteria_gained"], g["criteria_gained"]),
        ("Dân số các xã đạt chuẩn", s["population_served"], g["population_served"]),
        ("Bậc vốn tiếp theo (triệu đồng)", _m(n.get("extra_vnd")), ""),
        ("Xã đạt thêm với bậc vốn đó", ", ".join(n.get("units", [])), ""),
        ("Trọng số xếp hạng", ", ".join(f"{k}={v:g}" for k, v in plan.weights.items()), ""),
    ]
    return pd.DataFrame(rows, columns=["Chỉ số", "Kế hoạch", "Xếp hạng tham lam (so sánh)"])


def _communes(plan: PriorityPlan) -> pd.DataFrame:
    c = plan.communes.sort_values(["rank", "unit_code"], na_position="last")
    yes = lambda s: s.map({True: "Có", False: ""})  # noqa: E731
    return pd.DataFrame({
        "Hạng": c["rank"], "Mã xã": c["unit_code"], "Tên xã": c["name"], "Mã huyện": c["parent_code"],
        "Số tiêu chí đạt": c["n_met"], "Chưa đạt": c["n_unmet"], "Đóng được bằng vốn": c["n_closable"],
        "Chi phí đạt chuẩn (triệu đồng)": c["cost_to_standard_vnd"].map(_m),
        "Dân số": c["population"], "Xã ĐBKK": yes(c["extremely_difficult"]), "Điểm ưu tiên": c["score"],
        "Vốn bố trí (triệu đồng)": c["funded_cost_vnd"].map(_m), "Số tiêu chí sau kế hoạch": c["n_met_after"],
        "Đạt chuẩn nhờ kế hoạch": yes(c["newly_reaching"]), "Đã đạt chuẩn": yes(c["already_standard"]),
    })


def _gaps(plan: PriorityPlan) -> pd.DataFrame:
    gp = plan.gaps
    names = admin_units.vocabulary()["funding_sources"]
    out = pd.DataFrame({
        "Mã xã": gp["unit_code"], "Tên xã": gp["name"], "Tiêu chí": gp["criterion"],
        "Tên tiêu chí": gp["criterion_label_vi"],
        "Đóng được bằng vốn": gp["closable"].map({True: "Có", False: "Không"}),
        "Chi phí (triệu đồng)": gp["cost_vnd"].map(_m), "Căn cứ tính": gp["cost_basis"],
        "Vướng mắc (không do vốn)": gp["blocker"], "Bố trí vốn": gp["funded"].map({True: "Có", False: ""}),
    })
    for code in funding_sources():
        out[f"{names[code]['vi']} (triệu đồng)"] = gp[f"vnd_{code}"].map(_m)
    return out


def _sources(plan: PriorityPlan) -> pd.DataFrame:
    names = admin_units.vocabulary()["funding_sources"]
    rows = [(names[k]["vi"], k, _m(v["budget"]), _m(v["spent"])) for k, v in plan.summary["by_source"].items()]
    return pd.DataFrame(rows, columns=["Nguồn vốn", "Mã", "Kế hoạch vốn (triệu đồng)", "Đã bố trí (triệu đồng)"])


def _model(model: CostModel) -> pd.DataFrame:
    rows = [(k, c.label_vi, c.driver, c.unit, _m(c.unit_cost_vnd), c.target_share,
             ", ".join(f"{s} {w:.0%}" for s, w in c.funding_sources.items())) for k, c in model.components.items()]
    return pd.DataFrame(rows, columns=["Hạng mục", "Nội dung", "Căn cứ (chỉ số)", "Đơn vị", "Đơn giá (triệu đồng)",
                                       "Tỷ lệ mục tiêu", "Nguồn vốn được dùng (tỷ lệ mặc định)"])


def _write(plan: PriorityPlan, target, created: dt.date, model: CostModel | None) -> None:
    from openpyxl import Workbook

    model = model or default_cost_model()
    lines = _lines(plan, created)
    wb = Workbook()
    wb.remove(wb.active)
    for key, title, frame in (("summary", "Kế hoạch phân bổ vốn NTM theo tiêu chí", _summary_rows(plan)),
                              ("communes", "Xếp hạng ưu tiên các xã", _communes(plan)),
                              ("gaps", "Chi phí đóng từng tiêu chí chưa đạt", _gaps(plan)),
                              ("sources", "Vốn theo nguồn", _sources(plan)),
                              ("model", f"Mô hình chi phí {model.version}", _model(model))):
        ws = wb.create_sheet(SHEETS[key])
        extra = [model.source_note] if key == "model" else []
        status_export.write_table(ws, frame, title=title, lines=lines + extra, header_height=45)
    wb.save(target)


def plan_to_xlsx(plan: PriorityPlan, path: str | Path, *, created: dt.date | None = None,
                 model: CostModel | None = None) -> Path:
    """Write the workbook to ``path`` (the cost model sheet shows ``model``, default the shipped one)."""
    path = Path(path)
    _write(plan, path, created or dt.date.today(), model)
    return path


def plan_xlsx_bytes(plan: PriorityPlan, *, created: dt.date | None = None, model: CostModel | None = None) -> bytes:
    buf = io.BytesIO()
    _write(plan, buf, created or dt.date.today(), model)
    return buf.getvalue()
