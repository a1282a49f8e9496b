"""Uploads: the command line's imports as multipart POSTs, with the same validation.

=======================================  ====================================  ==========
path                                     file types                            key
=======================================  ====================================  ==========
``/uploads/boundaries``                  .gpkg .zip (Shapefile) .geojson .fgb  admin
``/uploads/infrastructure/{layer}``      .gpkg .zip (Shapefile) .geojson .fgb  editor
``/uploads/status``                      .csv .xlsx                            editor
``/uploads/plans``                       .csv .xlsx                            editor
``/uploads/recognitions``                .csv .xlsx                            editor
``/uploads/targets``                     .yaml .yml .csv .xlsx                 editor
=======================================  ====================================  ==========

The form fields are the CLI's options (``level``, ``year``, ``dry_run`` …). An editor may
only write units of its provinces: the import runs in one transaction that is rolled
back, writing nothing, if any unit written lies outside them (403). Bad content gives
422 with every problem located (file, row, column, feature), like the CLI.

Limits, from ``Settings``: the request body (``upload_max_bytes``; 413, checked while the
body streams in, before it is stored); the file type by name and by content (415);
zip archives and XLSX workbooks (which are zips) entry by entry — no absolute paths, no
``..``, no symlinks, no encrypted entries, at most ``upload_max_zip_entries`` entries,
``upload_max_unzipped_bytes`` in all and a compression ratio of
``upload_max_zip_ratio`` (413 for the size limits, 422 for unsafe entries). Entries are
decompressed once, counting real bytes, so a zip whose headers lie is caught too.
Uploaded files live in a temporary folder for the request only.
"""

from __future__ import annotations

import logging
import re
import shutil
import stat
import tempfile
import zipfile
from pathlib import Path, PurePosixPath, PureWindowsPath
from typing import Annotated, Literal

import orjson
from fastapi import APIRouter, Depends, FastAPI, File, Form, Request, UploadFile
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response

from layers import edits
from layers._errors import ImportValidationError, ValidationReport
from layers.vector_io import VectorReadError
from . import auth
from .errors import ApiError, error_response
from .routes_edit import request_id

__all__ = ["router", "include", "ALLOWED_TYPES", "UploadLimit", "check_zip"]

log = logging.getLogger(__name__)

router = APIRouter(prefix="/uploads", tags=["Tải lên / Uploads"])

PREFIX = "/uploads"
_VECTOR = (".gpkg", ".zip", ".geojson", ".json", ".fgb")
_SHEET = (".csv", ".xlsx")
ALLOWED_TYPES: dict[str, tuple[str, ...]] = {
    "boundaries": _VECTOR, "infrastructure": _VECTOR, "status": _SHEET, "plans": _SHEET,
    "recognitions": _SHEET, "targets": (".yaml", ".yml", *_SHEET),
}
# What a zipped vector dataset may hold (Shapefile parts and single-file formats).
_ZIP_MEMBERS = (".shp", ".shx", ".dbf", ".prj", ".cpg", ".qix", ".sbn", ".sbx", ".xml", ".txt",
                ".gpkg", ".geojson", ".json", ".fgb")
_MAGIC = {".gpkg": (b"SQLite format 3\x00", "a GeoPackage (SQLite) file"),
          ".zip": (b"PK\x03\x04", "a zip archive"), ".xlsx": (b"PK\x03\x04", "an XLSX workbook"),
          ".fgb": (b"fgb\x03", "a FlatGeobuf file")}
_TEXT = {".csv", ".geojson", ".json", ".yaml", ".yml"}
_RATIO_FROM = 1024 * 1024  # small entries may compress well without being bombs
_CHUNK = 1024 * 1024
_FORM_OVERHEAD = 1024 * 1024  # multipart boundaries and the other form fields


# --- the body size limit (before anything is stored) -----------------------------------


class _TooLarge(StarletteHTTPException):
    def __init__(self, limit: int):
        super().__init__(413, f"the upload is larger than the limit of {limit:,} bytes "
                              "(Settings.upload_max_bytes, NTM_UPLOAD_MAX_BYTES)")


class UploadLimit:
    """ASGI middleware refusing upload bodies above a size, while they stream in.

    A declared Content-Length above the limit is answered at once, without reading the
    body; a chunked body is counted and stopped at the limit (FastAPI passes the
    HTTPException raised from ``receive`` to the app's handlers: a JSON 413).
    """

    def __init__(self, app, *, max_bytes: int, prefix: str = PREFIX):
        self.app, self.max_bytes, self.prefix = app, max_bytes, prefix

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or not scope["path"].startswith(self.prefix):
            return await self.app(scope, receive, send)
        length = dict(scope.get("headers") or []).get(b"content-length")
        if length is not None and length.isdigit() and int(length) > self.max_bytes:
            exc = _TooLarge(self.max_bytes - _FORM_OVERHEAD)
            response = error_response(413, "PayloadTooLarge", exc.detail)
            return await response(scope, receive, send)
        seen = 0

        async def limited():
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_bytes:
                    raise _TooLarge(self.max_bytes - _FORM_OVERHEAD)
            return message

        await self.app(scope, limited, send)


# --- file checks ----------------------------------------------------------------------


def _safe_name(filename: str | None) -> str:
    """The file's own name (no folders), reduced to safe characters; its suffix kept."""
    name = PurePosixPath(PureWindowsPath(filename or "").name).name
    name = re.sub(r"[^\w.\-]+", "_", name).strip("._") or "upload"
    return name[-120:]


def _unsupported(name: str, allowed: tuple[str, ...], what: str) -> ApiError:
    return ApiError(415, f"file '{name}': {what}; this upload takes {', '.join(allowed)}",
                    code="UnsupportedMediaType", parameter="file")


def _sniff(path: Path, name: str, allowed: tuple[str, ...]) -> None:
    """Refuse content that is not what the file name says (415)."""
    suffix = Path(name).suffix.lower()
    with path.open("rb") as fh:
        head = fh.read(65536)
    if suffix in _MAGIC:
        magic, what = _MAGIC[suffix]
        if not head.startswith(magic):
            raise _unsupported(name, allowed, f"the content is not {what}")
    elif suffix in _TEXT:
        if b"\x00" in head:
            raise _unsupported(name, allowed, "the content is binary, not text")
        if suffix in (".geojson", ".json") and not head.lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"{"):
            raise _unsupported(name, allowed, "the content is not a GeoJSON object")


def check_zip(path: Path, name: str, *, max_entries: int, max_total: int, max_ratio: int,
              members: tuple[str, ...] | None = None) -> None:
    """Refuse unsafe or oversized zip archives before anything reads them.

    Raises
    ------
    ImportValidationError
        (422) Entries with absolute paths, ``..``, symlinks, encryption, unexpected types,
        a corrupt archive; every bad entry is named.
    ApiError
        (413) Too many entries, too many bytes in all, or a compression ratio of a zip bomb.
    """
    report = ValidationReport()
    try:
        zf = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as exc:
        report.error(f"not a valid zip archive ({exc})", file=name)
        report.raise_if_errors(f"upload '{name}'")
    with zf:
        infos = zf.infolist()
        if len(infos) > max_entries:
            raise ApiError(413, f"file '{name}': {len(infos)} entries in the archive, at most "
                                f"{max_entries} allowed", parameter="file")
        total = 0
        for info in infos:
            entry = info.filename
            parts = re.split(r"[\\/]+", entry)
            where = {"file": name, "feature": entry}
            if entry.startswith(("/", "\\")) or re.match(r"^[A-Za-z]:", entry):
                report.error("absolute path in the archive; entries must be relative", **where)
            if ".." in parts:
                report.error("'..' in an entry path (zip slip); entries must stay inside the archive", **where)
            if stat.S_ISLNK(info.external_attr >> 16):
                report.error("symbolic link in the archive; links are not allowed", **where)
            if info.flag_bits & 0x1:
                report.error("encrypted entry; upload an archive without a password", **where)
            if members is not None and not info.is_dir() and Path(entry).suffix.lower() not in members:
                report.error(f"unexpected file type in the archive; a zipped dataset holds "
                             f"{', '.join(members)}", **where)
            total += info.file_size
            if info.file_size > _RATIO_FROM and info.file_size > max_ratio * max(info.compress_size, 1):
                raise ApiError(413, f"file '{name}': entry '{entry}' expands "
                                    f"{info.file_size / max(info.compress_size, 1):,.0f} times "
                                    f"(limit {max_ratio}); this looks like a zip bomb", parameter="file")
        if total > max_total:
            raise ApiError(413, f"file '{name}': the archive expands to {total:,} bytes, more than the "
                                f"limit of {max_total:,}", parameter="file")
        report.raise_if_errors(f"upload '{name}'")
        # Decompress once, counting real bytes: headers may lie about sizes.
        real = 0
        for info in infos:
            if info.is_dir():
                continue
            try:
                with zf.open(info) as fh:
                    while chunk := fh.read(_CHUNK):
                        real += len(chunk)
                        if real > max_total:
                            raise ApiError(413, f"file '{name}': the archive expands to more than "
                                                f"{max_total:,} bytes", parameter="file")
            except (zipfile.BadZipFile, OSError, EOFError, NotImplementedError) as exc:
                report.error(f"corrupt or unsupported entry ({exc})", file=name, feature=info.filename)
        report.raise_if_errors(f"upload '{name}'")


def _receive(upload: UploadFile, kind: str, folder: Path, settings) -> Path:
    """Store the upload in ``folder`` after checking its size, type and (zip) entries."""
    allowed = ALLOWED_TYPES[kind]
    name = _safe_name(upload.filename)
    suffix = Path(name).suffix.lower()
    if suffix not in allowed:
        raise _unsupported(name, allowed, f"type '{suffix or '(none)'}' is not accepted")
    path = folder / name
    size = 0
    with path.open("wb") as out:
        while chunk := upload.file.read(_CHUNK):
            size += len(chunk)
            if size > settings.upload_max_bytes:
                raise ApiError(413, f"file '{name}' is larger than the limit of "
                                    f"{settings.upload_max_bytes:,} bytes", parameter="file")
            out.write(chunk)
    if size == 0:
        raise ImportValidationError(f"upload '{name}'", _one_problem("the file is empty", name))
    _sniff(path, name, allowed)
    if suffix in (".zip", ".xlsx"):
        check_zip(path, name, max_entries=settings.upload_max_zip_entries,
                  max_total=settings.upload_max_unzipped_bytes, max_ratio=settings.upload_max_zip_ratio,
                  members=_ZIP_MEMBERS if suffix == ".zip" else None)
    return path


def _one_problem(message: str, name: str) -> ValidationReport:
    report = ValidationReport()
    report.error(message, file=name)
    return report


def _run(request: Request, kind: str, upload: UploadFile, who: auth.Principal, rid: str,
         options: dict, *, source_document: str | None = None) -> Response:
    store, settings = request.app.state.store, request.app.state.settings
    folder = Path(tempfile.mkdtemp(prefix="ntm-upload-"))
    try:
        path = _receive(upload, kind, folder, settings)
        try:
            summary = edits.run_import(store, kind, path, actor=who.name, scope=who.scopes, request_id=rid,
                                       source_document=source_document, **options)
        except VectorReadError as exc:  # unreadable content: an input problem, like the CLI's
            message = str(exc).replace(str(folder) + "/", "")
            raise ImportValidationError(f"upload '{path.name}'", _one_problem(message, path.name)) from None
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    log.info("upload %s '%s' by %s: %s", kind, upload.filename, who.name,
             "dry run" if options.get("dry_run") else f"{summary.get('audit_entries', 0)} audit entries")
    return Response(orjson.dumps(summary), media_type="application/json", headers={"X-Request-ID": rid})


# --- routes ---------------------------------------------------------------------------

_ERRORS = {
    401: {"description": "Thiếu khóa API / missing or invalid API key"},
    403: {"description": "Ngoài phạm vi tỉnh của khóa / outside the key's provinces"},
    413: {"description": "Tệp quá lớn / file or archive too large"},
    415: {"description": "Loại tệp không được nhận / file type not accepted"},
    422: {"description": "Dữ liệu sai, kèm danh sách lỗi / invalid content, with every problem"},
}
Upload = Annotated[UploadFile, File(description="The file to import")]
DryRun = Annotated[bool, Form(description="Validate and report; write nothing")]
Text = Annotated[str | None, Form(max_length=500)]
Editor = Annotated[auth.Principal, Depends(auth.editor)]
Admin = Annotated[auth.Principal, Depends(auth.admin)]
RequestId = Annotated[str, Depends(request_id)]
InfraLayer = Literal["roads", "schools", "health_stations", "culture_houses", "markets", "power_lines",
                     "transformers", "projects"]


@router.post("/boundaries", responses=_ERRORS, summary="Nhập ranh giới / Import boundaries (admin)")
def upload_boundaries(
    request: Request, file: Upload, who: Admin, rid: RequestId,
    level: Annotated[Literal["province", "district", "commune", "village"], Form()],
    layer: Text = None, crs: Text = None, where: Text = None, encoding: Text = None,
    code_field: Text = None, name_field: Text = None, type_field: Text = None,
    parent_code_field: Text = None, gso_code_field: Text = None, default_type: Text = None,
    build_parents: Annotated[bool, Form()] = False, district_code_field: Text = None,
    district_name_field: Text = None, province_code_field: Text = None, province_name_field: Text = None,
    region: Text = None, valid_from: Text = None, valid_to: Text = None,
    sliver_km2: Annotated[float, Form(ge=0, le=1e6)] = 1.0,
    parent_tolerance: Annotated[float, Form(ge=0, le=1)] = 0.02,
    replace: Annotated[bool, Form()] = False, dry_run: DryRun = False,
) -> Response:
    """Administrative boundaries of one level (``ntm import boundaries``)."""
    options = {k: v for k, v in locals().items() if k not in ("request", "file", "who", "rid")}
    return _run(request, "boundaries", file, who, rid, options)


@router.post("/infrastructure/{layer}", responses=_ERRORS,
             summary="Nhập lớp hạ tầng / Import an infrastructure layer")
def upload_infrastructure(
    request: Request, layer: InfraLayer, file: Upload, who: Editor, rid: RequestId,
    source_layer: Text = None, crs: Text = None, where: Text = None, encoding: Text = None,
    field_map: Annotated[list[str] | None, Form(alias="map", description="FIELD=COLUMN (repeatable)")] = None,
    set_id: Annotated[str | None, Form(alias="set", max_length=64)] = None,
    replace: Annotated[bool, Form(description="Replace the whole layer (admin only)")] = False,
    dry_run: DryRun = False,
) -> Response:
    """Roads, schools, … or investment projects (``ntm import infrastructure``)."""
    if replace and who.role != "admin":
        raise PermissionError(f"key '{who.name}': replace deletes the whole layer in every province; "
                              "only an admin key may replace a layer")
    mapping = {}
    for item in field_map or []:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise ApiError(400, f"map: expected FIELD=COLUMN, got {item!r}", parameter="map")
        mapping[key.strip()] = value.strip() or None
    options = {"layer": layer, "source_layer": source_layer, "crs": crs, "where": where, "encoding": encoding,
               "field_map": mapping or None, "replace": replace, "dry_run": dry_run,
               "set_id": set_id if layer == "projects" else None}
    return _run(request, "infrastructure", file, who, rid, options)


@router.post("/status", responses=_ERRORS, summary="Nhập kết quả tiêu chí / Import criteria status")
def upload_status(
    request: Request, file: Upload, who: Editor, rid: RequestId,
    year: Annotated[int | None, Form(ge=2010, le=2035)] = None,
    set_id: Annotated[str | None, Form(alias="set", max_length=64)] = None,
    form: Annotated[Literal["auto", "wide", "long"], Form()] = "auto",
    sheet: Text = None, source_document: Text = None, dry_run: DryRun = False,
) -> Response:
    """A planner's CSV/XLSX of criteria status (``ntm import status``)."""
    options = {"year": year, "set_id": set_id, "form": form, "sheet": sheet, "dry_run": dry_run}
    return _run(request, "status", file, who, rid, options, source_document=source_document)


@router.post("/plans", responses=_ERRORS, summary="Nhập kế hoạch / Import annual plans")
def upload_plans(
    request: Request, file: Upload, who: Editor, rid: RequestId,
    year: Annotated[int | None, Form(ge=2010, le=2035)] = None,
    set_id: Annotated[str | None, Form(alias="set", max_length=64)] = None,
    document: Text = None, dry_run: DryRun = False,
) -> Response:
    """Annual plans per commune and criterion (``ntm import plans``)."""
    options = {"year": year, "set_id": set_id, "document": document, "dry_run": dry_run}
    return _run(request, "plans", file, who, rid, options, source_document=document)


@router.post("/recognitions", responses=_ERRORS, summary="Nhập quyết định công nhận / Import recognitions")
def upload_recognitions(request: Request, file: Upload, who: Editor, rid: RequestId,
                        dry_run: DryRun = False) -> Response:
    """Recognition decisions (``ntm import recognitions``)."""
    return _run(request, "recognitions", file, who, rid, {"dry_run": dry_run})


@router.post("/targets", responses=_ERRORS, summary="Nhập chỉ tiêu / Import targets")
def upload_targets(request: Request, file: Upload, who: Editor, rid: RequestId,
                   source_document: Text = None, dry_run: DryRun = False) -> Response:
    """Targets as YAML, CSV or XLSX (``ntm import targets``)."""
    return _run(request, "targets", file, who, rid, {"dry_run": dry_run}, source_document=source_document)


def include(app: FastAPI) -> None:
    """Mount the upload routes and their body size limit on an app from ``create_app``."""
    limit = app.state.settings.upload_max_bytes + _FORM_OVERHEAD
    app.add_middleware(UploadLimit, max_bytes=limit)
    app.include_router(router)

