"""A value that does not apply reads the same in every table people read.

comparison.md left such a cell empty (the technology in plan B of a site only in plan A, a
KPI only one plan has), where ``siting compare``'s own lines for the same site said
``4G -> -`` and report.md, map.html's popups and sites.kml's balloons write
:data:`~siting.export.cells.NO_VALUE_CELL`; the comparison's tables write that marker now.
"""

from __future__ import annotations

import dataclasses

from siting.compare import county_deltas, kpi_deltas, listed_sites, render_comparison
from siting.export.cells import NO_VALUE_CELL
from test_compare import small_comparison


def _md_rows(text: str) -> dict[str, list[str]]:
    """The rows of every Markdown table of ``text``, by their first cell."""
    rows = [line.strip("|").split("|") for line in text.splitlines() if line.startswith("| ")]
    return {cells[0].strip(): [c.strip() for c in cells[1:]] for cells in rows}


def test_comparison_md_marks_what_a_plan_has_not_as_the_terminal_does():
    comparison = dataclasses.replace(
        small_comparison("en"), kpis=kpi_deltas({"new_sites": 3}, {"new_sites": 4, "upgrades": 1}),
        by_county=county_deltas({}, {}))
    rows = _md_rows(render_comparison(comparison))
    # technology A, technology B, action A, action B, cost A, cost B, status
    assert rows["S1"] == ["4G", NO_VALUE_CELL, "build", NO_VALUE_CELL, "150,000", NO_VALUE_CELL,
                          "only in plan A"]
    assert rows["S4"] == [NO_VALUE_CELL, "4G", NO_VALUE_CELL, "build", NO_VALUE_CELL, "150,000",
                          "only in plan B"]
    assert f"  S1  only in plan A: technology 4G -> {NO_VALUE_CELL}" in listed_sites(comparison)
    assert rows["upgrades of existing sites"] == [NO_VALUE_CELL, "1", NO_VALUE_CELL]  # A, B, B - A
    assert rows["V2"][-3:] == [NO_VALUE_CELL, NO_VALUE_CELL, "gained"]  # served in neither plan
