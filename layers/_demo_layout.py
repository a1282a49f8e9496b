"""Where the synthetic provinces go: sizes, positions over Vietnam, regions.

A normal demo is one province around 104.0-104.9°E, 21.9-22.7°N (the Lào Cai / Lai
Châu mountains). Large builds add provinces packed north to south, west to east, inside
a coarse outline of Vietnam (spilling beyond it only if they must), each far enough from
the others that their outlines never overlap.
"""

from __future__ import annotations

import numpy as np
import shapely

__all__ = ["province_sizes", "Placer", "region_of", "calibration"]

FIRST_CENTRE = (104.45, 22.3)
SINGLE_MAX = 250
_GAP_KM = 6.0
# coarse outline of mainland Vietnam (lon, lat), enough to lay provinces north to south
_VIETNAM = shapely.Polygon([
    (102.1, 22.4), (103.0, 22.8), (104.2, 22.9), (105.5, 23.3), (106.6, 22.9), (107.4, 22.3),
    (108.0, 21.5), (106.6, 20.3), (105.9, 19.0), (106.6, 17.4), (107.9, 16.2), (108.9, 15.3),
    (109.3, 13.5), (109.3, 11.8), (108.6, 11.0), (107.0, 10.4), (106.8, 9.6), (105.4, 8.6),
    (104.8, 8.8), (104.8, 10.3), (105.1, 10.9), (106.2, 11.5), (107.5, 12.3), (107.5, 14.5),
    (107.1, 15.8), (106.5, 16.5), (105.6, 18.1), (104.4, 19.0), (104.0, 19.7), (103.2, 20.6),
    (102.2, 21.4),
])


def province_sizes(communes: int, rng) -> list[int]:
    """Communes per province: one province up to SINGLE_MAX, else ~165 each (±15%)."""
    if communes <= SINGLE_MAX:
        return [communes]
    n = max(2, round(communes / 165))
    weights = rng.uniform(0.85, 1.15, n)
    sizes = np.floor(weights / weights.sum() * communes).astype(int)
    sizes[np.argsort(-weights)[: communes - sizes.sum()]] += 1
    return [int(s) for s in sizes]


def region_of(lon: float, lat: float) -> str:
    """Region code (vocabulary 'regions') of a point, by a coarse split of Vietnam."""
    if lat >= 20.3:
        if lon >= 105.6 and lat < 21.3:
            return "dbsh"
        if lon >= 106.6 and lat < 21.6:
            return "dbsh"
        return "tdmnpb"
    if lat >= 16.0:
        return "btb"
    if lat >= 11.5:
        return "dhntb" if lon >= 108.4 else "tn"
    return "dnb" if lon >= 106.3 else "dbscl"


def calibration(region: str, first: bool, rng) -> tuple[float, float]:
    """(average criteria in 2021, in 2025) for a province: ~14 -> ~16.8 in the mountains."""
    if first:
        return 14.0, 16.8
    base = {"tdmnpb": 14.0, "btb": 15.5, "tn": 15.0, "dhntb": 15.5, "dbsh": 17.0, "dnb": 16.8, "dbscl": 16.2}[region]
    m21 = float(np.clip(base + rng.normal(0, 0.5), 12.5, 17.8))
    return m21, float(min(18.5, m21 + rng.uniform(2.3, 3.0)))


class Placer:
    """Places provinces (given their extent in km) without overlaps, north to south."""

    def __init__(self):
        self.boxes: list[tuple[float, float, float, float]] = []
        lon = np.arange(101.5, 110.0, 0.05)
        lat = np.arange(23.4, 8.0, -0.05)
        glon, glat = np.meshgrid(lon, lat)  # row by row: north first, then west to east
        self.cand = np.column_stack([glon.ravel(), glat.ravel()])
        self._inside: dict[float, np.ndarray] = {}

    def place(self, half_w_km: float, half_h_km: float) -> tuple[float, float]:
        """Centre (lon, lat) for a province whose outline fits ±half_w_km × ±half_h_km."""
        if not self.boxes:
            centre = FIRST_CENTRE
        else:
            centre = None
            for grow in (0.0, 0.5, 1.0, 2.0, 4.0, 8.0):
                if grow not in self._inside:
                    mask = _VIETNAM.buffer(grow) if grow else _VIETNAM
                    self._inside[grow] = np.flatnonzero(shapely.contains_xy(mask, self.cand[:, 0], self.cand[:, 1]))
                cand = self.cand[self._inside[grow]]
                ok = self._free(cand, half_w_km, half_h_km)
                if ok.any():
                    centre = tuple(cand[np.flatnonzero(ok)[0]])
                    break
            if centre is None:
                raise RuntimeError("no room left to place another demo province")
        self.boxes.append(self._box(np.array([centre]), half_w_km, half_h_km)[0])
        return float(centre[0]), float(centre[1])

    @staticmethod
    def _box(centres, half_w_km, half_h_km):
        dlat = (half_h_km + _GAP_KM / 2) / 110.6
        dlon = (half_w_km + _GAP_KM / 2) / (111.3 * np.cos(np.radians(centres[:, 1])))
        return np.column_stack([centres[:, 0] - dlon, centres[:, 1] - dlat, centres[:, 0] + dlon, centres[:, 1] + dlat])

    def _free(self, centres, half_w_km, half_h_km):
        box = self._box(centres, half_w_km, half_h_km)
        taken = np.array(self.boxes)
        clash = ((box[:, None, 0] < taken[None, :, 2]) & (box[:, None, 2] > taken[None, :, 0])
                 & (box[:, None, 1] < taken[None, :, 3]) & (box[:, None, 3] > taken[None, :, 1]))
        return ~clash.any(axis=1)
