import numpy as np
import pytest
import shapely

from geo.topology import coverage_gaps, outside_parent, overlap_pairs, remove_small_holes


def km_box(x0, y0, x1, y1):
    return shapely.box(x0 * 1000, y0 * 1000, x1 * 1000, y1 * 1000)


def test_overlap_pairs_measures_area_and_share():
    geoms = [km_box(0, 0, 2, 2), km_box(1.9, 0, 4, 2), km_box(10, 10, 11, 11)]
    pairs = overlap_pairs(geoms)
    assert len(pairs) == 1
    row = pairs.iloc[0]
    assert (row.i, row.j) == (0, 1)
    assert row.area_km2 == pytest.approx(0.2)
    assert row.share == pytest.approx(0.2 / 4)


def test_touching_squares_do_not_overlap():
    assert overlap_pairs([km_box(0, 0, 1, 1), km_box(1, 0, 2, 1)]).empty


def test_coverage_gaps_finds_the_hole_and_its_neighbours():
    ring = [km_box(0, 0, 3, 1), km_box(0, 2, 3, 3), km_box(0, 1, 1, 2), km_box(2, 1, 3, 2)]
    gaps = coverage_gaps(ring)
    assert len(gaps) == 1
    assert gaps.iloc[0].area_km2 == pytest.approx(1.0)
    assert sorted(gaps.iloc[0].neighbours) == [0, 1, 2, 3]
    assert coverage_gaps([km_box(0, 0, 1, 1), km_box(1, 0, 2, 1)]).empty


def test_outside_parent_share():
    res = outside_parent([km_box(0, 0, 2, 1)], [km_box(0, 0, 1.5, 1)])
    assert res.area_km2[0] == pytest.approx(0.5)
    assert res.share[0] == pytest.approx(0.25)


def test_remove_small_holes_keeps_big_ones():
    shell = km_box(0, 0, 10, 10)
    poly = shell.difference(km_box(1, 1, 1.1, 1.1)).difference(km_box(5, 5, 7, 7))
    cleaned = remove_small_holes(poly, 1.0)
    assert cleaned.geom_type == "MultiPolygon"
    assert len(cleaned.geoms[0].interiors) == 1
    assert cleaned.area == pytest.approx(100e6 - 4e6)
    assert np.isclose(remove_small_holes(poly, 5.0).area, 100e6)
