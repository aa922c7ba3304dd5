"""Dask workers as an analyst meets them: a driver script on a machine whose kernels are not
compiled yet, a worker that dies mid-run, a scheduler without workers. Each run uses a tiny
region and closes its cluster."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import dask
import numpy as np
import pytest
from distributed import LocalCluster, WorkerPlugin

from regions import TECH_4G, candidate, ridge_dem, village, write_region
from siting.config import load_scenario
from siting.demand import build_demand
from siting.distributed import build_coverage_distributed, client_for
from siting.errors import SitingError
from siting.io import read_region

REPO = Path(__file__).resolve().parents[1]


def _tiny_region(folder: Path) -> Path:
    """1.8 km x 1.8 km, a ridge, three candidates, 4G only."""
    return write_region(folder, ridge_dem(60, 60, ridge_col=30, ridge_height_m=80.0),
                        [village("V1", 300, 900), village("V2", 1500, 600)],
                        [candidate("S1", 400, 400), candidate("S2", 1400, 1300),
                         candidate("S3", 900, 900, height=20.0)],
                        technologies=(dict(TECH_4G, max_range_m=1500),))


#: A driver script that imports siting at the top, as a notebook exported to a script does: the
#: spawned worker processes import it again, so numba is loaded before the nanny's environment.
DRIVER = textwrap.dedent("""
    import sys
    import numpy as np
    from siting.config import load_scenario
    from siting.coverage import build_coverage
    from siting.demand import build_demand
    from siting.distributed import build_coverage_distributed, client_for
    from siting.io import read_region

    if __name__ == "__main__":
        scenario = load_scenario(sys.argv[1])
        region = read_region(scenario)
        demand = build_demand(region, scenario.demand)
        args = (region.terrain, region.candidates, demand, scenario.technologies,
                scenario.coverage, scenario.demand.ue_height_m)
        with client_for(None, 1) as client:
            got = build_coverage_distributed(client, *args, chunk_size=1)
        want = build_coverage(*args)
        np.savez(sys.argv[2], got=got.level_dbm.toarray(), want=want.level_dbm.toarray())
""")


def test_a_driver_script_runs_on_local_workers_before_the_kernels_are_compiled(tmp_path):
    """Every kernel compiled on a worker failed with numba's "Cannot set NUMBA_NUM_THREADS to a
    different value once the threads have been launched": the cluster set NUMBA_NUM_THREADS
    after the worker had imported numba."""
    scenario = _tiny_region(tmp_path / "region")
    (tmp_path / "driver.py").write_text(DRIVER, encoding="utf-8")
    env = dict(os.environ, PYTHONPATH=str(REPO), NUMBA_CACHE_DIR=str(tmp_path / "numba"))
    env.pop("NUMBA_NUM_THREADS", None)
    done = subprocess.run([sys.executable, str(tmp_path / "driver.py"), str(scenario),
                           str(tmp_path / "levels.npz")], capture_output=True, text=True,
                          env=env, cwd=tmp_path, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "Cannot set NUMBA_NUM_THREADS" not in done.stderr
    levels = np.load(tmp_path / "levels.npz")
    assert np.count_nonzero(levels["want"]) > 0
    np.testing.assert_array_equal(levels["got"], levels["want"])


def _inputs(scenario_path):
    scenario = load_scenario(scenario_path)
    region = read_region(scenario)
    return scenario, region, build_demand(region, scenario.demand)


def _on_cluster(client, scenario, region, demand):
    return build_coverage_distributed(client, region.terrain, region.candidates, demand,
                                      scenario.technologies, scenario.coverage,
                                      scenario.demand.ue_height_m, chunk_size=1)


class DieInEveryTask(WorkerPlugin):
    """A worker plugin: the worker process exits (as the kernel's OOM killer ends it) in every
    coverage task it starts, and again after each restart by its nanny."""

    name = "die-in-every-task"

    def setup(self, worker):
        import siting.distributed

        def die(*args, **kwargs):
            os._exit(1)

        siting.distributed._coverage_block = die


def test_a_worker_that_dies_mid_run_is_one_clear_error_not_a_crash(tmp_path):
    """Workers dying with the scattered terrain and demand left cancelled tasks, whose
    exception objects were assembled as blocks: "internal error: AttributeError:
    'FutureCancelledError' object has no attribute 'n_options'"."""
    scenario, region, demand = _inputs(_tiny_region(tmp_path / "region"))
    with client_for(None, 2) as client:
        client.wait_for_workers(2)
        client.register_plugin(DieInEveryTask())
        with pytest.raises(SitingError) as raised:  # the CLI's one line, exit 1
            _on_cluster(client, scenario, region, demand)
    message = str(raised.value)
    assert "a Dask worker died while computing the coverage of sites S" in message
    assert "workers' logs and memory" in message and "\n" not in message


def test_a_task_that_kills_its_worker_while_others_hold_the_data_is_one_clear_error(tmp_path):
    """With the terrain and demand still on other workers, dask gives up on the task itself
    (KilledWorker, here at its first death) instead of cancelling it."""
    scenario, region, demand = _inputs(_tiny_region(tmp_path / "region"))
    with dask.config.set({"distributed.scheduler.allowed-failures": 0}), \
            client_for(None, 3) as client:
        client.wait_for_workers(3)
        client.register_plugin(DieInEveryTask())
        with pytest.raises(SitingError) as raised:
            _on_cluster(client, scenario, region, demand)
    message = str(raised.value)
    assert "a Dask worker died while computing the coverage of sites S" in message
    assert "its task killed 1 worker(s)" in message and "\n" not in message


def test_a_scheduler_without_workers_is_one_clear_error(tmp_path):
    """It was "internal error: TimeoutError: No valid workers found"."""
    scenario, region, demand = _inputs(_tiny_region(tmp_path / "region"))
    with dask.config.set({"distributed.comm.timeouts.connect": "2s"}), \
            LocalCluster(n_workers=0, dashboard_address=None, processes=False) as cluster:
        with client_for(cluster.scheduler_address, None) as client:
            with pytest.raises(SitingError, match="has no workers") as raised:
                _on_cluster(client, scenario, region, demand)
    assert f"dask worker {cluster.scheduler_address}" in str(raised.value)


class OtherSitingCode(WorkerPlugin):
    """A worker plugin: the worker's siting is another version's (another code digest)."""

    name = "other-siting-code"

    def setup(self, worker):
        import siting.sourcecode

        siting.sourcecode.code_digest = lambda: "0" * 64


def test_a_worker_running_other_siting_code_is_refused(tmp_path):
    """A node left on another siting computed its chunks with its own models, silently, and the
    matrix was cached under this code's key."""
    scenario, region, demand = _inputs(_tiny_region(tmp_path / "region"))
    with client_for(None, 1) as client:
        client.wait_for_workers(1)
        client.register_plugin(OtherSitingCode())
        (address,) = client.scheduler_info()["workers"]
        with pytest.raises(SitingError, match="run other siting code") as raised:
            _on_cluster(client, scenario, region, demand)
    assert address in str(raised.value) and "install the same siting" in str(raised.value)
