"""Exceptions to HTTP responses, in one place.

Routes raise plain exceptions (the ``layers`` ones subclass builtins) and this module
turns them into a status and a JSON body that names what was wrong: the parameter, the
field, the row or the feature. Users get a safe message; anything unexpected is logged
with its traceback and answered with a generic 500.

=====================================  ======  =================================
exception                              status  body
=====================================  ======  =================================
``ApiError`` (and subclasses)          own     its code, description, parameter
``PreconditionFailed`` (stale ETag)    412     ``etag``: the current one (also a header)
``ImportValidationError``              422     ``problems``: file/row/column/feature
``LookupError`` (KeyError too)         404     ``NotFound``
``PermissionError``                    403     ``Forbidden``
``ValueError``                         400     ``InvalidParameterValue``
``RequestValidationError`` (query)     400     the parameter FastAPI could not read
``RequestValidationError`` (body)      422     the body fields
=====================================  ======  =================================

The body follows the OGC API exception schema (``code``, ``description``) with extra
members: ``status``, and where known ``parameter`` or ``problems``.
"""

from __future__ import annotations

import logging

import orjson
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response

from layers._errors import ImportValidationError
from layers.edits import PreconditionFailed

__all__ = [
    "ApiError",
    "BadParameter",
    "NotFound",
    "STATUS_CODES",
    "add_exception_handlers",
    "error_response",
    "status_for",
]

log = logging.getLogger(__name__)

# Most specific first: the first class an exception is an instance of decides.
STATUS_CODES: tuple[tuple[type[BaseException], int, str], ...] = (
    (PreconditionFailed, 412, "PreconditionFailed"),
    (ImportValidationError, 422, "InvalidInput"),
    (LookupError, 404, "NotFound"),
    (PermissionError, 403, "Forbidden"),
    (ValueError, 400, "InvalidParameterValue"),
)


class ApiError(Exception):
    """An error with its HTTP status chosen by the route.

    Parameters
    ----------
    status
        HTTP status code.
    description
        Message for the user: what was wrong, what was expected, what arrived.
    code
        OGC-style exception code.
    parameter
        The query parameter (or field) at fault, if any.
    headers
        Extra response headers (``WWW-Authenticate``, ``ETag``…).
    """

    def __init__(self, status: int, description: str, *, code: str | None = None,
                 parameter: str | None = None, headers: dict[str, str] | None = None):
        super().__init__(description)
        self.status = status
        self.description = description
        self.code = code or _default_code(status)
        self.parameter = parameter
        self.headers = headers or {}


class BadParameter(ApiError, ValueError):
    """A query parameter that cannot be used: 400 naming it."""

    def __init__(self, parameter: str, description: str):
        super().__init__(400, description, code="InvalidParameterValue", parameter=parameter)


class NotFound(ApiError, LookupError):
    """A resource that does not exist: 404."""

    def __init__(self, description: str):
        super().__init__(404, description, code="NotFound")


def _default_code(status: int) -> str:
    return {400: "InvalidParameterValue", 401: "Unauthorized", 403: "Forbidden", 404: "NotFound",
            405: "MethodNotAllowed", 406: "NotAcceptable", 409: "Conflict",
            412: "PreconditionFailed", 413: "PayloadTooLarge", 415: "UnsupportedMediaType",
            422: "InvalidInput", 428: "PreconditionRequired"}.get(status, "ServerError" if status >= 500 else "Error")


def status_for(exc: BaseException) -> tuple[int, str]:
    """HTTP status and exception code for an exception (500 when not mapped)."""
    if isinstance(exc, ApiError):
        return exc.status, exc.code
    for cls, status, code in STATUS_CODES:
        if isinstance(exc, cls):
            return status, code
    return 500, "ServerError"


def error_response(status: int, code: str, description: str, *, headers: dict | None = None,
                   **extra) -> Response:
    """A JSON error response; ``extra`` members with value None are left out."""
    body = {"code": code, "description": description, "status": status}
    body |= {k: v for k, v in extra.items() if v is not None}
    return Response(orjson.dumps(body), status_code=status, media_type="application/json",
                    headers=headers)


def _message(exc: BaseException) -> str:
    if isinstance(exc, KeyError) and exc.args:
        return str(exc.args[0])  # str(KeyError) adds quotes
    return str(exc) or type(exc).__name__


async def _handle_mapped(request: Request, exc: Exception) -> Response:
    status, code = status_for(exc)
    if status >= 500:
        log.exception("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
        return error_response(500, "ServerError", "internal server error; the details are in the server log")
    problems = etag = None
    headers = getattr(exc, "headers", None) or None
    if isinstance(exc, ImportValidationError):
        problems = [p.as_dict() for p in exc.report.problems]
    if isinstance(exc, PreconditionFailed):  # tell the client the state it must re-read
        etag = exc.current
        headers = {"ETag": exc.current}
    return error_response(status, code, _message(exc), parameter=getattr(exc, "parameter", None),
                          problems=problems, etag=etag, headers=headers)


async def _handle_request_validation(request: Request, exc: RequestValidationError) -> Response:
    errors = list(exc.errors())
    in_body = any(e.get("loc", ("",))[0] == "body" for e in errors)
    first = errors[0] if errors else {}
    loc = [str(p) for p in first.get("loc", ())]
    parameter = loc[-1] if loc else None
    where = " ".join(loc[:1]) + (f" parameter '{parameter}'" if parameter else "")
    got = first.get("input")
    description = f"{where}: {first.get('msg', 'invalid value')}"
    if got is not None and not isinstance(got, (dict, list)):
        description += f", got {str(got)[:200]!r}"
    details = [{"loc": [str(p) for p in e.get("loc", ())], "msg": e.get("msg")} for e in errors]
    if in_body:
        return error_response(422, "InvalidInput", description, parameter=parameter, errors=details)
    return error_response(400, "InvalidParameterValue", description, parameter=parameter, errors=details)


async def _handle_http(request: Request, exc: StarletteHTTPException) -> Response:
    return error_response(exc.status_code, _default_code(exc.status_code), str(exc.detail),
                          headers=getattr(exc, "headers", None))


def add_exception_handlers(app: FastAPI) -> None:
    """Install the mapping on an app (safe to call more than once)."""
    app.add_exception_handler(ApiError, _handle_mapped)
    for cls, _, _ in STATUS_CODES:
        app.add_exception_handler(cls, _handle_mapped)
    app.add_exception_handler(RequestValidationError, _handle_request_validation)
    app.add_exception_handler(StarletteHTTPException, _handle_http)
