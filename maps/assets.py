"""Front-end assets served by our app so that maps work with no internet.

folium pages load Leaflet, jQuery, Bootstrap and Font Awesome from CDNs. The set-up
command fetches the same packages once from the npm registry (``fetch_vendor``,
checking each tarball's sha512 integrity) into ``vendor_dir()``; pages are then pointed
at ``/static/vendor/...`` (``offline_resources``).
"""

from __future__ import annotations

import base64
import functools
import hashlib
import io
import json
import logging
import os
import shutil
import tarfile
import urllib.request
from pathlib import Path

__all__ = ["vendor_dir", "fetch_vendor", "offline_resources", "missing_assets", "VENDOR_URL_PREFIX"]

log = logging.getLogger(__name__)

MANIFEST = Path(__file__).with_name("vendor.json")
VENDOR_URL_PREFIX = "/static/vendor"
REGISTRY = os.environ.get("NTM_NPM_REGISTRY", "https://registry.npmjs.org")


@functools.cache
def manifest() -> dict:
    return json.loads(MANIFEST.read_text(encoding="utf-8"))


def vendor_dir() -> Path:
    """Where fetched assets live: ``NTM_VENDOR_DIR`` or ``maps/static/vendor``."""
    return Path(os.environ.get("NTM_VENDOR_DIR") or Path(__file__).with_name("static") / "vendor")


def _stamp() -> str:
    return hashlib.sha256(MANIFEST.read_bytes()).hexdigest()


def missing_assets(dest: Path | None = None) -> list[str]:
    """Files the pages need that are not in the vendor folder (empty when ready)."""
    dest = dest or vendor_dir()
    wanted = [*manifest()["js"].values(), *manifest()["css"].values(), *manifest().get("docs", {}).values()]
    return [rel for rel in wanted if not (dest / rel).is_file()]


def fetch_vendor(dest: Path | None = None, *, force: bool = False) -> list[str]:
    """Download the manifest's npm packages and extract the listed files; idempotent.

    Returns the packages fetched (empty when everything was already in place).
    """
    dest = dest or vendor_dir()
    stamp = dest / ".manifest-sha256"
    if not force and stamp.is_file() and stamp.read_text() == _stamp() and not missing_assets(dest):
        return []
    fetched = []
    tmp = dest.with_name(dest.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    for name, spec in manifest()["packages"].items():
        meta = _get_json(f"{REGISTRY}/{name.replace('/', '%2F')}/{spec['version']}")
        data = _get_bytes(meta["dist"]["tarball"])
        _check_integrity(name, data, meta["dist"]["integrity"])
        _extract(data, spec["files"], tmp / name)
        fetched.append(f"{name}@{spec['version']}")
    shutil.rmtree(dest, ignore_errors=True)
    tmp.rename(dest)
    stamp.write_text(_stamp())
    return fetched


def _get_json(url: str) -> dict:
    return json.loads(_get_bytes(url))


def _get_bytes(url: str) -> bytes:
    with urllib.request.urlopen(url, timeout=60) as resp:  # noqa: S310 (https registry)
        return resp.read()


def _check_integrity(name: str, data: bytes, integrity: str) -> None:
    algo, _, expected = integrity.partition("-")
    digest = base64.b64encode(hashlib.new(algo, data).digest()).decode()
    if digest != expected:
        raise RuntimeError(f"npm package {name}: {algo} integrity mismatch, refusing to install it")


def _extract(data: bytes, files: list[str], dest: Path) -> None:
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as tar:
        for member in tar.getmembers():
            if not member.isfile():
                continue
            rel = member.name.split("/", 1)[1] if "/" in member.name else member.name
            if not any(rel == f or (f.endswith("/") and rel.startswith(f)) for f in files):
                continue
            target = (dest / rel).resolve()
            if dest.resolve() not in target.parents:
                raise RuntimeError(f"unsafe path in tarball: {member.name}")
            target.parent.mkdir(parents=True, exist_ok=True)
            with tar.extractfile(member) as src, open(target, "wb") as out:
                shutil.copyfileobj(src, out)


def docs_urls(prefix: str = VENDOR_URL_PREFIX) -> dict[str, str]:
    """URLs of the API docs page's Swagger UI files, served by our app like the map assets."""
    return {key: f"{prefix}/{rel}" for key, rel in manifest().get("docs", {}).items()}


def offline_resources(prefix: str = VENDOR_URL_PREFIX) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """(default_js, default_css) lists for folium pointing at our own copies."""
    m = manifest()
    js = [(name, f"{prefix}/{rel}") for name, rel in m["js"].items()]
    css = [(name, f"{prefix}/{rel}") for name, rel in m["css"].items()]
    return js, css
