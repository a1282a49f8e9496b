"""Who is calling: API keys as FastAPI dependencies, with roles and province scopes.

A key comes in ``Authorization: Bearer <key>`` or ``X-API-Key: <key>``
(``layers.keys`` checks it against the hashed keys in the store).

=========================  ===================================================
dependency                 lets through
=========================  ===================================================
``reader``                 anyone when ``Settings.public_reads`` (the default),
                           else any valid key (viewer, editor, admin)
``editor``                 editor and admin keys
``editor_for(resolve)``    editor keys whose provinces hold the unit(s)
                           ``resolve(request)`` names, and admin keys
``admin``                  admin keys
=========================  ===================================================

No key where one is needed, or a key that is malformed, unknown or revoked: 401 with
``WWW-Authenticate: Bearer``. A valid key without the role or outside its provinces:
403 naming the unit and its province. An unknown unit: 404.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from fastapi import Request

from layers import admin_units, keys
from .errors import ApiError, NotFound

__all__ = [
    "Principal",
    "Unauthorized",
    "principal",
    "reader",
    "editor",
    "editor_for",
    "admin",
    "path_unit",
]

REALM = "NTM Atlas"


@dataclass(frozen=True)
class Principal:
    """The holder of a valid key: its name (the audit log's actor), role and provinces."""

    name: str
    role: str
    key_id: str
    scopes: frozenset[str] | None  # None: unrestricted (admin)

    @classmethod
    def from_key(cls, key: keys.ApiKey) -> "Principal":
        scopes = None if key.role == "admin" else frozenset(key.scopes)
        return cls(name=key.name, role=key.role, key_id=key.key_id, scopes=scopes)


class Unauthorized(ApiError):
    """401 with the WWW-Authenticate challenge (RFC 6750)."""

    def __init__(self, description: str, *, invalid: bool = False):
        challenge = f'Bearer realm="{REALM}"' + (', error="invalid_token"' if invalid else "")
        super().__init__(401, description, code="Unauthorized", headers={"WWW-Authenticate": challenge})


def _token(request: Request) -> str | None:
    header = request.headers.get("authorization")
    if header:
        scheme, _, value = header.partition(" ")
        if scheme.lower() != "bearer" or not value.strip():
            raise Unauthorized("Authorization: expected 'Bearer <API key>'", invalid=True)
        return value.strip()
    value = request.headers.get("x-api-key")
    return value.strip() if value else None


def principal(request: Request) -> Principal | None:
    """The caller's key, None when no key was sent; 401 for a bad one."""
    token = _token(request)
    if token is None:
        return None
    key = keys.verify_key(request.app.state.store, token)
    if key is None:
        raise Unauthorized("the API key is not valid (malformed, unknown or revoked); "
                           "ask an administrator for a key ('ntm keys create')", invalid=True)
    return Principal.from_key(key)


def reader(request: Request) -> Principal | None:
    """Reads: public when ``Settings.public_reads``, else any valid key."""
    who = principal(request)
    if who is None and not request.app.state.settings.public_reads:
        raise Unauthorized("reading needs an API key on this server "
                           "(Authorization: Bearer <key> or X-API-Key)")
    return who


def _need_key(request: Request, what: str) -> Principal:
    who = principal(request)
    if who is None:
        raise Unauthorized(f"{what} needs an API key (Authorization: Bearer <key> or X-API-Key)")
    return who


def editor(request: Request) -> Principal:
    """Writes: an editor or admin key (the province check is the caller's, see ``editor_for``)."""
    who = _need_key(request, "writing")
    if who.role not in ("editor", "admin"):
        raise PermissionError(f"key '{who.name}' is a {who.role} key; writing needs an editor or admin key")
    return who


def admin(request: Request) -> Principal:
    """Administration (boundaries, keys): an admin key."""
    who = _need_key(request, "this operation")
    if who.role != "admin":
        raise PermissionError(f"key '{who.name}' is a {who.role} key; this operation needs an admin key")
    return who


def path_unit(request: Request) -> str:
    """The admin unit named by the ``code`` path parameter."""
    return request.path_params["code"]


def editor_for(resolve: Callable[[Request], str | Iterable[str]]):
    """A dependency admitting editors whose provinces hold the units ``resolve`` names.

    Examples
    --------
    >>> @router.put("/communes/{code}/status/{year}")  # doctest: +SKIP
    ... def put(who: Principal = Depends(editor_for(path_unit))): ...
    """

    def dependency(request: Request) -> Principal:
        who = editor(request)
        codes = resolve(request)
        codes = [codes] if isinstance(codes, str) else list(codes)
        store = request.app.state.store
        provinces = keys.unit_provinces(store, codes)
        for code, found in provinces.items():  # a unit without a province may just not exist
            if not found and admin_units.unit_level_of(store, code) is None:
                raise NotFound(f"no administrative unit has code '{code}'")
        if who.scopes is not None:
            keys.check_scope(store, who.scopes, codes, provinces=provinces)
        return who

    return dependency
