"""Editing over HTTP: criteria status, recognitions, targets, and a commune's audit trail.

Every editable resource answers GET with an ``ETag`` (a hash of its current state, see
``layers.edits``); every write needs ``If-Match`` with that ETag (428 without it) and
fails with 412 — writing nothing — when the resource changed in between. The response
to a successful write carries the new ETag, computed in the write's own transaction.

=====================================================  ==============================
path                                                   methods
=====================================================  ==============================
``/communes/{code}/status/{year}``                     GET, PUT (all criteria), PATCH
``/communes/{code}/status/{year}/{criterion}``         GET, PUT
``/communes/{code}/history``                           GET (audit trail, newest first)
``/units/{code}/recognitions``                         GET, POST (a decision)
``/units/{code}/recognitions/{level}/{year}/revoke``   POST
``/units/{code}/targets``                              GET, POST (set, replacing same key)
=====================================================  ==============================

``?set=`` picks the criteria set (default: the set in force that year). Writes need an
editor key whose provinces hold the unit, or an admin key (``api.auth``); an
``X-Request-ID`` header is kept in the audit log and echoed (one is made if absent).
"""

from __future__ import annotations

import re
import uuid
from typing import Annotated

import orjson
from fastapi import APIRouter, Depends, FastAPI, Header, Path, Query, Request
from pydantic import BaseModel, ConfigDict, Field, StrictBool
from starlette.responses import Response

from layers import audit, criteria, edits, recognitions, schema
from . import auth
from .errors import ApiError, NotFound

__all__ = ["router", "include", "request_id"]

router = APIRouter(tags=["Sửa dữ liệu / Editing"])

_ERRORS = {
    401: {"description": "Thiếu hoặc sai khóa API / missing or invalid API key"},
    403: {"description": "Khóa không có quyền với đơn vị này / key not allowed for this unit"},
    404: {"description": "Không có đơn vị, năm hoặc tiêu chí này / no such unit, year or criterion"},
    412: {"description": "Dữ liệu đã thay đổi (ETag cũ) / resource changed since read (stale ETag)"},
    422: {"description": "Dữ liệu gửi lên sai, kèm danh sách lỗi / invalid body, with every problem"},
    428: {"description": "Thiếu If-Match / If-Match required"},
}
_READ_ERRORS = {k: v for k, v in _ERRORS.items() if k in (401, 404)}
_REQUEST_ID = re.compile(r"^[\x21-\x7e]{1,128}$")

Code = Annotated[str, Path(description="Mã đơn vị / unit code", max_length=64)]
Year = Annotated[int, Path(description="Năm đánh giá / assessment year", ge=1900, le=2100)]
SetId = Annotated[str | None, Query(alias="set", max_length=64,
                                    description="Bộ tiêu chí / criteria set id (default: in force that year)")]
IfMatch = Annotated[str | None, Header(description="ETag from the last GET (required for writes)")]
IfNoneMatch = Annotated[str | None, Header(description="ETag you hold: 304 when unchanged")]


# --- bodies ---------------------------------------------------------------------------


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class IndicatorIn(_Body):
    """One sub-indicator (chỉ tiêu) of a criterion."""

    indicator: str = Field(max_length=32, description="e.g. '2.1'")
    met: StrictBool | None = Field(description="true / false; null = no data")
    value: float | None = None
    value_text: str | None = Field(None, max_length=2000)
    note: str | None = Field(None, max_length=2000)
    source_document: str | None = Field(None, max_length=500)


class CellIn(_Body):
    """The status of one criterion: met (đạt) or not, with an optional value and indicators."""

    met: StrictBool | None = Field(description="true = đạt, false = chưa đạt, null = no data")
    value: float | None = None
    value_text: str | None = Field(None, max_length=2000)
    note: str | None = Field(None, max_length=2000)
    source_document: str | None = Field(None, max_length=500, description="Report or decision")
    indicators: list[IndicatorIn] = Field(default_factory=list, max_length=50)


class CriterionIn(CellIn):
    criterion: int = Field(description="Criterion number in the set", ge=1, le=99)


class CommuneYearIn(_Body):
    """Several criteria of a commune-year (PATCH) or all of them (PUT)."""

    source_document: str | None = Field(None, max_length=500,
                                        description="Report the figures come from (for cells naming none)")
    criteria: list[CriterionIn] = Field(min_length=1, max_length=99)


class CellBody(CellIn):
    """One criterion, with the source document for the audit log."""


class RecognitionIn(_Body):
    """A recognition decision (quyết định công nhận)."""

    level: str = Field(max_length=40, description="dat_chuan, nang_cao, kieu_mau, hoan_thanh (or Vietnamese)")
    year: int = Field(ge=1990, le=2100)
    unit_level: str | None = Field(None, max_length=20, description="commune, village, district (inferred)")
    decision_number: str | None = Field(None, max_length=200, description="Số quyết định")
    decision_date: str | None = Field(None, max_length=20, description="YYYY-MM-DD or DD/MM/YYYY")
    issued_by: str | None = Field(None, max_length=300)
    valid_until: str | None = Field(None, max_length=20)
    set_id: str | None = Field(None, max_length=64)
    note: str | None = Field(None, max_length=2000)


class RevokeIn(_Body):
    note: str | None = Field(None, max_length=2000, description="Why (kept on the record)")
    source_document: str | None = Field(None, max_length=500, description="Decision withdrawing it")


class TargetIn(_Body):
    """One target, as in a targets YAML file (layers/data/target_metrics.yaml metrics)."""

    metric: str = Field(max_length=64)
    value: float
    target_year: int | None = None
    baseline_year: int | None = None
    value_max: float | None = None
    threshold: float | None = None
    set_id: str | None = Field(None, max_length=64)
    each_child: bool | None = None
    kind: str | None = Field(None, max_length=64)
    note: str | None = Field(None, max_length=2000)
    source_document: str | None = Field(None, max_length=500)


class TargetsIn(_Body):
    source_document: str | None = Field(None, max_length=500, description="Directive or plan")
    targets: list[TargetIn] = Field(min_length=1, max_length=500)


# --- helpers --------------------------------------------------------------------------


def request_id(request: Request) -> str:
    """The caller's ``X-Request-ID`` (printable, ≤ 128 characters) or a new one."""
    given = request.headers.get("x-request-id")
    return given if given and _REQUEST_ID.match(given) else uuid.uuid4().hex


def _json(body, *, status: int = 200, etag: str | None = None, rid: str | None = None,
          headers: dict | None = None) -> Response:
    out = dict(headers or {})
    if etag:
        out["ETag"] = etag
    if rid:
        out["X-Request-ID"] = rid
    return Response(orjson.dumps(body, option=orjson.OPT_NON_STR_KEYS), status_code=status,
                    media_type="application/json", headers=out)


def _require(if_match: str | None) -> str:
    if not if_match or not if_match.strip():
        raise ApiError(428, "If-Match: writes need the ETag of the resource as you read it "
                            "(GET it first, then send If-Match: <ETag>)", parameter="If-Match")
    return if_match


def _not_modified(if_none_match: str | None, etag: str) -> Response | None:
    if if_none_match and (if_none_match.strip() == "*" or etag in [t.strip() for t in if_none_match.split(",")]):
        return Response(status_code=304, headers={"ETag": etag})
    return None


def _name(store, level: str, code: str) -> str | None:
    df = store.read_table(schema.ADMIN_TABLE[level], "code = ?", [code], columns=["name"],
                          order_by="ifnull(valid_from, '') DESC")
    return None if df.empty else df["name"].iloc[0]


def _status_body(store, code: str, year: int, resource: str, rows: list[dict],
                 only: int | None = None) -> dict:
    """A commune-year (or one criterion) with every criterion of the set, recorded or not."""
    set_id = resource.split("/")[4]
    cset = criteria.get_set(set_id)
    by_number: dict[int, dict] = {}
    for r in rows:
        number = int(r["criterion"])
        item = by_number.setdefault(number, {"indicators": []})
        if r["indicator"] is None:
            item.update({k: v for k, v in r.items() if k not in ("criterion", "indicator")})
        else:
            item["indicators"].append({k: v for k, v in r.items() if k != "criterion"})
    out = []
    for c in cset.criteria:
        if only is not None and c.number != only:
            continue
        rec = by_number.get(c.number, {"indicators": []})
        out.append({"criterion": c.number, "name_vi": c.name_vi, "name_en": c.name_en,
                    "met": rec.get("met"), "value": rec.get("value"), "value_text": rec.get("value_text"),
                    "note": rec.get("note"), "source_document": rec.get("source_document"),
                    "recorded_by": rec.get("recorded_by"), "recorded_at": rec.get("recorded_at"),
                    "record_id": rec.get("id"), "indicators": rec["indicators"]})
    body = {"code": code, "name": _name(store, "commune", code), "year": year, "set_id": set_id,
            "resource": resource}
    if only is None:
        body |= {"n_met": sum(1 for c in out if c["met"] is True),
                 "n_assessed": sum(1 for c in out if c["met"] is not None), "n_total": len(cset)}
        body["criteria"] = out
    else:
        body |= out[0]
    return body


def _written(result: edits.EditResult, body: dict) -> dict:
    return body | {"written": result.written, "unchanged": result.unchanged, "audit_ids": result.audit_ids}


Writer = Annotated[auth.Principal, Depends(auth.editor_for(auth.path_unit))]
Reader = Annotated[auth.Principal | None, Depends(auth.reader)]
RequestId = Annotated[str, Depends(request_id)]


# --- criteria status ------------------------------------------------------------------


@router.get("/communes/{code}/status/{year}", responses=_READ_ERRORS,
            summary="Kết quả tiêu chí của xã trong năm / Commune-year criteria status")
def get_commune_year(request: Request, code: Code, year: Year, _: Reader, set_id: SetId = None,
                     if_none_match: IfNoneMatch = None) -> Response:
    """Every criterion of the set with its current status; the ``ETag`` to send back on writes."""
    store = request.app.state.store
    state = edits.commune_year_state(store, code, year, set_id)
    return _not_modified(if_none_match, state.etag) or _json(
        _status_body(store, code, year, state.resource, state.rows), etag=state.etag)


def _put_commune_year(request, code, year, body: CommuneYearIn, who, set_id, if_match, rid, *, replace):
    store = request.app.state.store
    result = edits.record_commune_year(
        store, code, year, [c.model_dump() for c in body.criteria], set_id=set_id, replace=replace,
        actor=who.name, if_match=_require(if_match), source_document=body.source_document,
        scope=who.scopes, request_id=rid)
    return _json(_written(result, _status_body(store, code, year, result.resource, result.state)),
                 etag=result.etag, rid=rid)


@router.put("/communes/{code}/status/{year}", responses=_ERRORS,
            summary="Ghi toàn bộ tiêu chí của xã trong năm / Replace a commune-year's status")
def put_commune_year(request: Request, code: Code, year: Year, body: CommuneYearIn, who: Writer,
                     rid: RequestId, set_id: SetId = None, if_match: IfMatch = None) -> Response:
    """Record every criterion of the set (met null = no data). Unchanged cells are not re-recorded."""
    return _put_commune_year(request, code, year, body, who, set_id, if_match, rid, replace=True)


@router.patch("/communes/{code}/status/{year}", responses=_ERRORS,
              summary="Ghi một số tiêu chí / Record some criteria of a commune-year")
def patch_commune_year(request: Request, code: Code, year: Year, body: CommuneYearIn, who: Writer,
                       rid: RequestId, set_id: SetId = None, if_match: IfMatch = None) -> Response:
    """Record the listed criteria; the others keep their status. If-Match: the commune-year ETag."""
    return _put_commune_year(request, code, year, body, who, set_id, if_match, rid, replace=False)


@router.get("/communes/{code}/status/{year}/{criterion}", responses=_READ_ERRORS,
            summary="Một tiêu chí / One criterion of a commune-year")
def get_cell(request: Request, code: Code, year: Year, criterion: Annotated[int, Path(ge=1, le=99)],
             _: Reader, set_id: SetId = None, if_none_match: IfNoneMatch = None) -> Response:
    """The criterion's current status and indicators, with its own ``ETag``."""
    store = request.app.state.store
    state = edits.cell_state(store, code, year, criterion, set_id)
    return _not_modified(if_none_match, state.etag) or _json(
        _status_body(store, code, year, state.resource, state.rows, only=criterion), etag=state.etag)


@router.put("/communes/{code}/status/{year}/{criterion}", responses=_ERRORS,
            summary="Ghi một tiêu chí / Record one criterion")
def put_cell(request: Request, code: Code, year: Year, criterion: Annotated[int, Path(ge=1, le=99)],
             body: CellBody, who: Writer, rid: RequestId, set_id: SetId = None,
             if_match: IfMatch = None) -> Response:
    """Record one criterion. If-Match: the ETag of this criterion (GET it first)."""
    store = request.app.state.store
    result = edits.record_cell(store, code, year, criterion, body.model_dump(), set_id=set_id,
                               actor=who.name, if_match=_require(if_match),
                               source_document=body.source_document, scope=who.scopes, request_id=rid)
    return _json(_written(result, _status_body(store, code, year, result.resource, result.state,
                                               only=criterion)), etag=result.etag, rid=rid)


# --- history --------------------------------------------------------------------------


@router.get("/communes/{code}/history", responses=_READ_ERRORS,
            summary="Lịch sử thay đổi của xã / Audit trail of a commune")
def history(request: Request, code: Code, _: Reader,
            limit: Annotated[int, Query(ge=1, le=1000)] = 100,
            offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
            villages: Annotated[bool, Query(description="Include the commune's villages")] = True) -> Response:
    """Every audited change of the commune (and its villages), newest first: who, when, what
    before and after, from which document."""
    store = request.app.state.store
    name = _name(store, "commune", code)
    if name is None:
        raise NotFound(f"no commune has code '{code}'")
    entries, total = audit.history(store, code, villages=villages, limit=limit, offset=offset)
    base = f"/communes/{code}/history?limit={limit}&villages={str(villages).lower()}"
    links = [{"rel": "self", "href": f"{base}&offset={offset}", "type": "application/json"}]
    if offset + len(entries) < total:
        links.append({"rel": "next", "href": f"{base}&offset={offset + limit}", "type": "application/json"})
    if offset:
        links.append({"rel": "prev", "href": f"{base}&offset={max(0, offset - limit)}", "type": "application/json"})
    return _json({"code": code, "name": name, "numberMatched": total, "numberReturned": len(entries),
                  "entries": entries, "links": links})


# --- recognitions ---------------------------------------------------------------------


def _recognitions_body(code: str, rows: list[dict]) -> dict:
    return {"code": code, "resource": f"units/{code}/recognitions", "recognitions": rows}


@router.get("/units/{code}/recognitions", responses=_READ_ERRORS,
            summary="Quyết định công nhận của đơn vị / Recognitions of a unit")
def get_recognitions(request: Request, code: Code, _: Reader, if_none_match: IfNoneMatch = None) -> Response:
    """Every recognition decision of a district, commune or village (revoked ones too)."""
    state = edits.recognitions_state(request.app.state.store, code)
    return _not_modified(if_none_match, state.etag) or _json(_recognitions_body(code, state.rows),
                                                             etag=state.etag)


@router.post("/units/{code}/recognitions", status_code=201, responses=_ERRORS,
             summary="Ghi quyết định công nhận / Record a recognition")
def post_recognition(request: Request, code: Code, body: RecognitionIn, who: Writer, rid: RequestId,
                     if_match: IfMatch = None) -> Response:
    """Record a decision; If-Match: the ETag of the unit's recognitions."""
    fields = body.model_dump(exclude={"level", "year"})
    result = edits.add_recognition(request.app.state.store, code, body.level, body.year, actor=who.name,
                                   if_match=_require(if_match), scope=who.scopes, request_id=rid, **fields)
    out = _recognitions_body(code, result.state) | {"id": result.summary["id"], "audit_ids": result.audit_ids}
    return _json(out, status=201, etag=result.etag, rid=rid,
                 headers={"Location": f"/units/{code}/recognitions"})


@router.post("/units/{code}/recognitions/{level}/{year}/revoke", responses=_ERRORS,
             summary="Thu hồi công nhận / Revoke a recognition")
def revoke(request: Request, code: Code, level: Annotated[str, Path(max_length=40)], year: Year,
           body: RevokeIn, who: Writer, rid: RequestId, if_match: IfMatch = None) -> Response:
    """Mark the standing recognition at this level and year revoked (kept in the record)."""
    if level not in recognitions.LEVEL_RANK:
        raise NotFound(f"level '{level}' is not a recognition level; expected {', '.join(recognitions.LEVEL_RANK)}")
    result = edits.revoke_recognition(request.app.state.store, code, level, year, actor=who.name,
                                      note=body.note, source_document=body.source_document,
                                      if_match=_require(if_match), scope=who.scopes, request_id=rid)
    return _json(_recognitions_body(code, result.state) | {"audit_ids": result.audit_ids},
                 etag=result.etag, rid=rid)


# --- targets --------------------------------------------------------------------------


@router.get("/units/{code}/targets", responses=_READ_ERRORS,
            summary="Chỉ tiêu của đơn vị / Targets of a unit")
def get_targets(request: Request, code: Code, _: Reader, if_none_match: IfNoneMatch = None) -> Response:
    """Every target set for a province, district, commune or village."""
    state = edits.targets_state(request.app.state.store, code)
    return _not_modified(if_none_match, state.etag) or _json(
        {"code": code, "resource": state.resource, "targets": state.rows}, etag=state.etag)


@router.post("/units/{code}/targets", responses=_ERRORS,
             summary="Đặt chỉ tiêu / Set targets (replacing those with the same key)")
def post_targets(request: Request, code: Code, body: TargetsIn, who: Writer, rid: RequestId,
                 if_match: IfMatch = None) -> Response:
    """Set targets of this unit, checked like a targets YAML file; a target with the same
    metric, year, baseline, set and each_child replaces the old one."""
    items = [t.model_dump(exclude_none=True) for t in body.targets]
    result = edits.set_targets(request.app.state.store, code, items, actor=who.name,
                               source_document=body.source_document, if_match=_require(if_match),
                               scope=who.scopes, request_id=rid)
    return _json({"code": code, "resource": result.resource, "targets": result.state,
                  "written": result.written, "replaced": result.summary.get("replaced", 0),
                  "audit_ids": result.audit_ids}, etag=result.etag, rid=rid)


def include(app: FastAPI) -> None:
    """Mount the editing routes on an app made by ``api.app.create_app``."""
    app.include_router(router)
