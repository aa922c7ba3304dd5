"""The words of the Chinese report as a committee reads them: a reason given to a complaint
point or a 5G zone check point does not call it a village."""

from __future__ import annotations

import re

from siting.export.i18n import TERMS, value_text
from siting.labels import REASON_NO_BACKHAUL, REASON_NOT_BUILT, REASON_SOLVER_STOPPED


def test_no_uncovered_reason_calls_a_point_a_village():
    """A complaint point left uncovered when the solver stopped read "求解器在找到覆盖该村的方案前
    已停止" (before finding a plan covering this village); every reason is given to villages,
    complaint points and zone check points alike (siting.plan.limit_reasons), so none says 村."""
    reasons = {key: texts["zh"] for key, texts in TERMS.items() if key.startswith("reason.")}
    assert {"reason.solver_stopped", "reason.no_backhaul", "reason.not_built"} <= set(reasons)
    assert [key for key, text in reasons.items() if "村" in text] == []
    for reason in (REASON_SOLVER_STOPPED, REASON_NO_BACKHAUL.format(hops=3), REASON_NOT_BUILT):
        shown = value_text("reason", reason, "zh")
        assert shown != reason and "该处" in shown


def bare_keys(text: str) -> list[str]:
    """The snake_case names in ``text`` that are neither a {placeholder}, part of a dotted
    scenario key (``backhaul.site_traffic_mbps``) nor given in brackets after their words."""
    return [m.group(0) for m in re.finditer(r"(?<![.\w{（])[a-z0-9]+(?:_[a-z0-9]+)+(?![.\w}:])", text)]


def test_the_chinese_report_names_no_quantity_by_its_key():
    """The backhaul section read "不超过所用频段的 capacity_mbps" and "微波频段的 capacity_mbps
    不限制任何一跳": a key for a word; it now reads 容量（capacity_mbps）, the key for the
    scenario file in brackets, as the model names are given."""
    assert bare_keys("频段的 capacity_mbps。") == ["capacity_mbps"]
    assert bare_keys("频段的容量（capacity_mbps）。 {new_sites} backhaul.site_traffic_mbps") == []
    named = {key: bare_keys(texts["zh"]) for key, texts in TERMS.items()
             if key.startswith(("report.", "header.", "kpi.", "reason."))}
    assert {key: keys for key, keys in named.items() if keys} == {}
