"""Coverage on a Dask ``distributed`` cluster: the candidates split into chunks, one task each.

Coverage is independent per candidate, so the candidates are cut into chunks of at most
``chunk_size`` that lie close together (:func:`spatial_chunks`) and
:func:`siting.coverage.build_coverage` runs on each chunk on a worker. Each task returns its
matrix as sparse triplets (demand row, chunk-local option, level) plus the demand rows it reached
and their best level; the driver maps every chunk-local option to its global column (options are
ordered by candidate position, then technology, see :func:`siting.coverage.option_table`, and a
chunk keeps its candidates in ascending position, so each candidate's options are consecutive in
both tables), ORs ``in_range`` and takes the maximum best level. The
blocks are put together in chunk order whatever order the tasks finish in, and the result is
exactly (bit for bit) the matrix the in-process :func:`~siting.coverage.build_coverage` gives.

Terrain and demand points are scattered to every worker once (``broadcast=True``); each task
evaluates only the demand points inside the bounding box of its candidates grown by the longest
technology range (the others are out of range). With ``dem_path=`` the terrain is not shipped at
all: each task reads only the window of the (tiled) GeoTIFF covering that box
(:func:`read_terrain_window`), so no worker holds the whole raster. Windowed levels are
bit-identical to the full-raster ones on the demo and test regions; in general they could differ
by the floating-point rounding of the pixel coordinates (see :func:`read_terrain_window`), so
windows are opt-in.

By default a run is cut into about ``TASKS_PER_THREAD`` tasks per worker thread
(:func:`default_chunk_size`): with a handful of large chunks one worker may still be busy with
the last, most expensive chunk long after the others are idle (``benchmarks/coverage_scale.py``
measures the speed-up per chunking).

:func:`client_for` opens the cluster a run asks for: a scheduler address (``Client(address)``),
a local cluster of N single-threaded worker processes, or nothing (in-process).
"""

from __future__ import annotations

import logging
import math
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pyproj
import rasterio
import rasterio.windows
import scipy.sparse as sp

from siting.coverage import CoverageMatrix, build_coverage, option_table
from siting.errors import InputError, SitingError
from siting.sourcecode import code_digest
from siting.terrain import Terrain

__all__ = ["ClusterError", "DemandPoints", "build_coverage_distributed", "check_workers_code",
           "client_for", "default_chunk_size",
           "peak_memory_mb", "read_terrain_window", "spatial_chunks", "terrain_window_bounds",
           "workers_peak_memory_mb"]

#: Columns of the candidate table :func:`~siting.coverage.build_coverage` reads.
_CANDIDATE_COLUMNS = ["antenna_height_m", "technologies"]
#: Default chunking: about this many tasks per worker thread (so that the last tasks to finish
#: leave little idle time), and at most this many candidates per task.
TASKS_PER_THREAD = 8
MAX_CHUNK_SIZE = 200
#: Extra margin [m] around a chunk's reach: a few cells so every profile and bilinear
#: neighbourhood stays inside the window, and a metre so that no pair at exactly the range is lost
#: to rounding in the box test.
_WINDOW_MARGIN_CELLS = 3
_DEMAND_MARGIN_M = 1.0


class ClusterError(SitingError, RuntimeError):
    """The Dask cluster could not compute the coverage: no worker to run it, or a worker that
    died with its share of the work (memory, a killed process) or a lost scheduler."""


@dataclass(frozen=True)
class DemandPoints:
    """The part of :class:`siting.demand.Demand` the coverage stage reads (shipped to workers)."""

    x_m: np.ndarray
    y_m: np.ndarray
    require_5g: np.ndarray

    def __len__(self) -> int:
        return len(self.x_m)

    @classmethod
    def of(cls, demand) -> DemandPoints:
        return cls(np.ascontiguousarray(demand.x_m, np.float64),
                   np.ascontiguousarray(demand.y_m, np.float64),
                   np.ascontiguousarray(demand.require_5g, bool))

    def take(self, rows: np.ndarray) -> DemandPoints:
        return DemandPoints(self.x_m[rows], self.y_m[rows], self.require_5g[rows])


@dataclass(frozen=True)
class _Block:
    """One chunk's coverage: triplets with global rows and chunk-local option columns."""

    n_options: int
    rows: np.ndarray  # int32 demand row
    cols: np.ndarray  # int32 chunk-local option
    values: np.ndarray  # float32 level [dBm]
    reached: np.ndarray  # int64 demand rows within range of an allowed option of the chunk
    best: np.ndarray  # float32 best level on those rows


# ---------------------------------------------------------------------------------------------
# windowed DEM reads


def terrain_window_bounds(x_m, y_m, reach_m: float) -> tuple[float, float, float, float]:
    """(xmin, ymin, xmax, ymax) [m] of the points' bounding box grown by ``reach_m``."""
    x_m = np.asarray(x_m, np.float64)
    y_m = np.asarray(y_m, np.float64)
    return (float(x_m.min()) - reach_m, float(y_m.min()) - reach_m,
            float(x_m.max()) + reach_m, float(y_m.max()) + reach_m)


def read_terrain_window(path: str | Path, crs, bounds: tuple[float, float, float, float],
                        *, margin_cells: int = _WINDOW_MARGIN_CELLS) -> Terrain:
    """The DEM cells covering ``bounds`` (plus ``margin_cells``), clipped to the raster.

    Only the blocks of the GeoTIFF that intersect the window are read. The DEM must already be
    in ``crs``, north-up with square cells (the layout :func:`siting.io.read_terrain` reads
    without warping); anything else raises :class:`~siting.errors.InputError`, as do windows
    that miss the raster, and windows holding nodata cells: :func:`siting.io.read_terrain`
    interpolates voids over the whole raster, which a window cannot reproduce at its edges, so
    the levels would differ from an in-process run's (ship the terrain instead: ``dem_path=None``).

    The window's transform is the raster's shifted by whole cells, so elevations and the
    geometry are the same as in the full raster; pixel coordinates computed from it differ from
    the full raster's only by floating-point rounding (~1e-13 cell), which can move a level by
    one float32 ulp.
    """
    path = Path(path)
    crs = pyproj.CRS.from_user_input(crs)
    with rasterio.open(path) as src:
        t = src.transform
        if src.crs is None or pyproj.CRS.from_user_input(src.crs) != crs:
            raise InputError(f"{path}: windowed DEM reads need the DEM in the run's CRS "
                             f"({crs.to_string()}); reproject it first (gdalwarp -t_srs)")
        if t.b != 0 or t.d != 0 or t.e >= 0 or abs(t.a) != abs(t.e):
            raise InputError(f"{path}: windowed DEM reads need a north-up DEM with square cells")
        cell = t.a
        xmin, ymin, xmax, ymax = bounds
        col0 = max(0, math.floor((xmin - t.c) / cell) - margin_cells)
        col1 = min(src.width, math.ceil((xmax - t.c) / cell) + margin_cells)
        row0 = max(0, math.floor((t.f - ymax) / cell) - margin_cells)
        row1 = min(src.height, math.ceil((t.f - ymin) / cell) + margin_cells)
        if col1 - col0 < 2 or row1 - row0 < 2:
            raise InputError(f"{path}: the window {bounds} does not overlap the DEM "
                             f"{tuple(src.bounds)}")
        window = rasterio.windows.Window(col0, row0, col1 - col0, row1 - row0)
        data = src.read(1, window=window, masked=True)
        # the raster's transform shifted by whole cells (rasterio's window_transform uses the
        # Affine `*` operator that affine 3 deprecates)
        transform = rasterio.Affine(t.a, 0.0, t.c + col0 * t.a, 0.0, t.e, t.f + row0 * t.e)
    elevation = np.ma.filled(data.astype(np.float32), np.nan)
    missing = ~np.isfinite(elevation) | np.ma.getmaskarray(data)
    if missing.any():
        raise InputError(f"{path}: the DEM window {bounds} holds {int(missing.sum())} cell(s) "
                         f"without data; windowed reads need a DEM without nodata (pass "
                         f"dem_path=None to ship the terrain, its voids filled, instead)")
    return Terrain(elevation_m=np.ascontiguousarray(elevation, np.float32), transform=transform,
                   crs=crs)


# ---------------------------------------------------------------------------------------------
# chunks


def spatial_chunks(x_m, y_m, chunk_size: int, *, tile_m: float) -> list[np.ndarray]:
    """Candidate positions cut into chunks of at most ``chunk_size`` that lie close together.

    Candidates are ordered along a boustrophedon (snake) walk over square tiles of ``tile_m``
    (row by row from the north, alternating direction; by position within a tile) and cut into
    consecutive chunks, so a chunk's bounding box, hence its DEM window, stays small. Each chunk
    lists its positions in ascending order. Deterministic: depends on the coordinates only.
    """
    x_m = np.asarray(x_m, np.float64)
    y_m = np.asarray(y_m, np.float64)
    if len(x_m) == 0:
        return []
    tile_m = float(tile_m) if tile_m > 0 else 1.0
    row = np.floor((y_m.max() - y_m) / tile_m).astype(np.int64)
    col = np.floor((x_m - x_m.min()) / tile_m).astype(np.int64)
    snake = np.where(row % 2 == 0, col, -col)
    order = np.lexsort((np.arange(len(x_m)), snake, row))
    return [np.sort(order[s:s + chunk_size]) for s in range(0, len(order), chunk_size)]


def default_chunk_size(n_candidates: int, n_threads: int) -> int:
    """Candidates per task: about :data:`TASKS_PER_THREAD` tasks per worker thread, at most
    :data:`MAX_CHUNK_SIZE` candidates each."""
    per_task = math.ceil(n_candidates / (TASKS_PER_THREAD * max(1, n_threads)))
    return max(1, min(MAX_CHUNK_SIZE, per_task))


# ---------------------------------------------------------------------------------------------
# one task

#: Environment variable holding the number of numba threads a coverage task may use.
NUMBA_THREADS_ENV = "SITING_NUMBA_THREADS"


def _limit_numba_threads() -> None:
    """Cap the calling thread's numba parallelism at ``$SITING_NUMBA_THREADS`` when it is set.

    ``NUMBA_NUM_THREADS`` only counts if it is set before numba is first imported, which a
    worker process may already have done; ``numba.set_num_threads`` applies to the calling
    thread, so it is called in every task.
    """
    value = os.environ.get(NUMBA_THREADS_ENV)
    if not value:
        return
    import numba

    numba.set_num_threads(max(1, min(int(value), numba.config.NUMBA_NUM_THREADS)))



def _coverage_block(terrain: Terrain | None, candidates: pd.DataFrame, demand: DemandPoints,
                    technologies, settings, ue_height_m: float, dem_path: str | None = None,
                    crs_wkt: str | None = None) -> _Block:
    """Coverage of one chunk of candidates (runs on a worker), over the demand points within
    reach of the chunk's bounding box only (the others are out of every candidate's range)."""
    _limit_numba_threads()
    reach = max(float(t.max_range_m) for t in technologies)
    x = candidates.geometry.x.to_numpy()
    y = candidates.geometry.y.to_numpy()
    xmin, ymin, xmax, ymax = terrain_window_bounds(x, y, reach + _DEMAND_MARGIN_M)
    rows_of = np.flatnonzero((demand.x_m >= xmin) & (demand.x_m <= xmax)
                             & (demand.y_m >= ymin) & (demand.y_m <= ymax))
    if dem_path is not None:
        terrain = read_terrain_window(dem_path, pyproj.CRS.from_wkt(crs_wkt),
                                      (xmin, ymin, xmax, ymax))
    coverage = build_coverage(terrain, candidates, demand.take(rows_of), technologies, settings,
                              ue_height_m)
    level = coverage.level_dbm.tocoo()
    reached = np.flatnonzero(coverage.in_range)
    best = coverage.best_level_dbm[reached]
    rows = rows_of[level.row]
    reached = rows_of[reached]
    return _Block(n_options=len(coverage.options), rows=rows.astype(np.int32),
                  cols=level.col.astype(np.int32), values=level.data.astype(np.float32),
                  reached=reached.astype(np.int64), best=best.astype(np.float32))


# ---------------------------------------------------------------------------------------------
# the driver


def build_coverage_distributed(client, terrain: Terrain, candidates: pd.DataFrame, demand,
                               technologies, settings, ue_height_m: float, *,
                               chunk_size: int | None = None,
                               dem_path: str | Path | None = None,
                               progress: Callable[[int, int], None] | None = None
                               ) -> CoverageMatrix:
    """:func:`siting.coverage.build_coverage` computed on a ``distributed.Client``.

    Same arguments and result as the in-process function (identical matrix, option table,
    ``in_range`` and ``best_level_dbm``). ``chunk_size`` candidates go into each task (default
    :func:`default_chunk_size` for the cluster's worker threads). With
    ``dem_path`` (one DEM file already in the terrain's CRS, north-up with square cells:
    :func:`siting.io.rasters.single_dem_in_crs` finds it, or None for tiles or a DEM in another
    CRS) each task reads its own DEM window instead of receiving ``terrain`` (see the module
    docstring; not with land cover, which the windows do not hold). ``progress(done, total)``
    is called as chunks finish. A failing task cancels
    the others and its exception is raised.
    """
    if dem_path is not None and not isinstance(dem_path, (str, Path)):
        raise TypeError(f"dem_path must be one DEM file, got {dem_path!r}; tiles are read whole "
                        f"(see siting.io.rasters.single_dem_in_crs)")
    if dem_path is not None and terrain.land_cover is not None:
        raise ValueError("dem_path reads bare DEM windows, without the terrain's land cover; "
                         "pass dem_path=None to ship the terrain with its land cover")
    if chunk_size is None:
        chunk_size = default_chunk_size(len(candidates), sum(client.nthreads().values()))
    if chunk_size < 1:
        raise ValueError(f"chunk_size must be at least 1, got {chunk_size}")
    if len(candidates) == 0:
        return build_coverage(terrain, candidates, demand, technologies, settings, ue_height_m)
    check_workers_code(client)
    technologies = tuple(technologies)
    reach = max(float(t.max_range_m) for t in technologies) if technologies else 1.0
    chunks = spatial_chunks(candidates.geometry.x.to_numpy(), candidates.geometry.y.to_numpy(),
                            chunk_size, tile_m=reach)
    blocks = _run_blocks(client, terrain, candidates, demand, technologies, settings,
                         ue_height_m, chunks, dem_path, progress)
    return _assemble(blocks, chunks, option_table(candidates, technologies), len(candidates),
                     len(demand))


def check_workers_code(client) -> None:
    """:class:`ClusterError` unless every worker runs this process's siting code (the same
    :func:`siting.sourcecode.code_digest`): a node left on another version would compute its
    chunks with other models, and the matrix would be cached under this code's key."""
    try:
        digests = client.run(code_digest)
    except ImportError as exc:
        raise ClusterError(f"the Dask workers cannot import siting ({exc}); install siting in "
                           f"the workers' environment") from None
    other = sorted(address for address, digest in digests.items() if digest != code_digest())
    if other:
        raise ClusterError(f"the Dask worker(s) {', '.join(other[:3])} run other siting code "
                           f"than this run; install the same siting on every worker and "
                           f"restart them")


def _run_blocks(client, terrain, candidates, demand, technologies, settings, ue_height_m,
                chunks, dem_path, progress) -> list[_Block]:
    """Each chunk's coverage block, computed on the cluster, in chunk order. A failing task
    cancels the others and its exception is raised; a task lost with its worker (or a cluster
    without workers) is a :class:`ClusterError`."""
    from distributed import KilledWorker, as_completed

    slim = candidates[_CANDIDATE_COLUMNS + [candidates.geometry.name]]
    try:
        demand_f = client.scatter(DemandPoints.of(demand), broadcast=True, hash=False)
    except TimeoutError:
        raise ClusterError(f"the Dask scheduler at {client.scheduler.address} has no workers; "
                           f"start some (`dask worker {client.scheduler.address}`)") from None
    if dem_path is None:
        terrain_f = client.scatter(terrain, broadcast=True, hash=False)
        extra = {}
    else:
        terrain_f = None
        extra = dict(dem_path=str(dem_path),
                     crs_wkt=pyproj.CRS.from_user_input(terrain.crs).to_wkt())
    futures = [client.submit(_coverage_block, terrain_f, slim.iloc[chunk], demand_f, technologies,
                             settings, float(ue_height_m), pure=False, **extra)
               for chunk in chunks]
    index_of = {f.key: i for i, f in enumerate(futures)}
    blocks: list[_Block | None] = [None] * len(futures)
    try:
        for done, (future, block) in enumerate(as_completed(futures, with_results=True), 1):
            if future.cancelled():  # its worker died with the data it needed, or the scheduler
                raise ClusterError(_lost_work(slim.index[chunks[index_of[future.key]]],
                                              f"dask cancelled its task: "
                                              f"{getattr(block, 'reason', block)}"))
            blocks[index_of[future.key]] = block
            future.release()
            if progress is not None:
                progress(done, len(futures))
    except KilledWorker as exc:
        client.cancel(futures)
        chunk = chunks[index_of.get(exc.task, 0)]
        killed = exc.allowed_failures + 1
        raise ClusterError(_lost_work(slim.index[chunk], f"its task killed {killed} worker(s)")
                           ) from None
    except BaseException:
        client.cancel(futures)
        raise
    finally:
        del futures, demand_f, terrain_f
    return blocks


def _lost_work(site_ids, what: str) -> str:
    """The message of a coverage task lost with its worker: which sites, what dask said, what
    to do."""
    shown = ", ".join(map(str, site_ids[:5])) + (" ..." if len(site_ids) > 5 else "")
    return (f"a Dask worker died while computing the coverage of sites {shown} ({what}); check "
            f"the workers' logs and memory (each needs the terrain and demand), then rerun")


def _assemble(blocks: list[_Block], chunks, options: pd.DataFrame, n_candidates: int,
              n_demand: int) -> CoverageMatrix:
    """One coverage matrix from the chunks' blocks, with options numbered as in ``options``."""
    per_candidate = np.bincount(options["candidate"].to_numpy(np.int64), minlength=n_candidates)
    first_option = np.concatenate([[0], np.cumsum(per_candidate)[:-1]])
    rows, cols, values = [], [], []
    in_range = np.zeros(n_demand, bool)
    best = np.full(n_demand, -np.inf, np.float32)
    for block, chunk in zip(blocks, chunks):
        # global option of each chunk-local option: the chunk's candidates keep their relative
        # order, and each candidate's options are consecutive in both tables
        counts = per_candidate[chunk]
        if block.n_options != int(counts.sum()):  # pragma: no cover - a broken worker environment
            raise RuntimeError(f"a coverage chunk returned {block.n_options} options, expected "
                               f"{int(counts.sum())}")
        local_first = np.concatenate([[0], np.cumsum(counts)[:-1]])
        global_of = (np.repeat(first_option[chunk] - local_first, counts)
                     + np.arange(block.n_options)).astype(np.int32)
        rows.append(block.rows)
        cols.append(global_of[block.cols])
        values.append(block.values)
        in_range[block.reached] = True
        best[block.reached] = np.maximum(best[block.reached], block.best)
    matrix = sp.csr_matrix((np.concatenate(values), (np.concatenate(rows), np.concatenate(cols))),
                           shape=(n_demand, len(options)), dtype=np.float32)
    matrix.sort_indices()
    return CoverageMatrix(level_dbm=matrix, options=options, in_range=in_range, best_level_dbm=best)


# ---------------------------------------------------------------------------------------------
# clusters


def peak_memory_mb() -> float:
    """Peak resident memory [MB] of the calling process so far: ``VmHWM`` of
    ``/proc/self/status`` (NaN where there is no such file)."""
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024.0
    except OSError:  # pragma: no cover - not Linux
        pass
    return math.nan


def workers_peak_memory_mb(client) -> float:
    """Sum over the client's workers of each worker process's :func:`peak_memory_mb` (over the
    worker's lifetime: a fresh local cluster measures one run)."""
    return float(sum(client.run(peak_memory_mb).values()))


def _quiet_dask_logs() -> None:
    """Log distributed's messages at the level the process logs at (``siting run``: warnings,
    or INFO with ``--verbose``). Importing distributed sets its loggers to INFO, so every run on
    a cluster printed some thirty lines of scheduler and nanny chatter, ``--quiet`` too."""
    logger = logging.getLogger("distributed")
    logger.setLevel(max(logger.getEffectiveLevel(), logging.getLogger().getEffectiveLevel()))


@contextmanager
def client_for(scheduler: str | None = None, workers: int | None = None, *,
               threads_per_worker: int = 1) -> Iterator[object | None]:
    """The Dask client a run asks for, closed (with its local cluster) on exit.

    - ``scheduler`` (``"tcp://host:8786"``): a ``distributed.Client`` connected to that
      scheduler; the cluster itself is left running.
    - ``workers`` N: a ``LocalCluster`` of N worker processes with ``threads_per_worker``
      threads each, no dashboard; each coverage task's numba kernels use ``threads_per_worker``
      threads (``$SITING_NUMBA_THREADS``), so N workers use N cores, not N x all cores. On
      a cluster of your own, set ``SITING_NUMBA_THREADS`` in the workers' environment likewise
      (e.g. to cores per worker process / threads per worker).
    - neither: ``None`` (compute in-process).

    Raises :class:`~siting.errors.InputError` for both at once, N < 1, or a scheduler that
    cannot be reached.
    """
    if scheduler and workers:
        raise InputError("give either a Dask scheduler address or a number of local workers, "
                         "not both")
    if workers is not None and workers < 1:
        raise InputError(f"the number of Dask workers must be at least 1, got {workers}")
    if not scheduler and not workers:
        yield None
        return
    from distributed import Client, LocalCluster

    _quiet_dask_logs()
    if scheduler:
        try:
            client = Client(scheduler)
        except (OSError, TimeoutError, ValueError) as exc:
            raise InputError(f"cannot connect to the Dask scheduler at {scheduler} "
                             f"({str(exc).splitlines()[0] if str(exc) else type(exc).__name__}); "
                             f"check the address and that `dask scheduler` is running") from None
        with client:
            yield client
        return
    # Not NUMBA_NUM_THREADS: a worker that imported numba before the nanny set it (a driver
    # script importing siting, which the spawned worker re-imports) then failed every kernel it
    # had to compile ("Cannot set NUMBA_NUM_THREADS ... once the threads have been launched").
    env = {NUMBA_THREADS_ENV: str(threads_per_worker)}
    # No dashboard; the scheduler's small HTTP server (health checks) takes any free port instead
    # of 8787, which another cluster on the machine may hold (distributed warns when it moves).
    scheduler_kwargs = {"dashboard": False, "dashboard_address": "127.0.0.1:0"}
    with LocalCluster(n_workers=workers, threads_per_worker=threads_per_worker, processes=True,
                      dashboard_address=None, scheduler_kwargs=scheduler_kwargs,
                      env=env) as cluster, Client(cluster) as client:
        yield client
