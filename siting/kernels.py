"""Compile the numba kernels ahead of the first run, and tell whether a run will compile them.

Every kernel of siting is ``numba.njit(cache=True)``: its first call in an environment compiles
it to machine code and stores that in numba's cache (``__pycache__`` beside the module, or
``$NUMBA_CACHE_DIR``); later processes load it in well under a second. Without a warning the
first run (or a notebook's first solve) just seems to hang for the compile, so:

- ``python -m siting.kernels`` (run by ``make install``) calls each kernel once on a tiny
  input, so the demo and the first notebook solve find them compiled;
- :func:`kernels_compiled` tells the command line whether a run is about to compile, so that it
  can say so before the wait.

Only the compiled cache is touched: nothing here reads or writes siting's own files.
"""

from __future__ import annotations

import importlib
import time
from dataclasses import replace

import numpy as np

#: Seconds quoted in the command line's notice for compiling the kernels a run needs: an
#: estimate with room for a machine whose cores are busy.
COMPILE_TIME_S = 10

#: The kernels every run calls (module, name): the path-loss kernel of the coverage stage (also
#: used for the coverage raster, so a run with a cached coverage matrix compiles it too). The
#: kernels it calls are compiled and cached with it.
RUN_KERNELS = (("siting.coverage", "diffraction_kernel"),)

COMPILING_NOTICE = ("compiling the radio kernels once (about {seconds} s); later runs start at "
                    "once (`make install` compiles them ahead)")


def _cached(dispatcher) -> bool:
    """True when numba's cache holds machine code of ``dispatcher`` for its current source, this
    numba and this CPU: numba's own index check (a stale index reads as empty), asked ahead of
    the call."""
    cache = dispatcher._cache
    index = cache._cache_file._load_index()
    _, machine, code = cache._index_key(None, dispatcher.targetctx.codegen())
    return any(key[1:] == (machine, code) for key in index)


def kernels_compiled() -> bool:
    """Whether a run will find every kernel of :data:`RUN_KERNELS` compiled in numba's cache.

    The check uses numba's private cache API; if that ever changes (or jit is disabled), it
    answers True: better no notice than a wrong one on every run.
    """
    try:
        return all(_cached(getattr(importlib.import_module(module), name))
                   for module, name in RUN_KERNELS)
    except Exception:  # noqa: BLE001 - an internal API that may move; see the docstring
        return True


def _tiny_terrain():
    """A 12 x 12 cone of 100 m cells: every kernel has something to look at."""
    import pyproj
    from affine import Affine

    from siting.terrain import Terrain

    rows, cols = np.mgrid[0:12, 0:12]
    cone = 300.0 - 20.0 * np.hypot(rows - 6.0, cols - 6.0)
    return Terrain(cone.astype(np.float32), Affine(100.0, 0.0, 0.0, 0.0, -100.0, 1200.0),
                   crs=pyproj.CRS.from_epsg(32649))  # ITU-R P.1812 reads latitudes


def _compile_radio() -> None:
    """Coverage levels with an omni and a three-sector antenna, with ITU-R P.1812 and with ITM,
    a single-site prediction with an empirical model and with ITM, a profile, line of sight, a
    viewshed and the diffraction losses, each on the tiny cone (the types a run passes)."""
    from siting import propagation, terrain
    from siting.config import CoverageSettings, ItmSettings, P1812Settings, Technology
    from siting.coverage import Transmitters, path_levels
    from siting.predict import predict_area

    ground = _tiny_terrain()
    tech = Technology(name="4G", generation="4G", frequency_mhz=1800.0, eirp_dbm=60.0,
                      resource_blocks=100, rsrp_threshold_dbm=-110.0, model="rma_38901",
                      max_range_m=2000.0)
    tx = Transmitters(np.array([250.0]), np.array([250.0]), np.array([30.0]))
    rx_x, rx_y = np.array([950.0, 600.0]), np.array([950.0, 300.0])
    for antenna in ("omni", "three_sector"):
        path_levels(ground, tx, rx_x, rx_y, 1.5, tech, CoverageSettings(antenna=antenna))
    p1812 = replace(tech, model="p1812", p1812=P1812Settings(delta_n=45.0, n0=325.0))
    path_levels(ground, tx, rx_x, rx_y, 1.5, p1812, CoverageSettings())
    path_levels(ground, tx, rx_x, rx_y, 1.5, replace(tech, model="itm", itm=ItmSettings()),
                CoverageSettings())
    distance_m, elevation_m = ground.profile(250.0, 250.0, 950.0, 950.0)
    propagation.deygout_loss(distance_m, elevation_m, 30.0, 1.5, 1800.0)
    propagation.bullington_loss(distance_m, elevation_m, 30.0, 1.5, 1800.0)
    for model in ("rma_38901", "itm"):  # the radial kernels of siting predict
        predict_area(ground, 550.0, 650.0, 30.0, tech, 400.0, model=model)
    dem = ground.elevation_m
    terrain.exact_line_of_sight_many(dem, 100.0, (1, 1), np.array([[10, 10], [6, 6]]), 30.0, 1.5)
    terrain.viewshed(dem, 100.0, (1, 1), 30.0, 1.5)


def _compile_solver() -> None:
    """The set-cover heuristics (greedy, Lagrangian bound, redundancy removal) on a 3 x 3 cover."""
    import scipy.sparse as sp

    from siting.optimize import heuristics

    cover = sp.csr_matrix(np.array([[1, 1, 0], [0, 1, 1], [1, 0, 1]], np.int8))
    cost = np.array([1.0, 2.0, 1.5])
    greedy = heuristics.greedy_set_cover(cover, cost)
    heuristics.lagrangian_set_cover(cover, cost, incumbent=greedy, max_iter=5, rounds=1)
    heuristics.remove_redundant(sp.csc_matrix(cover), cost, np.arange(3))


def compile_kernels() -> float:
    """Call every kernel once so numba compiles and caches it; seconds taken (about 0 when the
    cache was already complete)."""
    start = time.perf_counter()
    _compile_radio()
    _compile_solver()
    return time.perf_counter() - start


def main() -> None:
    """``python -m siting.kernels``: compile ahead and say what it cost."""
    if not kernels_compiled():
        print(f"siting: compiling the numba kernels once (about {COMPILE_TIME_S} s) ...",
              flush=True)
    seconds = compile_kernels()
    print(f"siting: numba kernels compiled and cached ({seconds:.1f} s)")


if __name__ == "__main__":  # pragma: no cover - command line
    main()
