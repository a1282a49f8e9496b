"""Tessellation of one synthetic province: districts, communes and villages that tile.

Everything is built in a local metric frame (metres, origin at the province centre):

1. A jittered hexagonal lattice of commune sites; its Voronoi cells are grown from the
   centre under a noisy star-shaped radius until the province has its communes.
2. The central cell is split into wards (phường) of the provincial city; the other cells
   are grown into contiguous districts; every commune cell is split into villages
   (Voronoi of relaxed sites, clipped to the convex commune cell).
3. The noded set of all village borders is taken once; each segment meanders inside the
   two triangles it forms with the sites on either side ("noisy edges", so curves never
   cross), then every vertex moves by one smooth warp whose Jacobian stays well below 1
   (a homeomorphism: shared borders stay shared, polygons valid); the lines are re-noded
   and polygonized. Villages are the faces; communes, districts and the province are
   coverage unions of their children, so every level tiles the next exactly.
"""

from __future__ import annotations

import heapq
from dataclasses import dataclass, field

import numpy as np
import shapely
from scipy.spatial import Delaunay

__all__ = ["Warp", "Tessellation", "tessellate", "subdivide", "to_multi"]

GRID = 0.01  # snap-rounding grid (m) for noding the border network


@dataclass
class _Field:
    """d(p) = sum_k A_k cos(w_k . p + phi_k), per axis."""

    wave: np.ndarray  # (K, 2) wave vectors, rad / m
    amp: np.ndarray  # (K, 2) amplitudes (m) of the x and y displacement
    phase: np.ndarray  # (K, 2)

    def displacement(self, xy: np.ndarray) -> np.ndarray:
        # element-wise arithmetic only (no BLAS): a point moves to bit-identical
        # coordinates whichever array it comes in, so lines and borders meet exactly
        x, y = xy[:, 0], xy[:, 1]
        out = np.zeros_like(xy, dtype=float)
        for k in range(len(self.wave)):
            arg = x * self.wave[k, 0] + y * self.wave[k, 1]
            out[:, 0] += self.amp[k, 0] * np.cos(arg + self.phase[k, 0])
            out[:, 1] += self.amp[k, 1] * np.cos(arg + self.phase[k, 1])
        return out

    def max_slope(self, xy: np.ndarray, chunk: int = 100_000) -> float:
        """Largest operator norm of the Jacobian of d at the points ``xy``."""
        best = 0.0
        for start in range(0, len(xy), chunk):
            arg = xy[start : start + chunk] @ self.wave.T
            jac = np.empty((len(arg), 2, 2))
            for axis in (0, 1):
                jac[:, axis, :] = (-np.sin(arg + self.phase[:, axis]) * self.amp[:, axis]) @ self.wave
            frob = (jac**2).sum(axis=(1, 2))
            det = jac[:, 0, 0] * jac[:, 1, 1] - jac[:, 0, 1] * jac[:, 1, 0]
            norm = np.sqrt((frob + np.sqrt(np.maximum(frob**2 - 4 * det**2, 0))) / 2)
            best = max(best, float(norm.max()))
        return best


@dataclass
class Warp:
    """A smooth deterministic warp p -> p + d(p), composed of a few displacement fields.

    Each field is scaled so that the operator norm of its Jacobian stays at most
    ``max_slope`` (< 1) over the province: each step, hence the composition, is then
    injective (a homeomorphism onto its image), so shared borders stay shared and
    polygons stay valid.
    """

    fields: list[_Field]

    @classmethod
    def random(
        cls,
        rng: np.random.Generator,
        extent: float,
        *,
        bands: tuple[tuple[float, float], ...] = ((12_000.0, 80_000.0), (1_500.0, 12_000.0)),
        modes: int = 16,
        max_slope: float = 0.4,
    ) -> "Warp":
        fields = []
        for lo, hi in bands:
            lam = np.exp(rng.uniform(np.log(lo), np.log(hi), modes))
            theta = rng.uniform(0, 2 * np.pi, modes)
            wave = (2 * np.pi / lam)[:, None] * np.column_stack([np.cos(theta), np.sin(theta)])
            amp = (lam**1.1)[:, None] * rng.rayleigh(1.0, (modes, 2))
            f = _Field(wave, amp, rng.uniform(0, 2 * np.pi, (modes, 2)))
            step = lo / 4  # the Jacobian varies on a scale of lo / (2 pi)
            axis = np.arange(-extent - 2 * step, extent + 2 * step, step)
            gx, gy = np.meshgrid(axis, axis)
            f.amp *= max_slope / f.max_slope(np.column_stack([gx.ravel(), gy.ravel()]))
            fields.append(f)
            extent += float(np.abs(f.amp).sum())  # later fields see displaced points
        return cls(fields)

    def __call__(self, xy: np.ndarray) -> np.ndarray:
        xy = np.asarray(xy, dtype=float)
        for f in self.fields:
            xy = xy + f.displacement(xy)
        return xy

    def apply(self, geoms):
        """Warp shapely geometries (vertex by vertex)."""
        return shapely.transform(geoms, self)


@dataclass
class Tessellation:
    """One province in its local metric frame (warped geometries, unwarped sites)."""

    warp: Warp
    commune_kind: np.ndarray  # 'phuong' | 'thi_tran' | 'xa'
    commune_district: np.ndarray  # district index; 0 is the provincial city
    commune_geom: np.ndarray  # warped Polygon/MultiPolygon per commune
    commune_centre_village: np.ndarray  # index of the village at the commune centre
    commune_adjacency: np.ndarray  # (E, 2) pairs of communes sharing a border
    village_commune: np.ndarray
    village_geom: np.ndarray  # warped polygons
    village_site: np.ndarray  # (m, 2) unwarped centre of each village
    village_cell: np.ndarray  # unwarped convex village cells (for clipping roads)
    commune_cell: np.ndarray  # unwarped commune cells
    district_geom: np.ndarray
    province_geom: shapely.Geometry
    city_commune: int  # the central ward: the provincial city's centre
    town_commune: np.ndarray  # per district: commune at its centre (city: city_commune)
    spacing: float  # commune lattice spacing (m)
    warnings: list[str] = field(default_factory=list)

    @property
    def village_centre(self) -> np.ndarray:
        """Warped village centres (where roads meet and facilities stand)."""
        return self.warp(self.village_site)

    @property
    def commune_centre(self) -> np.ndarray:
        return self.village_centre[self.commune_centre_village]


def to_multi(geoms) -> np.ndarray:
    """Polygons as MultiPolygons (the admin tables' geometry type)."""
    geoms = np.asarray(geoms, dtype=object)
    parts, index = shapely.get_parts(geoms, return_index=True)
    return shapely.multipolygons(parts, indices=index)


def subdivide(cells, counts, rng: np.random.Generator, *, iterations: int = 2):
    """Split convex cells into ``counts`` convex sub-cells that tile them.

    Sites start at random and are relaxed ``iterations`` times (Lloyd), so sub-cells
    vary in size without being slivers. Returns (sub-cells, parent index) ordered by parent.
    """
    cells = np.asarray(cells, dtype=object)
    counts = np.asarray(counts, dtype=int)
    if (counts < 2).any():
        raise ValueError("subdivide needs at least 2 sub-cells per cell")
    points, owner = _random_points_in(cells, counts, rng)
    for it in range(iterations + 1):
        multipoints = shapely.multipoints(points, indices=owner)
        vor = shapely.voronoi_polygons(multipoints, extend_to=cells, ordered=True)
        parts, index = shapely.get_parts(vor, return_index=True)
        if len(parts) != len(points) or not np.array_equal(index, owner):
            raise RuntimeError("Voronoi split lost sites (coincident points)")
        sub = shapely.intersection(parts, cells[index])
        if it < iterations:
            points = shapely.get_coordinates(shapely.centroid(sub))
    return sub, owner


def _random_points_in(cells, counts, rng):
    """``counts[i]`` uniform random points inside each cell (vectorised rejection)."""
    shapely.prepare(cells)
    bounds = shapely.bounds(cells)
    remaining = counts.copy()
    xs, ys, owners = [], [], []
    while remaining.sum():
        owner = np.repeat(np.arange(len(cells)), remaining * 3)
        u = rng.random((len(owner), 2))
        x = bounds[owner, 0] + u[:, 0] * (bounds[owner, 2] - bounds[owner, 0])
        y = bounds[owner, 1] + u[:, 1] * (bounds[owner, 3] - bounds[owner, 1])
        inside = shapely.contains_xy(cells[owner], x, y)
        owner, x, y = owner[inside], x[inside], y[inside]
        first = np.searchsorted(owner, owner)  # owner is sorted: rank within each group
        keep = (np.arange(len(owner)) - first) < remaining[owner]
        xs.append(x[keep])
        ys.append(y[keep])
        owners.append(owner[keep])
        remaining -= np.bincount(owner[keep], minlength=len(cells))
    owner = np.concatenate(owners)
    order = np.argsort(owner, kind="stable")
    points = np.column_stack([np.concatenate(xs), np.concatenate(ys)])[order]
    return points, owner[order]


def _lattice(rng, n_cells: int, area_m2: float):
    """Jittered hexagonal lattice of commune sites and its Voronoi cells and adjacency."""
    spacing = float(np.sqrt(2 * area_m2 / np.sqrt(3)))
    radius = np.sqrt(n_cells * area_m2 / np.pi)
    half = 2.2 * radius + 3 * spacing
    rows = np.arange(-half, half + 1, spacing * np.sqrt(3) / 2)
    cols = np.arange(-half, half + 1, spacing)
    gx, gy = np.meshgrid(cols, rows)
    gx = gx + (np.arange(len(rows)) % 2)[:, None] * spacing / 2
    pts = np.column_stack([gx.ravel(), gy.ravel()])
    r = spacing * 0.3 * np.sqrt(rng.random(len(pts)))
    a = rng.uniform(0, 2 * np.pi, len(pts))
    pts = pts + np.column_stack([r * np.cos(a), r * np.sin(a)])
    frame = shapely.box(-half - 2 * spacing, -half - 2 * spacing, half + 2 * spacing, half + 2 * spacing)
    vor = shapely.voronoi_polygons(shapely.multipoints(pts), extend_to=frame, ordered=True)
    cells = shapely.intersection(shapely.get_parts(vor), frame)
    tri = Delaunay(pts).simplices
    edges = np.concatenate([tri[:, [0, 1]], tri[:, [1, 2]], tri[:, [2, 0]]])
    edges = np.unique(np.sort(edges, axis=1), axis=0)
    return pts, cells, edges, spacing, radius


def _neighbours(n: int, edges: np.ndarray) -> list[list[int]]:
    out: list[list[int]] = [[] for _ in range(n)]
    for a, b in edges:
        out[a].append(int(b))
        out[b].append(int(a))
    return out


def _grow_province(rng, pts, neighbours, n_cells: int, radius: float) -> list[int]:
    """Cells of a province: grown from the centre by a noisy, stretched star radius."""
    angle = rng.uniform(0, np.pi)
    stretch = rng.uniform(0.8, 1.25)
    rot = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    q = pts @ rot
    q[:, 0] /= stretch
    q[:, 1] *= stretch
    theta = np.arctan2(q[:, 1], q[:, 0])
    r_theta = np.ones(len(pts))
    for k in range(2, 8):
        r_theta += rng.uniform(0.02, 0.09) / np.sqrt(k - 1) * np.cos(k * theta + rng.uniform(0, 2 * np.pi))
    rho = np.hypot(q[:, 0], q[:, 1]) / (radius * r_theta)
    start = int(np.argmin(np.hypot(pts[:, 0], pts[:, 1])))
    chosen, seen = [], {start}
    heap = [(rho[start], start)]
    while heap and len(chosen) < n_cells:
        _, c = heapq.heappop(heap)
        chosen.append(c)
        for nb in neighbours[c]:
            if nb not in seen:
                seen.add(nb)
                heapq.heappush(heap, (rho[nb], nb))
    return chosen


def _districts(rng, centroids, neighbours, rural: list[int], n_districts: int) -> dict[int, int]:
    """Contiguous districts of about equal size: k-means seeds, then balanced growth."""
    xy = centroids[rural]
    first = int(rng.integers(len(rural)))
    centres = [xy[first]]
    for _ in range(1, n_districts):  # farthest-point start, then a few k-means steps
        d = np.min(np.linalg.norm(xy[:, None] - np.array(centres)[None], axis=2), axis=1)
        centres.append(xy[int(np.argmax(d))])
    centres = np.array(centres)
    for _ in range(8):
        label = np.argmin(np.linalg.norm(xy[:, None] - centres[None], axis=2), axis=1)
        for k in range(n_districts):
            if (label == k).any():
                centres[k] = xy[label == k].mean(axis=0)
    assign: dict[int, int] = {}
    rural_set = set(rural)
    frontier: list[set[int]] = [set() for _ in range(n_districts)]

    def take(cell: int, k: int) -> None:
        assign[cell] = k
        frontier[k].update(nb for nb in neighbours[cell] if nb in rural_set)

    for k in range(n_districts):
        order = np.argsort(np.linalg.norm(xy - centres[k], axis=1))
        for j in order:
            if rural[j] not in assign:
                take(rural[j], k)
                break
    sizes = np.ones(n_districts)
    while len(assign) < len(rural):
        grown = False
        for k in np.argsort(sizes, kind="stable"):
            frontier[k] -= assign.keys()
            if frontier[k]:
                nb = min(frontier[k], key=lambda c: (np.linalg.norm(centroids[c] - centres[k]), c))
                take(nb, int(k))
                sizes[k] += 1
                grown = True
                break
        if not grown:
            break
    return assign


def tessellate(
    rng: np.random.Generator, n_communes: int, *, area_km2: float = 50.0
) -> Tessellation:
    """Build the districts, communes and villages of one province (local metric frame).

    The first district (index 0) is the provincial city: ``n_wards`` wards from the
    central cell plus a few peri-urban communes. Exactly ``n_communes`` communes result.
    """
    n_wards = int(np.clip(round(n_communes * 0.05), 3, 8))
    n_city_xa = int(np.clip(round(n_communes * 0.03), 2, 4))
    n_cells = n_communes - n_wards + 1
    pts, cells, edges, spacing, radius = _lattice(rng, n_cells, area_km2 * 1e6)
    neighbours = _neighbours(len(pts), edges)
    chosen = _grow_province(rng, pts, neighbours, n_cells, radius)
    chosen_set = set(chosen)
    centroids = shapely.get_coordinates(shapely.centroid(cells))
    core = chosen[0]
    near = sorted((c for c in neighbours[core] if c in chosen_set),
                  key=lambda c: np.linalg.norm(centroids[c] - centroids[core]))
    city_xa = near[:n_city_xa]
    rural = [c for c in chosen if c != core and c not in city_xa]
    n_rural = max(2, round(len(rural) / 12))
    assign = _districts(rng, centroids, neighbours, rural, n_rural)
    for _ in range(len(rural)):  # cells no seed could reach join a neighbouring district
        missing = [c for c in rural if c not in assign]
        if not missing:
            break
        for c in missing:
            known = [assign[nb] for nb in neighbours[c] if nb in assign]
            if known:
                assign[c] = min(known)
    for c in city_xa + [core]:
        assign[c] = -1
    # --- communes: wards of the city (split core), then city xã, then rural districts ---
    wards, _ = subdivide(cells[[core]], [n_wards], rng, iterations=3)
    commune_cell, kind, district = [], [], []
    ward_order = np.argsort(shapely.distance(shapely.centroid(wards), shapely.points(centroids[core])))
    commune_cell += list(wards[ward_order])
    kind += ["phuong"] * n_wards
    district += [0] * n_wards
    for c in sorted(city_xa, key=lambda c: np.linalg.norm(centroids[c] - centroids[core])):
        commune_cell.append(cells[c])
        kind.append("xa")
        district.append(0)
    for k in range(n_rural):
        members = [c for c in rural if assign.get(c) == k]
        centre = centroids[members].mean(axis=0)
        members.sort(key=lambda c: (np.linalg.norm(centroids[c] - centre), c))
        for j, c in enumerate(members):
            commune_cell.append(cells[c])
            kind.append("thi_tran" if j == 0 else "xa")
            district.append(k + 1)
    commune_cell = np.array(commune_cell, dtype=object)
    kind = np.array(kind)
    district = np.array(district)
    # --- villages ---
    n_villages = np.where(
        kind == "phuong", rng.integers(5, 10, len(kind)),
        np.where(kind == "thi_tran", rng.integers(8, 13, len(kind)), 8 + rng.binomial(7, 0.35, len(kind))),
    )
    village_cell, village_commune = subdivide(commune_cell, n_villages, rng, iterations=2)
    village_site = shapely.get_coordinates(shapely.centroid(village_cell))
    cell_centre = shapely.get_coordinates(shapely.centroid(commune_cell))
    d = np.linalg.norm(village_site - cell_centre[village_commune], axis=1)
    centre_village = np.array([
        np.flatnonzero(village_commune == i)[np.argmin(d[village_commune == i])] for i in range(len(kind))
    ])
    # --- warp, polygonize, label ---
    extent = float(np.abs(shapely.get_coordinates(commune_cell)).max()) + 2 * spacing
    warp = Warp.random(rng, extent)
    village_geom, warnings = _warped_faces(village_cell, village_site, warp, rng)
    commune_geom = np.array([
        shapely.coverage_union_all(village_geom[village_commune == i]) for i in range(len(kind))
    ], dtype=object)
    n_districts = n_rural + 1
    district_geom = np.array([
        shapely.coverage_union_all(commune_geom[district == k]) for k in range(n_districts)
    ], dtype=object)
    province_geom = shapely.coverage_union_all(district_geom)
    town = np.array([
        0 if k == 0 else int(np.flatnonzero((district == k) & (kind == "thi_tran"))[0])
        for k in range(n_districts)
    ])
    return Tessellation(
        warp=warp,
        commune_kind=kind,
        commune_district=district,
        commune_geom=commune_geom,
        commune_centre_village=centre_village,
        commune_adjacency=_adjacency(commune_geom),
        village_commune=village_commune,
        village_geom=village_geom,
        village_site=village_site,
        village_cell=village_cell,
        commune_cell=commune_cell,
        district_geom=district_geom,
        province_geom=province_geom,
        city_commune=0,
        town_commune=town,
        spacing=spacing,
        warnings=warnings,
    )


def _noisy_borders(cells, sites, rng: np.random.Generator, *, step: float = 60.0):
    """The noded borders of convex ``cells``, each segment replaced by a meandering curve.

    A segment (p, q) between the cells of sites s1 and s2 bends only inside the two
    triangles (s1, p, q) and (s2, p, q); these triangles fan-triangulate the convex cells
    from their sites, so curves of different segments cannot cross, every site stays
    inside its cell, and segments on the outline bend inwards only ("noisy edges").
    """
    net = shapely.union_all(shapely.boundary(cells), grid_size=GRID)
    coords, index = shapely.get_coordinates(shapely.get_parts(net), return_index=True)
    same = index[1:] == index[:-1]
    p, q = coords[:-1][same], coords[1:][same]
    length = np.hypot(*(q - p).T)
    keep = length > 0
    p, q, length = p[keep], q[keep], length[keep]
    normal = np.column_stack([-(q - p)[:, 1], (q - p)[:, 0]]) / length[:, None]
    mid = (p + q) / 2
    delta = np.minimum(0.2, length / 10)[:, None]
    tree = shapely.STRtree(cells)
    side = []
    for sign in (1.0, -1.0):
        probe = shapely.points(mid + sign * delta * normal)
        pt, cell = tree.query(probe, predicate="within")
        owner = np.full(len(p), -1)
        owner[pt] = cell
        side.append(owner)
    left, right = side
    n_seg = len(p)
    # a smooth random bridge v(u), v(0) = v(1) = 0, per segment: positive bends towards left
    modes = np.arange(1, 7)
    coef = rng.normal(size=(n_seg, len(modes))) / modes**1.3
    samples = np.clip(np.ceil(length / step).astype(int), 1, 64)
    seg = np.repeat(np.arange(n_seg), samples)
    u = (np.arange(len(seg)) - np.repeat(np.cumsum(samples) - samples, samples)) / samples[seg]
    v = (np.sin(np.pi * u[:, None] * modes) * coef[seg]).sum(axis=1)
    peak = np.zeros(n_seg)
    np.maximum.at(peak, seg, np.abs(v))
    # bend at most ~1/3 of the segment's length, so short segments do not make spikes
    reach = np.fmax(
        np.where(left >= 0, np.hypot(*(sites[np.maximum(left, 0)] - mid).T), np.nan),
        np.where(right >= 0, np.hypot(*(sites[np.maximum(right, 0)] - mid).T), np.nan),
    )
    vmax = np.minimum(rng.uniform(0.15, 0.45, n_seg), 0.35 * length / np.nan_to_num(reach, nan=1.0))
    v *= vmax[seg] / np.where(peak > 0, peak, 1)[seg]
    v = np.where(left[seg] < 0, -np.abs(v), np.where(right[seg] < 0, np.abs(v), v))
    # insert v = 0 where the curve changes side, so each chord stays in one triangle
    nxt_u = np.where(np.r_[seg[1:] == seg[:-1], False], np.r_[u[1:], 1.0], 1.0)
    nxt_v = np.where(np.r_[seg[1:] == seg[:-1], False], np.r_[v[1:], 0.0], 0.0)
    cross = (v * nxt_v) < 0
    u0 = u[cross] + (nxt_u[cross] - u[cross]) * v[cross] / (v[cross] - nxt_v[cross])
    seg = np.concatenate([seg, seg[cross], np.arange(n_seg)])
    u = np.concatenate([u, u0, np.ones(n_seg)])
    v = np.concatenate([v, np.zeros(cross.sum()), np.zeros(n_seg)])
    order = np.lexsort((u, seg))
    seg, u, v = seg[order], u[order], v[order]
    base = p[seg] + u[:, None] * (q - p)[seg]
    apex = np.where((v >= 0)[:, None], sites[np.maximum(left, 0)][seg], sites[np.maximum(right, 0)][seg])
    xy = (1 - np.abs(v))[:, None] * base + np.abs(v)[:, None] * apex
    return shapely.linestrings(xy, indices=seg)


def _warped_faces(cells, labels_xy, warp: Warp, rng: np.random.Generator):
    """Meander and warp the noded borders of ``cells`` and polygonize them: one face per cell."""
    net = warp.apply(_noisy_borders(cells, labels_xy, rng))
    labels_xy = warp(labels_xy)
    net = shapely.union_all(net, grid_size=GRID)
    faces = shapely.get_parts(shapely.polygonize(shapely.get_parts(net)))
    tree = shapely.STRtree(faces)
    cell_idx, face_idx = tree.query(shapely.points(labels_xy), predicate="within")
    if len(np.unique(cell_idx)) != len(cells) or len(np.unique(face_idx)) != len(face_idx):
        raise RuntimeError("warped tessellation lost or merged cells; try another seed")
    out = np.empty(len(cells), dtype=object)
    out[cell_idx] = faces[face_idx]
    warnings = []
    orphan = np.setdiff1d(np.arange(len(faces)), face_idx)
    if len(orphan):  # slivers from chords crossing: give each to its longest-border neighbour
        owner_of_face = np.full(len(faces), -1)
        owner_of_face[face_idx] = cell_idx
        pieces: dict[int, list] = {}
        for f in orphan:
            near = tree.query(faces[f], predicate="touches")
            near = [g for g in near if owner_of_face[g] >= 0]
            if not near:
                continue
            shared = shapely.length(shapely.intersection(faces[f].boundary, shapely.boundary(faces[near])))
            pieces.setdefault(owner_of_face[near[int(np.argmax(shared))]], []).append(faces[f])
        for c, extra in pieces.items():
            out[c] = shapely.coverage_union_all([out[c], *extra])
        warnings.append(f"{len(orphan)} sliver face(s) merged into neighbouring villages")
    return out, warnings


def _adjacency(geoms) -> np.ndarray:
    """Pairs (i < j) of polygons sharing a border longer than 10 m."""
    tree = shapely.STRtree(geoms)
    a, b = tree.query(geoms, predicate="intersects")
    keep = a < b
    a, b = a[keep], b[keep]
    shared = shapely.length(shapely.intersection(shapely.boundary(geoms[a]), shapely.boundary(geoms[b])))
    keep = shared > 10.0
    return np.column_stack([a[keep], b[keep]])
