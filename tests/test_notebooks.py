"""The notebooks run top to bottom, so they never rot."""

from __future__ import annotations

from pathlib import Path

import pytest

from siting.pipeline import DEMO_SCENARIO

NOTEBOOKS = sorted((Path(__file__).resolve().parents[1] / "notebooks").glob("*.ipynb"))


@pytest.mark.skipif(not DEMO_SCENARIO.exists(), reason=f"demo data not generated: {DEMO_SCENARIO}")
@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_runs_top_to_bottom(path, tmp_path, monkeypatch):
    monkeypatch.setenv("JUPYTER_PLATFORM_DIRS", "1")  # jupyter_client's path-migration warning
    nbformat = pytest.importorskip("nbformat", reason="pip install -e '.[dev]' (nbformat)")
    nbclient = pytest.importorskip("nbclient", reason="pip install -e '.[dev]' (nbclient)")
    pytest.importorskip("ipykernel", reason="pip install -e '.[dev]' (ipykernel)")
    notebook = nbformat.read(path, as_version=4)
    client = nbclient.NotebookClient(notebook, timeout=300, kernel_name="python3",
                                      resources={"metadata": {"path": str(tmp_path)}})
    client.execute()
    errors = [out for cell in notebook.cells if cell.cell_type == "code"
              for out in cell.get("outputs", []) if out.get("output_type") == "error"]
    assert not errors
    outputs = [out for cell in notebook.cells for out in cell.get("outputs", [])]
    assert any("image/png" in out.get("data", {}) for out in outputs), "no plot is shown inline"
    last = notebook.cells[-1]["outputs"]
    assert any("text/html" in out.get("data", {}) for out in last), "the map is not shown inline"


def test_there_is_a_notebook():
    assert any(p.name == "scenario_study.ipynb" for p in NOTEBOOKS)
