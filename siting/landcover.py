"""Land cover on the terrain grid: each cell's class, its representative clutter height and the
clutter loss of a user terminal standing in it.

A class table maps the raster's codes to a name, a representative clutter height R [m]
(ITU-R P.1812-8 §3.2.1 and Table 2: 0 for water and open land, 10 suburban, 15 urban and
trees/forest, 20 dense urban) and a clutter type of ITU-R P.2108-1 Table 3, which gives the
terminal's loss (:func:`siting.clutter.p2108_terminal_clutter_loss`) with that same R. The
default table, :data:`WORLDCOVER_CLASSES`, reads ESA WorldCover's codes.

The coverage stage uses both: the clutter heights raise the profile between the antennas
(:attr:`siting.terrain.Terrain.surface_m`), and the class at the user replaces the
technology's flat ``clutter_loss_db`` by P.2108's loss.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np

from siting.clutter import P2108_FREQUENCY_RANGE_GHZ, p2108_terminal_clutter_loss

#: Class code of cells without a class (the raster's nodata, or outside it).
NO_CLASS_CODE = -1
#: Name of the class of a point without one (no land cover, nodata): calibration offsets
#: of a scenario without land cover are keyed by it.
NO_CLASS_NAME = "unclassified"


@dataclass(frozen=True)
class LandCoverClass:
    """One land-cover class: the raster's code, a name, the representative clutter height R
    [m] (ITU-R P.1812-8 Table 2) and the ITU-R P.2108-1 Table 3 clutter type at a terminal."""

    code: int
    name: str
    clutter_height_m: float
    p2108_type: str


#: ESA WorldCover 2020/2021 classes (product user manual, Table 1) with the P.1812 clutter
#: height and the P.2108 clutter type nearest to each: trees (and mangroves) 15 m
#: trees/forest; built-up 10 m suburban (villages and towns of two to four storeys); water
#: 0 m water/sea; every low cover 0 m open/rural.
WORLDCOVER_CLASSES = (
    LandCoverClass(10, "tree_cover", 15.0, "trees_forest"),
    LandCoverClass(20, "shrubland", 0.0, "open_rural"),
    LandCoverClass(30, "grassland", 0.0, "open_rural"),
    LandCoverClass(40, "cropland", 0.0, "open_rural"),
    LandCoverClass(50, "built_up", 10.0, "suburban"),
    LandCoverClass(60, "bare_sparse", 0.0, "open_rural"),
    LandCoverClass(70, "snow_ice", 0.0, "open_rural"),
    LandCoverClass(80, "water", 0.0, "water_sea"),
    LandCoverClass(90, "herbaceous_wetland", 0.0, "open_rural"),
    LandCoverClass(95, "mangroves", 15.0, "trees_forest"),
    LandCoverClass(100, "moss_lichen", 0.0, "open_rural"),
)


@dataclass(frozen=True, eq=False)
class LandCover:
    """Class indices on a terrain grid and the class table they index.

    Parameters
    ----------
    class_index : numpy.ndarray
        int16 (rows x cols), the terrain's shape: position of each cell's class in
        ``classes``, ``NO_CLASS_CODE`` (-1) where the cell has none.
    classes : tuple of LandCoverClass
    """

    class_index: np.ndarray
    classes: tuple[LandCoverClass, ...]

    @classmethod
    def of_codes(cls, codes: np.ndarray, classes: tuple[LandCoverClass, ...],
                 nodata: int | None = None) -> LandCover:
        """From a raster of class codes; ``nodata`` cells (and codes of no class) get none."""
        codes = np.asarray(codes)
        index = np.full(codes.shape, NO_CLASS_CODE, np.int16)
        for position, item in enumerate(classes):
            index[codes == item.code] = position
        if nodata is not None:
            index[codes == nodata] = NO_CLASS_CODE
        return cls(index, tuple(classes))

    @cached_property
    def clutter_height_m(self) -> np.ndarray:
        """Representative clutter height R [m] of every cell (float32; 0 without a class)."""
        heights = np.array([c.clutter_height_m for c in self.classes] + [0.0], np.float32)
        return heights[self.class_index]  # index -1 reads the trailing 0

    def index_at(self, row_f, col_f) -> np.ndarray:
        """Class position of the cells nearest continuous pixel coordinates (cell centres at
        integers; the caller keeps them on the grid), -1 where the cell has none."""
        rows, cols = self.class_index.shape
        r = np.clip(np.rint(np.asarray(row_f, float)).astype(np.int64), 0, rows - 1)
        c = np.clip(np.rint(np.asarray(col_f, float)).astype(np.int64), 0, cols - 1)
        return self.class_index[r, c]

    def names_of(self, index: np.ndarray) -> np.ndarray:
        """Class names of class positions (``NO_CLASS_NAME`` for -1), as an object array."""
        names = np.array([c.name for c in self.classes] + [NO_CLASS_NAME], dtype=object)
        return names[np.asarray(index)]

    def terminal_loss_db(self, index: np.ndarray, frequency_mhz: float,
                         h_m: float) -> np.ndarray:
        """ITU-R P.2108-1 §3.1 clutter loss [dB] of a terminal ``h_m`` above ground in each
        class position, with the class's R and clutter type and the default street width; NaN
        for -1 (no class). Above P.2108's 3 GHz the loss at 3 GHz is used (its upper bound)."""
        f_ghz = min(frequency_mhz / 1000.0, P2108_FREQUENCY_RANGE_GHZ[1])
        per_class = np.array([float(p2108_terminal_clutter_loss(f_ghz, h_m, c.p2108_type,
                                                                 r_m=c.clutter_height_m))
                              for c in self.classes] + [np.nan])
        return per_class[np.asarray(index)]
