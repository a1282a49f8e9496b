"""The synthetic demo store: what every newcomer to NTM Atlas sees first.

``build_demo`` writes a complete, plausible store for one invented mountain province
(Tỉnh Sơn Cước, around Lào Cai / Lai Châu) or, for large ``communes``, for many
provinces over Vietnam: administrative units that tile exactly at every level (with one
commune merger between two vintages), roads, power lines, facilities, DEM and
population rasters, the 2021-2025 criteria history, recognitions, targets, plans and
investment projects. Everything follows the seed; nothing reads the clock.

The build goes to a temporary folder next to the target and is moved into place only
when complete, so a failed build never leaves half a store behind.
"""

from __future__ import annotations

import collections
import concurrent.futures
import logging
import os
import shutil
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from . import _demo_layout, _demo_names, _demo_province
from .store import Store

__all__ = ["DemoSummary", "build_demo", "raster_dir_for", "DEMO_LABEL", "MIN_COMMUNES", "MAX_COMMUNES"]

log = logging.getLogger(__name__)

MIN_COMMUNES = 12
MAX_COMMUNES = 20_000
_MAX_PROVINCES = 200  # seeds spawned: province k gets the same seed whatever the count
DEMO_LABEL = ("DỮ LIỆU MẪU — Tỉnh {name} (tổng hợp, không phải số liệu thật) / "
              "DEMO DATA — synthetic province, not real figures")
DEMO_LABEL_MANY = ("DỮ LIỆU MẪU — {n} tỉnh tổng hợp (không phải số liệu thật) / "
                   "DEMO DATA — {n} synthetic provinces, not real figures")
_FEATURE_ORDER = ("provinces", "districts", "communes", "villages", "roads", "power_lines", "transformers",
                  "health_stations", "schools", "markets", "culture_houses", "projects")
_ROW_ORDER = ("crosswalk", "status_records", "recognitions", "targets", "plans")

Progress = Callable[[str, int, int], None]


@dataclass
class DemoSummary:
    """What ``build_demo`` wrote: row counts per table, raster files, time taken.

    Counts are table rows, so units of both vintages count: the merger adds a commune
    (and its villages under new codes) valid from 2025-01-01.
    """

    path: Path
    counts: dict[str, int]
    rasters: list[Path]
    elapsed_s: float
    provinces: int
    seed: int
    warnings: list[str] = field(default_factory=list)

    @property
    def communes(self) -> int:
        return self.counts.get("communes", 0)

    @property
    def villages(self) -> int:
        return self.counts.get("villages", 0)

    @property
    def roads(self) -> int:
        return self.counts.get("roads", 0)


def raster_dir_for(path: str | os.PathLike) -> Path:
    """Folder of the rasters kept beside a store: var/ntm.gpkg -> var/ntm_rasters."""
    path = Path(path)
    return path.with_name(f"{path.stem}_rasters")


def _check_args(communes, seed) -> None:
    if isinstance(communes, bool) or not isinstance(communes, (int, np.integer)) \
            or not MIN_COMMUNES <= communes <= MAX_COMMUNES:
        raise ValueError(
            f"'communes' must be an integer from {MIN_COMMUNES} to {MAX_COMMUNES}, got {communes!r}"
        )
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"'seed' must be a non-negative integer, got {seed!r}")


def build_demo(
    path: str | os.PathLike,
    *,
    communes: int = 120,
    seed: int = 2024,
    overwrite: bool = False,
    progress: Progress | None = None,
) -> DemoSummary:
    """Build the synthetic demo store at ``path`` (and its rasters beside it).

    Parameters
    ----------
    path
        The GeoPackage to write, e.g. ``var/ntm.gpkg``; rasters go to ``var/ntm_rasters/``.
    communes
        Number of communes (12 to 20,000). Up to 250 make one province; more make
        several provinces of about 165 communes (11,000 is national size).
    seed
        Same seed, same store (tables and geometries); another seed, another province.
    overwrite
        Replace an existing store and raster folder. Without it they are an error.
    progress
        Called as ``progress(step_label, done, total)`` while the build advances.

    Returns
    -------
    DemoSummary

    Raises
    ------
    FileExistsError
        ``path`` (or its raster folder) exists and ``overwrite`` is False.
    ValueError
        ``communes`` or ``seed`` out of range.

    See Also
    --------
    layers.store.Store : the store the demo is written to.

    Examples
    --------
    >>> summary = build_demo("var/ntm.gpkg", communes=24, overwrite=True)  # doctest: +SKIP
    >>> summary.communes  # doctest: +SKIP
    24
    """
    started = time.perf_counter()
    _check_args(communes, seed)
    path = Path(path)
    rasters_final = raster_dir_for(path)
    if not overwrite:
        for existing in (path, rasters_final):
            if existing.exists():
                raise FileExistsError(
                    f"'{existing}' already exists; the demo build will not replace it unless asked "
                    "(overwrite=True, or 'ntm demo build --overwrite')"
                )
    path.parent.mkdir(parents=True, exist_ok=True)
    workdir = Path(tempfile.mkdtemp(prefix=f".{path.name}.build-", dir=path.parent))
    try:
        tmp_store = workdir / path.name
        tmp_rasters = workdir / rasters_final.name
        tmp_rasters.mkdir()
        summary = _build(tmp_store, tmp_rasters, rasters_final.name, int(communes), int(seed), progress)
        _move_into_place(workdir, tmp_store, tmp_rasters, path, rasters_final)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    summary.path = path
    summary.rasters = [rasters_final / p.name for p in summary.rasters]
    summary.elapsed_s = time.perf_counter() - started
    log.info("demo store %s built in %.1f s: %s", path, summary.elapsed_s, summary.counts)
    return summary


def _move_into_place(workdir: Path, tmp_store: Path, tmp_rasters: Path, path: Path, rasters_final: Path) -> None:
    """Swap the finished store and raster folder in; restore the old folder on failure."""
    backup = None
    if rasters_final.exists():
        backup = workdir / "previous_rasters"
        os.replace(rasters_final, backup)
    try:
        os.replace(tmp_rasters, rasters_final)
        os.replace(tmp_store, path)
    except BaseException:
        if rasters_final.exists() and not tmp_rasters.exists():
            os.replace(rasters_final, tmp_rasters)
        if backup is not None:
            os.replace(backup, rasters_final)
        raise


def _build(store_path: Path, raster_dir: Path, raster_folder: str, communes: int, seed: int,
           progress: Progress | None) -> DemoSummary:
    layout_seq, province_family, calib_family = np.random.SeedSequence(seed).spawn(3)
    province_seqs = province_family.spawn(_MAX_PROVINCES)
    calib_seqs = calib_family.spawn(_MAX_PROVINCES)
    sizes = _demo_layout.province_sizes(communes, np.random.default_rng(layout_seq))
    names = _demo_names.province_names(len(sizes))
    many = len(sizes) > 1
    area = 30.0 if many else 50.0
    placer = _demo_layout.Placer()
    store = Store(store_path, create=True)
    total = 2 * len(sizes) + 1
    done = 0
    warnings: list[str] = []
    raster_files: list[Path] = []

    def step(label: str) -> None:
        nonlocal done
        done += 1
        if progress is not None:
            progress(label, done, total)

    def place(k: int, extent) -> dict:
        """Where province k goes, and what follows from that (sequential: no overlaps)."""
        centre = placer.place(*extent)
        region = _demo_layout.region_of(*centre)
        means = _demo_layout.calibration(region, k == 0, np.random.default_rng(calib_seqs[k]))
        return dict(index=k, name=names[k], centre=centre, region=region, means=means,
                    raster_dir=raster_dir, raster_suffix=many, cell=250.0 if many else 100.0, merger=(k == 0))

    def write(k: int, result: _demo_province.ProvinceResult) -> None:
        with store.transaction() as conn:
            for table in _FEATURE_ORDER:
                store.insert_features(conn, table, result.tables[table])
            for table in _ROW_ORDER:
                store.insert_rows(conn, table, result.tables[table])
            store.insert_rows(conn, "rasters", [
                {"name": r["name"], "path": f"{raster_folder}/{r['file']}", "kind": r["kind"],
                 "units": r["units"], "description": r["description"]} for r in result.rasters
            ])
        raster_files.extend(raster_dir / r["file"] for r in result.rasters)
        warnings.extend(result.warnings)
        step(f"D{k + 1:02d} {names[k]}: ghi / written")

    if progress is not None:
        progress(f"D01 {names[0]}: tạo dữ liệu / generating", 0, total)
    if not many:
        tess, rng, extent = _demo_province.start_province(province_seqs[0], sizes[0], area)
        result = _demo_province.finish_province(tess, rng, **place(0, extent))
        step(f"D01 {names[0]}: tạo dữ liệu / generated")
        write(0, result)
    else:
        _pipeline(sizes, area, province_seqs, place, write, step, names)
    label = (DEMO_LABEL_MANY.format(n=len(sizes)) if many else DEMO_LABEL.format(name=names[0]))
    with store.transaction() as conn:
        store.set_meta(conn, "label", label)
        store.set_meta(conn, "demo", "1")
        store.set_meta(conn, "demo_seed", str(seed))
        store.set_meta(conn, "demo_communes", str(communes))
    step("hoàn tất / done")
    counts = {t: store.count(t) for t in _FEATURE_ORDER + _ROW_ORDER + ("rasters",)}
    return DemoSummary(path=store_path, counts=counts, rasters=raster_files, elapsed_s=0.0,
                       provinces=len(sizes), seed=seed, warnings=warnings)


def _pipeline(sizes, area, seqs, place, write, step, names) -> None:
    """Many provinces on two worker threads; this thread places them and writes.

    The heavy work (GEOS through shapely, numpy, PROJ, GDAL) releases the GIL, so two
    threads use both cores without the start-up, pickling and ``__main__`` pitfalls of
    processes. Each province draws from its own seed, so the result is the same as
    building them one by one; placing stays sequential (a province goes where the earlier
    ones left room). At most a few provinces are in flight, so memory stays bounded.
    """
    workers = max(1, min(2, os.cpu_count() or 1))
    pool = concurrent.futures.ThreadPoolExecutor(max_workers=workers, thread_name_prefix="ntm-demo")
    try:
        started = {k: pool.submit(_demo_province.start_province, seqs[k], sizes[k], area)
                   for k in range(min(2, len(sizes)))}
        finishing: collections.deque = collections.deque()
        for k in range(len(sizes)):
            tess, rng, extent = started.pop(k).result()
            finishing.append((k, pool.submit(_demo_province.finish_province, tess, rng, **place(k, extent))))
            del tess, rng
            if k + 2 < len(sizes):
                started[k + 2] = pool.submit(_demo_province.start_province, seqs[k + 2], sizes[k + 2], area)
            while finishing and (len(finishing) > 1 or k == len(sizes) - 1):
                j, future = finishing.popleft()
                result = future.result()
                step(f"D{j + 1:02d} {names[j]}: tạo dữ liệu / generated")
                write(j, result)
                del result
    except BaseException:
        pool.shutdown(wait=True, cancel_futures=True)  # do not finish provinces nobody will write
        raise
    pool.shutdown(wait=True)
