"""Read, validate and reproject the inputs of a scenario into one metric CRS.

This is the edge where files become arrays and GeoDataFrames. Every problem is reported as an
:class:`~siting.errors.InputError` naming the file, the layer or record and the field, and
saying what to do; a run never starts on inputs that failed here.

Modules: :mod:`~siting.io.rasters` (DEM, population and land cover), :mod:`~siting.io.layers`
(one vector layer), :mod:`~siting.io.region` (every input of a scenario together), and
:mod:`~siting.io.problems` (gathering problems into one error), :mod:`~siting.io.itu_maps`
(ITU-R P.1812's ΔN and N0 from the user's ITU-R maps).
"""

from siting.io.rasters import (
                               POPULATION_BAND_CELLS,
                               POPULATION_OVERVIEW_PX,
                               PopulationRaster,
                               crs_label_problem,
                               population_overview,
                               read_land_cover,
                               read_population,
                               read_terrain,
                               resolve_crs,
                               utm_crs_for,
)
from siting.io.region import (CANDIDATE_KINDS, EXISTING_KINDS, RegionData, backhaul_in_place,
                              read_region, site_rent_cny_per_year)
from siting.io.itu_maps import region_centre_deg, resolve_itu_maps
from siting.io.asbuilt import (AsBuilt, built_technologies, is_existing, on_as_built_list,
                               read_as_built, with_as_built)

__all__ = ["AsBuilt", "CANDIDATE_KINDS", "EXISTING_KINDS", "POPULATION_BAND_CELLS", "POPULATION_OVERVIEW_PX",
           "PopulationRaster", "RegionData", "backhaul_in_place", "crs_label_problem", "population_overview",
           "built_technologies", "is_existing", "on_as_built_list", "read_as_built", "read_land_cover", "read_population", "read_region", "site_rent_cny_per_year",
           "region_centre_deg", "resolve_itu_maps", "with_as_built", "read_terrain", "resolve_crs", "utm_crs_for"]
