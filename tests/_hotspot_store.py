"""A copy of the demo province with a planted pattern, for hot-spot and map-layer tests.

- indicator ``test.planted`` (2024, communes): 100 in every commune of district D01-03,
  0 in every commune of D01-08, 45–55 elsewhere (50 ± 5 by commune number), so a correct
  Local Moran's I finds hot spots only in D01-03 and cold spots only in D01-08;
- a travel-time raster ``travel_time_health_stations`` on the DEM grid whose minutes
  grow with the row: 0–15 on the top rows … > 120 at the bottom (classes by row band).
"""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import rasterio

from layers import admin_units, indicators_store
from layers.demo import raster_dir_for
from layers.store import Store
from layers.travel_time import write_travel_raster
from layers.zonal import Grid, raster_path

HOT, COLD = "D01-03", "D01-08"
INDICATOR = "test.planted"


def build_hotspot_store(demo_store_path: Path, path: Path) -> Path:
    shutil.copy(demo_store_path, path)
    rasters = raster_dir_for(demo_store_path)
    if rasters.is_dir():
        shutil.copytree(rasters, raster_dir_for(path))
    store = Store(path)
    communes = admin_units.units_table(store, "commune", on=admin_units.year_end(2024))
    values = []
    for code, parent in zip(communes["code"], communes["parent_code"]):
        n = int(code.rsplit("-", 1)[1])
        values.append(100.0 if parent == HOT else 0.0 if parent == COLD else 45.0 + (n * 7) % 11)
    frame = pd.DataFrame({"unit_code": communes["code"], "unit_level": "commune", "name": INDICATOR,
                          "value": values, "unit": "điểm"})
    indicators_store.write_indicators(store, frame, year=2024, params={"planted": True})
    dem_row = store.read_table("rasters", "kind = 'dem'")
    with rasterio.open(raster_path(store, dem_row["path"].iloc[0])) as dem:
        h, w = dem.shape
        rows = np.repeat(np.arange(h, dtype=float)[:, None], w, axis=1)
        minutes = rows / h * 200.0  # 0 at the top … 200 at the bottom
        minutes[:, :5] = np.nan  # a strip without value: transparent on the map
        write_travel_raster(store, "travel_time_health_stations", Grid(minutes, dem.transform, dem.crs),
                            facility="health_stations")
    return path
