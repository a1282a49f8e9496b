"""The commune page: one commune's map, criteria across years, recognitions, targets, plans.

A planner opening a commune wants, on one page: where it is and what is built there
(the map), which criteria it met each year (a grid, criteria × years, one grid per
criteria set, since QĐ 318's 19 criteria and QĐ 51's 10 are not comparable), how it
was recognised (decisions, revocations), which targets it counts toward and whether
they are met, and how its annual plans turned out. ``commune_page_html`` builds it as a
pure function of the store and the parameters, so the API can cache it per store
revision. Every name from user data is escaped (``maps._commune_map.e``).
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import math
from dataclasses import dataclass, field
from urllib.parse import urlencode

import geopandas as gpd
import pandas as pd

from layers import admin_units, criteria, plans, recognitions, status, targets
from layers._errors import CriteriaError
from layers.store import Store
from layers.vocab import vocab_labels
from . import _commune_map
from ._commune_map import display_name, e, fmt_date as _date, fmt_num
from ._errors import ParameterError
from .i18n import LANGS, t

__all__ = [
    "CommuneNotFound",
    "CriteriaGrid",
    "find_commune",
    "criteria_grids",
    "commune_targets",
    "commune_plans",
    "commune_page_html",
    "not_found_html",
]

log = logging.getLogger(__name__)


class CommuneNotFound(LookupError):
    """No commune with this code in any vintage; ``level`` names the level holding the
    code when it belongs to another unit (a district code typed by mistake)."""

    def __init__(self, code: str, level: str | None = None):
        self.code, self.level = code, level
        msg = f"không có xã mã '{code}' trong cơ sở dữ liệu / no commune with code '{code}' in the store"
        if level:
            msg += f" ('{code}' is a {level} code)"
        super().__init__(msg)


def _tr(key: str, lang: str) -> str:
    return t(f"commune_page.{key}", lang)


def _blank(value) -> bool:
    return value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value))


# --- the unit ---------------------------------------------------------------------------


def find_commune(store: Store, code: str) -> gpd.GeoDataFrame:
    """Every vintage of the commune, oldest first.

    Raises
    ------
    CommuneNotFound
        No commune has this code (``level`` says which other level does, if any).
    """
    code = str(code).strip()
    vintages = store.read_features("communes", "code = ?", [code], order_by="ifnull(valid_from, '')") if code else None
    if vintages is None or vintages.empty:
        raise CommuneNotFound(code, admin_units.unit_level_of(store, code) if code else None)
    return vintages.reset_index(drop=True)


def _valid(row, day: dt.date) -> bool:
    d = day.isoformat()
    return (_blank(row["valid_from"]) or str(row["valid_from"]) <= d) and (_blank(row["valid_to"]) or str(row["valid_to"]) > d)


def _pick_vintage(vintages: gpd.GeoDataFrame, year: int) -> tuple[pd.Series, bool, dt.date]:
    """(vintage shown, whether it is valid at the end of ``year``, the day to read units on)."""
    end = admin_units.year_end(year)
    for _, row in vintages.iterrows():
        if _valid(row, end):
            return row, True, end
    started = vintages[vintages["valid_from"].isna() | (vintages["valid_from"].astype(str) <= end.isoformat())]
    row = (started if len(started) else vintages).iloc[-1 if len(started) else 0]
    if not _blank(row["valid_to"]):
        day = dt.date.fromisoformat(str(row["valid_to"])) - dt.timedelta(days=1)
    else:
        day = dt.date.fromisoformat(str(row["valid_from"]))
    return row, False, day


def _last_day(valid_to, lang: str) -> str:
    """The last day a unit was valid (valid_to is exclusive), or '…' when open-ended."""
    if _blank(valid_to):
        return "…"
    return _date((dt.date.fromisoformat(str(valid_to)[:10]) - dt.timedelta(days=1)).isoformat(), lang)


def _last_valid_year(row) -> int | None:
    if _blank(row["valid_to"]):
        return None
    return (dt.date.fromisoformat(str(row["valid_to"])) - dt.timedelta(days=1)).year


def _parents(store: Store, row, day: dt.date) -> tuple[pd.Series | None, pd.Series | None]:
    """(district, province) above the commune on ``day`` (post-2025 communes: no district)."""
    def unit(level, code):
        if _blank(code):
            return None
        df = store.read_table(admin_units.schema.ADMIN_TABLE[level], "code = ?", [code], order_by="ifnull(valid_from, '')")
        if df.empty:
            return None
        valid = df[[_valid(r, day) for _, r in df.iterrows()]]
        return (valid if len(valid) else df).iloc[-1]

    district = unit("district", row["parent_code"])
    province = unit("province", district["parent_code"] if district is not None else row["parent_code"])
    return district, province


# --- criteria across years --------------------------------------------------------------


@dataclass
class CriteriaGrid:
    """Criteria of one set × years: ``cells[(criterion, year)]`` is True, False or None (no data)."""

    cset: criteria.CriteriaSet
    years: list[int]
    cells: dict[tuple[int, int], bool | None] = field(default_factory=dict)
    details: dict[tuple[int, int], str] = field(default_factory=dict)

    def n_met(self, year: int) -> int:
        return sum(1 for n in self.cset.numbers if self.cells.get((n, year)) is True)

    def n_assessed(self, year: int) -> int:
        return sum(1 for n in self.cset.numbers if self.cells.get((n, year)) is not None)

    def symbol(self, number: int, year: int) -> str:
        """✓ met, ✗ not met, – no data."""
        value = self.cells.get((number, year))
        return "–" if value is None else "✓" if value else "✗"


def criteria_grids(store: Store, code: str, *, year: int | None = None) -> list[CriteriaGrid]:
    """One grid per criteria set the commune was assessed under, oldest first.

    Cells hold the latest record of each (year, set, criterion). With ``year``, the set
    in force that year gets a column for it even without records, so a commune with no
    data still shows the criteria it will be assessed on.
    """
    recs = status.current_status(store, unit_codes=[code])
    grids: dict[str, CriteriaGrid] = {}
    for set_id, part in recs.groupby("set_id", sort=False):
        try:
            cset = criteria.get_set(str(set_id))
        except CriteriaError:
            log.warning("commune %s: status records of unknown criteria set %s left out", code, set_id)
            continue
        grid = CriteriaGrid(cset, sorted({int(y) for y in part["year"]}))
        for r in part.to_dict("records"):
            key = (int(r["criterion"]), int(r["year"]))
            grid.cells[key] = None if _blank(r["met"]) else bool(r["met"])
            bits = [str(v) for v in (r.get("value_text"), r.get("value")) if not _blank(v)]
            bits += [str(v) for v in (r.get("source_document"), r.get("note")) if not _blank(v)]
            if bits:
                grid.details[key] = "; ".join(bits)
        grids[cset.id] = grid
    if year is not None:
        try:
            cset = criteria.set_for_year(year)
        except CriteriaError:
            cset = None
        if cset is not None:
            grid = grids.setdefault(cset.id, CriteriaGrid(cset, []))
            if year not in grid.years:
                grid.years = sorted([*grid.years, year])
    return sorted(grids.values(), key=lambda g: (min(g.years), g.cset.id))


# --- targets and plans ------------------------------------------------------------------


def commune_targets(store: Store, code: str, year: int, chain: list[str]) -> pd.DataFrame:
    """Targets set for the commune or a unit above it (``chain``: commune, district, province).

    Each target year is evaluated on the data of that year, or of ``year`` when the
    target lies ahead (progress so far: ``data_year`` < ``target_year``).
    """
    chain = [c for c in chain if c]
    table = store.read_table("targets", "scope_code IN (SELECT value FROM json_each(?))", [json.dumps(chain)],
                             columns=["scope_code", "target_year"])
    frames = []
    for target_year in sorted({int(y) for y in table["target_year"]}):
        scopes = set(table.loc[table["target_year"] == target_year, "scope_code"])
        top = next(c for c in reversed(chain) if c in scopes)
        data_year = min(year, target_year)
        ev = targets.evaluate_targets(store, data_year, target_year=target_year, scope_code=top)
        ev = ev[ev["scope_code"].isin(chain)].copy()
        ev["data_year"] = data_year
        frames.append(ev)
    if not frames:
        return pd.DataFrame(columns=["scope_code", "metric", "target_year", "value", "actual", "met", "data_year"])
    rank = {c: k for k, c in enumerate(chain)}
    out = pd.concat(frames, ignore_index=True)
    out["_rank"] = out["scope_code"].map(rank)
    return out.sort_values(["target_year", "_rank", "target_id"], ascending=[False, True, True]).drop(columns="_rank")


def commune_plans(store: Store, code: str) -> pd.DataFrame:
    """Every planned criterion of the commune with its outcome (``layers.plans.plan_vs_actual``)."""
    keys = store.read_table("plans", "unit_code = ?", [code], columns=["year", "set_id"]).drop_duplicates()
    frames = [plans.plan_vs_actual(store, int(y), str(s), scope_code=code)
              for y, s in sorted(zip(keys["year"], keys["set_id"]))]
    frames = [f for f in frames if len(f)]
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


# --- page sections ----------------------------------------------------------------------


def _link(code: str, lang: str, year: int | None = None) -> str:
    query = {k: v for k, v in (("year", year), ("lang", lang if lang != "vi" else None)) if v is not None}
    return f"/communes/{e(code)}" + (f"?{e(urlencode(query))}" if query else "")


def _set_name(cset: criteria.CriteriaSet, lang: str) -> str:
    return e(cset.title_en if lang == "en" else cset.title_vi)


def _grid_html(grid: CriteriaGrid, year: int, lang: str) -> str:
    cset = grid.cset
    head = "".join(f'<th class="{"sel" if y == year else ""}">{y}</th>' for y in grid.years)
    rows, group = [], None
    for c in cset.criteria:
        if c.group != group:
            group = c.group
            vi, en = cset.groups.get(group, (group, group))
            rows.append(f'<tr class="grp"><td colspan="{len(grid.years) + 1}">{e(en if lang == "en" else vi)}</td></tr>')
        name = e(c.name_vi) + (f'<div class="en">{e(c.name_en)}</div>' if lang == "en" else "")
        cells = []
        for k, y in enumerate(grid.years):
            value = grid.cells.get((c.number, y))
            cls = "nd" if value is None else "ok" if value else "no"
            prev = grid.cells.get((c.number, grid.years[k - 1])) if k else None
            title = grid.details.get((c.number, y), "")
            if value is False and prev is True:
                cls += " lost"
                title = (_tr("grid.lost", lang) + ("; " + title if title else ""))
            attr = f' title="{e(title)}"' if title else ""
            cells.append(f'<td class="{cls}{" sel" if y == year else ""}"{attr}>{grid.symbol(c.number, y)}</td>')
        rows.append(f'<tr><th class="crit">{c.number}. {name}</th>{"".join(cells)}</tr>')
    totals = "".join(
        f'<td class="tot{" sel" if y == year else ""}">{grid.n_met(y)}/{len(cset)}'
        + (f'<div class="sub">{_tr("grid.assessed", lang).format(n=grid.n_assessed(y))}</div>'
           if grid.n_assessed(y) not in (0, len(cset)) else "") + "</td>"
        for y in grid.years)
    rows.append(f'<tr class="total"><th>{_tr("grid.total", lang)}</th>{totals}</tr>')
    caption = (f'<div class="set-title">{_set_name(cset, lang)} — {e(cset.legal_act)} '
               f'({_tr("grid.n_criteria", lang).format(n=len(cset))})</div>')
    return (f'<div class="grid-wrap" data-set="{e(cset.id)}">{caption}<table class="table table-sm table-bordered '
            f'criteria-grid"><thead><tr><th>{_tr("grid.criterion", lang)}</th>{head}</tr></thead>'
            f'<tbody>{"".join(rows)}</tbody></table></div>')


def _grids_html(grids: list[CriteriaGrid], year: int, lang: str) -> str:
    if not grids:
        return f'<p class="muted">{_tr("grid.no_set", lang)}</p>'
    parts = []
    if all(g.n_assessed(y) == 0 for g in grids for y in g.years):
        parts.append(f'<p class="note">{_tr("grid.no_data", lang)}</p>')
    for k, grid in enumerate(grids):
        if k:
            parts.append(f'<p class="set-change">{_tr("grid.set_change", lang).format(year=min(grid.years), n=len(grid.cset), act=e(grid.cset.legal_act.split(",")[0].split(" (")[0]), previous=len(grids[k - 1].cset))}</p>')
        parts.append(_grid_html(grid, year, lang))
    parts.append(f'<p class="legend-line"><span class="ok">✓</span> {_tr("grid.met", lang)} &nbsp; '
                 f'<span class="no">✗</span> {_tr("grid.not_met", lang)} &nbsp; <span class="nd">–</span> '
                 f'{_tr("grid.no_record", lang)} &nbsp; <span class="no lost">✗</span> {_tr("grid.lost", lang)}</p>')
    return "".join(parts)


def _table(headers: list[str], rows: list[list[str]], cls: str = "") -> str:
    head = "".join(f"<th>{h}</th>" for h in headers)
    body = "".join("<tr>" + "".join(f"<td>{c}</td>" for c in row) + "</tr>" for row in rows)
    return f'<table class="table table-sm table-striped {cls}"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'


def _recognitions_html(recs: pd.DataFrame, standing: pd.Series | None, risk: pd.Series | None, year: int,
                       lang: str, merged: str | None) -> str:
    levels = vocab_labels("recognition_levels", lang)
    parts = []
    if standing is not None and isinstance(standing.get("level"), str):
        parts.append(f'<p>{_tr("rec.standing", lang).format(year=year)}: <b>{e(levels.get(standing["level"]))}</b> '
                     f'({_tr("rec.since", lang)} {int(standing["recognised_year"])})</p>')
    else:
        parts.append(f'<p>{_tr("rec.standing", lang).format(year=year)}: <b>{_tr("rec.none", lang)}</b></p>')
    if risk is not None:
        parts.append(f'<p class="warn">{_tr("rec.at_risk", lang).format(n=int(risk["n_failing"]), year=year)}: '
                     f'{e(", ".join(f"{n}. {name}" for n, name in zip(risk["failing"], risk["failing_names"])))}</p>')
    if merged:
        parts.append(f'<p class="note">{e(merged)}</p>')
    if recs.empty:
        parts.append(f'<p class="muted">{_tr("rec.no_records", lang)}</p>')
        return "".join(parts)
    rows = []
    for r in recs.to_dict("records"):
        revoked = bool(r["revoked"])
        state = _tr("rec.revoked", lang) if revoked else _tr("rec.in_force", lang)
        if not revoked and not _blank(r["valid_until"]) and str(r["valid_until"]) < f"{year}-12-31":
            state = _tr("rec.expired", lang)
        cset = None
        if not _blank(r["set_id"]):
            try:
                cset = criteria.get_set(str(r["set_id"]))
            except CriteriaError:
                cset = None
        rows.append([str(int(r["year"])), e(levels.get(r["level"], r["level"])), e(r["decision_number"]),
                     _date(r["decision_date"], lang), e(r["issued_by"]), _date(r["valid_until"], lang),
                     e(cset.legal_act.split(",")[0]) if cset else e(r["set_id"]),
                     f'<span class="{"revoked" if revoked else ""}">{state}</span>', e(r["note"])])
    headers = [_tr(f"rec.col.{k}", lang) for k in
               ("year", "level", "decision", "date", "issued_by", "valid_until", "set", "state", "note")]
    parts.append(_table(headers, rows, "recognitions"))
    return "".join(parts)


def _targets_html(df: pd.DataFrame, code: str, year: int, names: dict[str, str], lang: str) -> str:
    if df.empty:
        return f'<p class="muted">{_tr("tg.none", lang)}</p>'
    metrics = targets.metrics()
    rows = []
    for r in df.to_dict("records"):
        spec = metrics.get(r["metric"], {})
        share = spec.get("unit") == "share"
        decimals = len(f"{float(r['value']):.6f}".rstrip("0").split(".")[1])

        def show(v, actual=False):
            if _blank(v):
                return ""
            if share:
                return fmt_num(100 * float(v), 1, lang) + " %"
            return fmt_num(v, max(decimals, 2 if actual and float(v) % 1 else 0), lang)

        value = show(r["value"]) + (f"–{show(r['value_max'])}" if not _blank(r.get("value_max")) else "")
        if not _blank(r.get("baseline_year")):
            value += f' <span class="sub">({_tr("tg.since", lang)} {int(r["baseline_year"])})</span>'
        scope = _tr("tg.this_commune", lang) if r["scope_code"] == code else e(names.get(r["scope_code"], r["scope_code"]))
        if r["scope_code"] != code and not _blank(r.get("n_units")) and r["n_units"]:
            scope += f' <span class="sub">({_tr("tg.n_units", lang).format(n=int(r["n_units"]))})</span>'
        met = r["met"]
        ahead = int(r["data_year"]) < int(r["target_year"])
        if _blank(met):
            verdict = f'<span class="nd">– {_tr("tg.unknown", lang)}</span>'
        elif bool(met):
            verdict = f'<span class="ok">✓ {_tr("tg.met_so_far" if ahead else "tg.met", lang)}</span>'
        else:
            verdict = f'<span class="no">✗ {_tr("tg.not_yet" if ahead else "tg.missed", lang)}</span>'
        if ahead:
            verdict += f' <span class="sub">({_tr("tg.data_of", lang).format(year=int(r["data_year"]))})</span>'
        rows.append([scope, e(spec.get("en" if lang == "en" else "vi", r["metric"])), str(int(r["target_year"])),
                     value, show(r["actual"], True), verdict, e(r.get("source_document"))])
    headers = [_tr(f"tg.col.{k}", lang) for k in ("scope", "metric", "year", "value", "actual", "met", "source")]
    return _table(headers, rows, "targets")


def _plans_html(df: pd.DataFrame, year: int, lang: str) -> str:
    if df.empty:
        return f'<p class="muted">{_tr("plan.none", lang)}</p>'
    outcomes = {k: v[1] if lang == "en" else v[0] for k, v in plans.OUTCOMES.items()}
    actions = {k: v[1] if lang == "en" else v[0] for k, v in plans.ACTIONS.items()}
    summary = []
    for y, part in df.groupby("year", sort=True):
        count = part["outcome"].value_counts()
        summary.append([str(int(y)), str(int(part["action"].eq("achieve").sum())), str(int(count.get("achieved", 0))),
                        str(int(count.get("missed", 0))), str(int(part["action"].eq("maintain").sum())),
                        str(int(count.get("maintained", 0))), str(int(count.get("lost", 0))),
                        str(int(count.get("not_assessed", 0)))])
    keys = ("year", "planned_achieve", "achieved", "missed", "planned_maintain", "maintained", "lost", "not_assessed")
    parts = [_table([_tr(f"plan.col.{k}", lang) for k in keys], summary, "plan-summary")]
    plan_years = sorted({int(y) for y in df["year"]})
    shown = max((y for y in plan_years if y <= year), default=plan_years[0])
    detail = df[df["year"] == shown]
    rows = []
    for r in detail.to_dict("records"):
        def met(v):
            return "–" if _blank(v) else "✓" if bool(v) else "✗"
        cls = {"achieved": "ok", "maintained": "ok", "missed": "no", "lost": "no"}.get(r["outcome"], "nd")
        rows.append([f'{int(r["criterion"])}. {e(r["criterion_name"])}', e(actions.get(r["action"], r["action"])),
                     met(r["met_start"]), met(r["met_end"]), f'<span class="{cls}">{e(outcomes.get(r["outcome"]))}</span>',
                     e(r["document"])])
    parts.append(f'<h3>{_tr("plan.detail", lang).format(year=shown)}</h3>')
    parts.append(_table([_tr(f"plan.col.{k}", lang) for k in ("criterion", "action", "start", "end", "outcome", "document")],
                        rows, "plan-detail"))
    return "".join(parts)


def _villages_html(villages: gpd.GeoDataFrame, lang: str) -> str:
    if villages.empty:
        return f'<p class="muted">{_tr("vil.none", lang)}</p>'
    types = vocab_labels("unit_types", lang)
    levels = vocab_labels("recognition_levels", lang)
    rows = []
    for r in villages.sort_values("name").to_dict("records"):
        level = r.get("level")
        rec = e(levels.get(level, level)) + (f' ({int(r["recognised_year"])})' if not _blank(r.get("recognised_year")) else "") \
            if isinstance(level, str) else _tr("rec.none", lang)
        rows.append([e(r["name"]), e(types.get(r.get("unit_type"), r.get("unit_type"))), rec,
                     fmt_num(r.get("households"), 0, lang), fmt_num(r.get("population"), 0, lang),
                     fmt_num(r.get("poor_households"), 0, lang),
                     _tr("yes", lang) if r.get("extremely_difficult") else ""])
    headers = [_tr(f"vil.col.{k}", lang) for k in ("name", "type", "recognition", "households", "population", "poor", "edk")]
    return _table(headers, rows, "villages")


def _facts_html(facts: list[tuple[str, str]]) -> str:
    return '<table class="table table-sm facts"><tbody>' + "".join(
        f"<tr><th>{k}</th><td>{v}</td></tr>" for k, v in facts if v not in ("", None)) + "</tbody></table>"


_CSS = """
body{font:14px/1.4 system-ui,-apple-system,"Segoe UI",Roboto,"Noto Sans",Arial,sans-serif;background:#f7f7f5;color:#222}
.page{max-width:1400px;margin:0 auto;padding:12px 16px 40px}
header.top{display:flex;flex-wrap:wrap;align-items:baseline;gap:8px 24px;margin-bottom:8px}
header.top h1{font-size:1.5rem;margin:0}.crumbs{color:#555}.crumbs a{color:#1a5d9e}
.tools{margin-left:auto;display:flex;gap:12px;align-items:center}.tools select{padding:2px 4px}
.demo{background:#b30000;color:#fff;padding:4px 10px;font-weight:bold;border-radius:3px;margin:6px 0}
.note{background:#fff8e1;border-left:4px solid #f0b400;padding:6px 10px;margin:8px 0}
.warn{background:#fdecea;border-left:4px solid #d7301f;padding:6px 10px;margin:8px 0}
.muted{color:#777}.sub{font-size:.8em;color:#666}.en{font-size:.8em;color:#666;font-weight:normal}
.layout{display:grid;grid-template-columns:minmax(280px,360px) 1fr;gap:14px;align-items:start}
@media (max-width:900px){.layout{grid-template-columns:1fr}}
section{background:#fff;border:1px solid #ddd;border-radius:4px;padding:10px 14px;margin-top:14px}
section h2{font-size:1.15rem;margin:0 0 8px}section h3{font-size:1rem;margin:12px 0 6px}
.facts th{width:45%;font-weight:600;color:#444}.facts{margin:0}.facts td{overflow-wrap:anywhere}
.criteria-grid{width:auto;min-width:50%;font-size:13px}.criteria-grid td{text-align:center;min-width:46px}
.criteria-grid th.crit{font-weight:normal;min-width:260px}.criteria-grid tr.grp td{background:#eef2f7;font-weight:600;text-align:left}
.criteria-grid th.sel,.criteria-grid td.sel{border-left:2px solid #1a5d9e;border-right:2px solid #1a5d9e}
.criteria-grid th.sel{background:#1a5d9e;color:#fff}
td.ok,span.ok{color:#1a7f37;font-weight:bold}td.no,span.no{color:#c62828;font-weight:bold}td.nd,span.nd{color:#888}
td.ok{background:#e8f5e9}td.no{background:#fdecea}td.lost{background:#f8c4c0;box-shadow:inset 0 0 0 2px #c62828}
tr.total td,tr.total th{font-weight:bold;background:#fafafa}
.set-title{font-weight:600;margin:6px 0}.set-change{border-top:3px double #1a5d9e;padding-top:8px;margin-top:14px;font-weight:600;color:#1a5d9e}
.legend-line{font-size:.85em;color:#444}.revoked{color:#c62828;text-decoration:line-through}
.ntm-legend{background:#fff;padding:6px 8px;border:1px solid #999;border-radius:4px;font:12px/1.35 sans-serif;max-height:360px;overflow:auto}
.ntm-legend summary{font-weight:bold;cursor:pointer}.ntm-legend .lg-h{font-weight:bold;margin-top:4px}.ntm-legend .sw{display:inline-block;width:14px;height:14px;margin-right:6px;vertical-align:-2px}
.ntm-legend .sw.line{height:0;width:22px;vertical-align:3px}
.ntm-label{background:transparent;border:0;box-shadow:none;font:11px sans-serif;color:#111;text-shadow:0 0 3px #fff,0 0 3px #fff}
.ntm-label:before{display:none}.ntm-pop table{font-size:12px}.ntm-pop th{padding-right:8px;color:#555;font-weight:600}
.folium-map{border:1px solid #bbb;border-radius:4px}
"""


def _year_form(years: list[int], year: int, lang: str) -> str:
    options = "".join(f'<option value="{y}"{" selected" if y == year else ""}>{y}</option>' for y in years)
    hidden = '<input type="hidden" name="lang" value="en">' if lang == "en" else ""
    return (f'<form method="get" class="year-form"><label>{_tr("year", lang)} <select name="year" '
            f'onchange="this.form.submit()">{options}</select></label>{hidden}<noscript><button>OK</button></noscript></form>')


def not_found_html(code: str, lang: str = "vi", *, level: str | None = None) -> str:
    """A small 404 page for browsers: what was asked, why it is missing, where to go."""
    lang = lang if lang in LANGS else "vi"
    msg = _tr("not_found.message", lang).format(code=e(code))
    if level:
        msg += " " + _tr("not_found.other_level", lang).format(level=_tr(f"not_found.levels.{level}", lang))
    query = {"district": code} if level == "district" else {}
    query |= {"lang": "en"} if lang == "en" else {}
    return (f'<!DOCTYPE html><html lang="{lang}"><head><meta charset="utf-8"><link rel="icon" href="data:,">'
            f'<title>{_tr("not_found.title", lang)}</title><style>body{{font:15px sans-serif;margin:40px}}</style></head>'
            f'<body><h1>{_tr("not_found.title", lang)}</h1><p class="message">{msg}</p>'
            f'<p><a href="/map{"?" + e(urlencode(query)) if query else ""}">{_tr("back_to_map", lang)}</a></p></body></html>')


# --- the page ---------------------------------------------------------------------------


def _store_years(store: Store) -> list[int]:
    df = store.read_table("status_records", "id IN (SELECT min(id) FROM status_records GROUP BY year)",
                          columns=["year"])
    return sorted({int(y) for y in df["year"]})


def commune_page_html(
    store: Store,
    code: str,
    *,
    year: int | None = None,
    lang: str = "vi",
    offline_js: list | None = None,
    offline_css: list | None = None,
    tiles: str | None = None,
    tiles_attribution: str = "",
) -> str:
    """The commune page as one HTML document.

    Parameters
    ----------
    year
        The year whose recognition, targets, plans and village vintage are shown and
        whose column is highlighted; default the commune's latest year with status
        records (for a unit abolished since, its last year), else the store's latest.
    lang
        "vi" (default) or "en".
    offline_js, offline_css
        folium's resource lists pointing at our own copies (``maps.assets.offline_resources``).
    tiles
        A basemap tile URL; none by default (boundaries on a plain background).

    Raises
    ------
    CommuneNotFound
        Unknown code.
    ParameterError
        ``lang`` or ``year`` out of range.
    """
    if lang not in LANGS:
        raise ParameterError("lang", f"'lang' must be one of {LANGS}, got {lang!r}")
    if year is not None and (isinstance(year, bool) or not 1990 <= int(year) <= 2100):
        raise ParameterError("year", f"'year' must be a year from 1990 to 2100, got {year!r}")
    vintages = find_commune(store, code)
    code = str(vintages["code"].iloc[0])
    own_years = sorted({int(y) for y in store.read_table("status_records", "unit_code = ? AND indicator IS NULL",
                                                         [code], columns=["year"])["year"]})
    store_years = _store_years(store)
    if year is None:
        year = own_years[-1] if own_years else (store_years[-1] if store_years else dt.date.today().year)
        last = _last_valid_year(vintages.iloc[-1])
        if last is not None and year > last:
            year = last
    year = int(year)
    row, valid, day = _pick_vintage(vintages, year)
    district, province = _parents(store, row, day)
    name = display_name(row)
    grids = criteria_grids(store, code, year=year)

    # villages, with their recognition as of the year
    where, params = admin_units.valid_on_sql(day)
    villages = store.read_features("villages", f"({where}) AND parent_code = ?", [*params, code])
    vrec = recognitions.recognition_status(store, year, unit_level="village", scope_code=code) if valid else pd.DataFrame()
    if len(vrec):
        villages = villages.merge(vrec[["unit_code", "level", "recognised_year", "decision_number", "valid_until"]],
                                  left_on="code", right_on="unit_code", how="left")
    else:
        villages = villages.assign(level=None, recognised_year=None, decision_number=None, valid_until=None)
    minx, miny, maxx, maxy = row.geometry.bounds
    pad = _commune_map.NEAR_DEG
    neighbours = store.read_features("communes", f"({where}) AND code <> ?", [*params, code],
                                     bbox=(minx - pad, miny - pad, maxx + pad, maxy + pad))
    query = "?" + urlencode({"lang": "en"}) if lang == "en" else ""
    cmap = _commune_map.build_commune_map(store, row, villages=villages, neighbours=neighbours, lang=lang,
                                          offline_js=offline_js, offline_css=offline_css, tiles=tiles,
                                          tiles_attribution=tiles_attribution, link_query=query)

    # recognition, risk, targets, plans
    recs = store.read_table("recognitions", "unit_code = ? AND unit_level = 'commune'", [code],
                            order_by="year, ifnull(decision_date, ''), id")
    standing = risk = None
    if valid:
        rs = recognitions.recognition_status(store, year, scope_code=code)
        standing = rs.iloc[0] if len(rs) else None
        in_force = next((g.cset for g in grids if year in g.years and g.n_assessed(year)), None)
        if in_force is not None and standing is not None and standing["rank"] >= 1:
            ar = recognitions.at_risk(store, year, in_force.id, scope_code=code)
            risk = ar.iloc[0] if len(ar) else None
    cross = store.read_table("crosswalk", "level = 'commune' AND (old_code = ? OR new_code = ?)", [code, code],
                             order_by="effective_date, id")
    successors, predecessors = cross[cross["old_code"] == code], cross[cross["new_code"] == code]
    merged = None
    if len(predecessors):
        first = predecessors.iloc[0]
        merged = recognitions.merged_unit_recognition(store, code, list(predecessors["old_code"]),
                                                      on=str(first["effective_date"])).reason
    chain = [code, None if district is None else district["code"], None if province is None else province["code"]]
    tg = commune_targets(store, code, year, [c for c in chain if c])
    pl = commune_plans(store, code)
    other = set(cross["old_code"]) | set(cross["new_code"]) | set(c for c in chain if c)
    names = _unit_names(store, other)

    # facts
    types = vocab_labels("unit_types", lang)
    regions = vocab_labels("regions", lang)
    groups = vocab_labels("commune_groups", lang)
    levels = vocab_labels("recognition_levels", lang)
    map_link = ""
    if district is not None:
        q = {"district": district["code"], **({"lang": "en"} if lang == "en" else {})}
        map_link = f'<a href="/map?{e(urlencode(q))}">{e(display_name(district))}</a>'
    sums = {c: villages[c].dropna().sum() if c in villages and villages[c].notna().any() else None
            for c in ("households", "population", "poor_households")}
    km, km_hard = _commune_map.road_km(cmap.infra["roads"], code) if len(cmap.infra["roads"]) else (0.0, 0.0)
    cur = next((g for g in grids if year in g.years), None)
    facts = [
        (_tr("fact.code", lang), e(code) + (f' <span class="sub">(GSO {e(row["gso_code"])})</span>' if not _blank(row["gso_code"]) else "")),
        (_tr("fact.type", lang), e(types.get(row["unit_type"], row["unit_type"]))),
        (_tr("fact.district", lang), map_link),
        (_tr("fact.province", lang), e(display_name(province)) if province is not None else ""),
        (_tr("fact.area", lang), fmt_num(row["area_km2"], 2, lang) + " km²" if not _blank(row["area_km2"]) else ""),
        (_tr("fact.region", lang), e(regions.get(row["region"], row["region"])) if not _blank(row["region"]) else ""),
        (_tr("fact.threshold_region", lang), e(regions.get(row["threshold_region"], row["threshold_region"]))
         if not _blank(row["threshold_region"]) and row["threshold_region"] != row["region"] else ""),
        (_tr("fact.group", lang), e(groups.get(str(int(row["commune_group"])), row["commune_group"]))
         if not _blank(row["commune_group"]) else ""),
        (_tr("fact.extremely_difficult", lang), _tr("yes", lang) if bool(row["extremely_difficult"]) else _tr("no", lang)),
        (_tr("fact.villages", lang), str(len(villages))),
        (_tr("fact.households", lang), fmt_num(sums["households"], 0, lang)),
        (_tr("fact.population", lang), fmt_num(sums["population"], 0, lang)),
        (_tr("fact.poor_households", lang), fmt_num(sums["poor_households"], 0, lang)),
        (_tr("fact.recognition", lang).format(year=year),
         e(levels.get(standing["level"])) + f' ({int(standing["recognised_year"])})'
         if standing is not None and isinstance(standing.get("level"), str) else _tr("rec.none", lang)),
        (_tr("fact.criteria_met", lang).format(year=year),
         f"{cur.n_met(year)}/{len(cur.cset)}" if cur is not None and cur.n_assessed(year) else t("no_data", lang)),
        (_tr("fact.roads", lang), _tr("fact.roads_value", lang).format(
            km=fmt_num(km, 1, lang), hard=fmt_num(km_hard, 1, lang), pct=fmt_num(100 * km_hard / km, 0, lang))
         if km else ""),
        (_tr("fact.validity", lang), " – ".join([_date(row["valid_from"], lang) or "…", _last_day(row["valid_to"], lang)])
         if not (_blank(row["valid_from"]) and _blank(row["valid_to"])) else ""),
        (_tr("fact.source", lang), e(row["source"])),
    ]

    # notes: abolished / merged / not valid in the year
    notes = []
    if not _blank(row["valid_to"]):
        succ = ", ".join(f'<a href="{_link(c, lang)}">{e(names.get(c, c))}</a>' for c in dict.fromkeys(successors["new_code"]))
        acts = "; ".join(dict.fromkeys(e(a) for a in successors["legal_act"]))
        notes.append(_tr("note.abolished", lang).format(date=_date(row["valid_to"], lang))
                     + (" " + _tr("note.successor", lang).format(units=succ, act=acts) if succ else ""))
    if len(predecessors):
        pred = ", ".join(f'<a href="{_link(c, lang)}">{e(names.get(c, c))}</a>' for c in dict.fromkeys(predecessors["old_code"]))
        notes.append(_tr("note.formed_from", lang).format(
            units=pred, date=_date(predecessors["effective_date"].iloc[0], lang),
            act="; ".join(dict.fromkeys(e(a) for a in predecessors["legal_act"]))))
    if not valid:
        notes.append(_tr("note.not_valid_in_year", lang).format(year=year))

    # assemble
    fig = cmap.fmap.get_root()
    fig.render()
    head, map_div, script = fig.header.render(), fig.html.render(), fig.script.render()
    years = sorted({*store_years, *own_years, year})
    other_lang = "en" if lang == "vi" else "vi"
    switch = f'<a href="{_link(code, other_lang, year)}">{_tr("switch_lang", lang)}</a>'
    label = store.meta().get("label", "")
    demo = f'<div class="demo">{e(label or t("demo_banner", lang))}</div>' if store.meta().get("demo") == "1" else ""
    crumbs = " › ".join(x for x in (
        e(display_name(province)) if province is not None else "", map_link, e(name)) if x)
    sections = [
        ("criteria", _tr("sec.criteria", lang), _grids_html(grids, year, lang)),
        ("recognitions", _tr("sec.recognitions", lang),
         _recognitions_html(recs, standing, risk, year, lang, merged)),
        ("targets", _tr("sec.targets", lang).format(year=year), _targets_html(tg, code, year, names, lang)),
        ("plans", _tr("sec.plans", lang), _plans_html(pl, year, lang)),
        ("villages", _tr("sec.villages", lang).format(n=len(villages)), _villages_html(villages, lang)),
    ]
    body = "".join(f'<section id="{sid}"><h2>{title}</h2>{content}</section>' for sid, title, content in sections)
    return (
        f'<!DOCTYPE html><html lang="{lang}"><head><meta charset="utf-8"><link rel="icon" href="data:,">'
        f"<title>{e(name)} — {_tr('title', lang)}</title>{head}<style>{_CSS}</style></head><body>"
        f'<div class="page" data-code="{e(code)}" data-year="{year}">'
        f'<header class="top"><h1>{e(name)}</h1><div class="crumbs">{crumbs}</div>'
        f'<div class="tools">{_year_form(years, year, lang)}{switch}</div></header>{demo}'
        + "".join(f'<p class="note">{n}</p>' for n in notes)
        + f'<div class="layout"><div>{_facts_html(facts)}</div><div class="map-wrap">{map_div}</div></div>'
        f"{body}</div><script>{script}</script></body></html>"
    )


def _unit_names(store: Store, codes) -> dict[str, str]:
    """Code -> full name (latest vintage) over every admin level."""
    codes = sorted({c for c in codes if isinstance(c, str)})
    out: dict[str, str] = {}
    if not codes:
        return out
    for table in ("provinces", "districts", "communes", "villages"):
        df = store.read_table(table, "code IN (SELECT value FROM json_each(?))", [json.dumps(codes)],
                              columns=["code", "name", "full_name"], order_by="ifnull(valid_from, '')")
        out |= {c: (f if isinstance(f, str) and f else n) for c, n, f in zip(df["code"], df["name"], df["full_name"])}
    return out
