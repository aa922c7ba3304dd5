"""The words of the outputs in English and Simplified Chinese (``report.language: en | zh``).

One catalogue, :data:`TERMS`, holds every human-readable term a person reads in the outputs;
:func:`term` looks one up and fills its ``{placeholders}``. Machine-readable names never come
from here: summary.json keys, CSV headers and GeoPackage/KML field names stay English, and so
do the values stored in those files (``build``, ``lamp_pole``, the uncovered reasons).

Keys are grouped by prefix, each group for one output:

``report.``, ``section.``, ``header.``, ``kpi.``, ``goal.``, ``limit.``, ``figure.``, ``footer.``
    the report (:mod:`siting.export.report` for report.md, :mod:`siting.export.html_report`
    for report.html).
``action.``, ``kind.``, ``reason.``, ``solver_status.``, ``baseline.``, ``village_status.``,
``admin.``, ``stage.``
    values of the tables shown to people (report tables, map popups, the KML balloon):
    translate a stored value with :func:`value_text`. In English a value reads as it is
    stored, so the report and the GIS files use the same words, but for the site kinds,
    whose keys (``lamp_pole``) read as words (``lamp pole``) there too.
``model.``
    the path-loss models by their names in the literature (:func:`model_text`: the report's
    assumptions table), each with the scenario key in brackets.
``rsrp.``
    the RSRP classes of the coverage legend (:func:`rsrp_class_labels`): map.png, map.html.
``staticmap.``
    map.png (:mod:`siting.export.staticmap`): title, axes, legend.
``webmap.``
    map.html (:mod:`siting.export.webmap`): layer names, legend, title, popup field names.
``kml.``
    sites.kml (:mod:`siting.export.kml`): the document title and folder names.
``field.``, ``boolean.``
    the columns of the site and village tables and their true/false values as a person reads
    them: the labels and yes/no of the sites.kml balloon (its ExtendedData keeps the column
    names). Each label says what the column holds and its unit in either language
    (``antenna height [m]``, ``天线挂高 [m]``); a column of the planner's own (``站名``) is not
    in the catalogue and reads as it is named in both languages.
``sweep.``
    the cost-coverage curve of ``siting sweep``: its figure (:func:`siting.sweep.write_curve`)
    and the table the command prints (:func:`siting.sweep.curve_text`).
``compare.``, ``compare_status.``, ``compare_change.``, ``compare_kpi.``
    the comparison of two plans (:mod:`siting.compare`): comparison.md, comparison.html and
    what ``siting compare`` prints; its statuses, village changes and KPI names (the keys of
    summary.json) as values of :func:`value_text`.
``list.``
    how a list of phrases is joined.

Chinese terms follow the usage of Chinese mobile-network planning (站址, 新建/升级/保留,
覆盖, 人口覆盖率, 贫困村, 易地搬迁安置点, 投诉点, 区县, 预算). Numbers stay numbers: they are
formatted by the placeholders (``{count:,}``) the same way in both languages, but for money,
which the Chinese report gives in 万元 (:func:`money`: its callers pass the amount in the
language's unit, the Chinese templates write it to 0.01).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

from siting.config import LANGUAGES  # the languages of the outputs: en, zh
from siting.labels import (ALL_UNITS, JOINT_LABEL, OUTSIDE_ADMIN_UNITS, REASON_BELOW_THRESHOLD,
                           REASON_BUDGET, REASON_LATER, REASON_NO_BACKHAUL, REASON_NO_CANDIDATE,
                           REASON_NO_TERRESTRIAL_FEED,
                           REASON_NO_GENERATION, REASON_NOT_BUILT, REASON_NOT_PLANNED,
                           REASON_OTHER_TECHNOLOGY,
                           REASON_OVER_BUDGET,
                           REASON_OVER_BUDGET_AND_QUOTA, REASON_OVER_BUDGET_AND_YEAR_QUOTAS,
                           REASON_OVER_BUDGET_FED, REASON_OVER_YEAR_BUDGETS,
                           REASON_OVER_YEAR_BUDGETS_FED, REASON_QUOTA, REASON_YEAR_QUOTAS,
                           REASON_SOLVER_STOPPED,
                           SEQUENTIAL_LABEL)

#: The ``lang`` attribute of an HTML page in each language.
HTML_LANG = {"en": "en", "zh": "zh-CN"}

TERMS: dict[str, dict[str, str]] = {
    # --- report: title, intro, sections -------------------------------------------------------
    "report.title": {"en": "Siting plan: {name}", "zh": "基站站址规划：{name}"},
    "report.objective": {"en": "Objective: **{goal}**{limits}; costs include {years:g} years of opex.",
                         "zh": "规划目标：**{goal}**{limits}；成本含 {years:g} 年运维费用。"},
    "report.within": {"en": " within {limits}", "zh": "，约束：{limits}"},
    "report.solver": {"en": "Solver: {name}, status **{status}**, objective {objective}, "
                            "{bound_name} {bound}, proven gap {gap}.",
                      "zh": "求解器：{name}，状态 **{status}**，目标值 {objective}，"
                            "{bound_name} {bound}，已证明的最优间隙 {gap}。"},
    # a solve stopped at solver.time_limit_s: its plan is not proven the best
    "report.time_limit": {
        "en": "**The solver stopped at its time limit ({seconds:g} s) before proving this plan the "
              "best:** the best plan is at most {gap} better; more time (solver.time_limit_s in "
              "the scenario) may find a better one.",
        "zh": "**求解器在达到时间上限（{seconds:g} 秒）时停止，未能证明本方案最优：**最优方案至多比本方案"
              "好 {gap}；延长求解时间（场景文件中的 solver.time_limit_s）可能找到更好的方案。"},
    "report.time_limit_no_bound": {
        "en": "**The solver stopped at its time limit ({seconds:g} s) before proving this plan the "
              "best,** and before any bound: how far it is from the best is not known; more time "
              "(solver.time_limit_s in the scenario) may find a better one.",
        "zh": "**求解器在达到时间上限（{seconds:g} 秒）时停止，未能证明本方案最优，**且尚无界，与最优方案"
              "的差距未知；延长求解时间（场景文件中的 solver.time_limit_s）可能找到更好的方案。"},
    # the solver's proven bound: above the optimum when maximising, below it when minimising
    "report.bound_max": {"en": "upper bound", "zh": "上界"},
    "report.bound_min": {"en": "lower bound", "zh": "下界"},
    # the solver's objective and bound: people covered, person-years (phased) or a cost
    "report.people": {"en": "{count:,.0f} people", "zh": "{count:,.0f} 人"},
    "report.person_years": {"en": "{count:,.0f} person-years", "zh": "{count:,.0f} 人·年"},
    "report.costs": {"en": "New sites: **{new_sites}**, upgrades of existing sites: **{upgrades}**, "
                           "capex {capex:,.0f} CNY, opex {opex:,.0f} CNY/year, total cost over the "
                           "horizon **{total:,.0f} CNY**.",
                     "zh": "新建站址 **{new_sites}** 个，现网站址升级 **{upgrades}** 个，建设投资 "
                           "{capex:,.2f} 万元，运维费用 {opex:,.2f} 万元/年，规划期总成本 **{total:,.2f} 万元**。"},
    "report.costs_with_backhaul": {
        "en": "New sites: **{new_sites}**, upgrades of existing sites: **{upgrades}**, capex "
              "{capex:,.0f} CNY, opex {opex:,.0f} CNY/year, sites over the horizon {site:,.0f} CNY; "
              "with their backhaul ({backhaul:,.0f} CNY), total cost over the horizon "
              "**{total:,.0f} CNY**.",
        "zh": "新建站址 **{new_sites}** 个，现网站址升级 **{upgrades}** 个，建设投资 {capex:,.2f} 万元，"
              "运维费用 {opex:,.2f} 万元/年，规划期站址成本 {site:,.2f} 万元；加上传输（{backhaul:,.2f} 万元），"
              "规划期总成本 **{total:,.2f} 万元**。"},
    "report.complaints_before": {"en": "Plausibility check: the model predicts {covered} of the "
                                       "{total} weak-signal complaint points as covered by today's "
                                       "sites (before the plan); a high share means the model is "
                                       "too optimistic there.",
                                 "zh": "合理性检验：模型预测 {total} 个弱信号投诉点中有 {covered} 个"
                                       "已被现网站址覆盖（规划前）；比例越高，说明模型在这些地方越偏乐观。"},
    "report.complaints_before_replan": {
        "en": "Plausibility check: the model predicts {covered} of the {total} weak-signal complaint "
              "points as covered by the sites on air before the original plan (the sites of the "
              "as-built list not counted); a high share means the model is too optimistic there.",
        "zh": "合理性检验：模型预测 {total} 个弱信号投诉点中有 {covered} 个已被原规划前的现网站址覆盖"
              "（不计已建清单中的站址）；比例越高，说明模型在这些地方越偏乐观。"},
    "report.schedule_note": {"en": "Each site's year is in the site list below, on the map's popups "
                                   "and in the GIS files.",
                             "zh": "各站址的建设年份见下方站址清单、地图弹窗和 GIS 文件。"},
    "report.all_mandatory_covered": {"en": "None: every mandatory village is covered.",
                                     "zh": "无：所有必覆盖村均已覆盖。"},
    "report.all_mandatory_covered_late": {
        "en": "None by the end of {last}, but mandatory villages covered only after the "
              "deadline {year}: {count} (see the headline).",
        "zh": "截至 {last} 年底无；但有 {count} 个必覆盖村在期限 {year} 年之后才覆盖（见主要指标）。"},
    "report.deadline": {
        "en": "**By the end of {year} (the deadline for mandatory demand): {points} of {total} "
              "mandatory points and {villages} of {villages_total} mandatory villages covered.**",
        "zh": "**截至 {year} 年底（必覆盖需求的期限）：必覆盖点已覆盖 {points} / {total} 个，"
              "必覆盖村已覆盖 {villages} / {villages_total} 个。**"},
    "report.deadline_missed": {
        "en": "**The deadline is missed.** These mandatory villages are covered only later, or "
              "never (the table above counts coverage at the end of the last year):",
        "zh": "**未能按期完成。** 下列必覆盖村在期限之后才覆盖，或始终未覆盖（上表为末年年底的覆盖情况）："},
    "report.never": {"en": "never", "zh": "未覆盖"},
    "report.uncovered_points": {"en": "Mandatory complaint points and 5G zone check points still "
                                      "uncovered, and why:",
                                "zh": "仍未覆盖的必覆盖投诉点与 5G 重点区域检测点及原因："},
    "report.mandatory_missed": {
        "en": "**Not all mandatory demand is covered:** {village} mandatory villages, {complaint} "
              "complaint points and {zone} 5G zone check points stay uncovered; the section "
              "\"{section}\" says why.",
        "zh": "**必覆盖需求未能全部覆盖：**仍有必覆盖村 {village} 个、投诉点 {complaint} 个、5G 重点区域"
              "检测点 {zone} 个未覆盖，原因见“{section}”一节。"},
    "report.zone_short": {"en": "5G zone {zone} ({name}): {covered} of {total} check points "
                                "covered by 5G; the others are listed below, with why.",
                          "zh": "5G 重点区域 {zone}（{name}）：{total} 个检测点中 {covered} 个由 5G "
                                "覆盖，其余见下表及原因。"},
    "report.uncovered_by_kind": {"en": "Mandatory points uncovered by kind: villages {village}, "
                                       "complaints {complaint}, 5G zone check points {zone}.",
                                 "zh": "未覆盖的必覆盖点（按类型）：村 {village} 个，投诉点 "
                                       "{complaint} 个，5G 重点区域检测点 {zone} 个。"},
    "report.assumptions": {"en": "Received level: EIRP per resource element minus the model's path "
                                 "loss, the Deygout terrain diffraction loss over the DEM profile "
                                 "(earth radius factor {k:.3f}) and the clutter margin; user height "
                                 "{ue_height_m:g} m.",
                           "zh": "接收电平：每资源粒子的 EIRP 减去传播模型路径损耗、沿 DEM 剖面的 "
                                 "Deygout 地形绕射损耗（等效地球半径系数 {k:.3f}）和地物损耗余量；"
                                 "终端高度 {ue_height_m:g} m。"},
    # how the people are counted (siting.demand): with a population raster, and without one
    "report.demand_raster": {"en": "People: the population raster summed into {grid_m:g} m cells, and "
                                   "each village at its point with its listed population. Villages "
                                   "and cells share the people without counting anyone twice: a "
                                   "village's listed population is taken out of the raster cell it "
                                   "lies in, so each demand cell counts the larger of the raster's "
                                   "people and the listed people of its villages.",
                             "zh": "人口：人口栅格按 {grid_m:g} m 网格汇总，各村以其登记人口计于村点。"
                                   "村与网格分担人口、不重复计算：各村登记人口从其所在的栅格网格中扣除，"
                                   "因此每个需求网格计入栅格人口与网格内各村登记人口二者中的较大者。"},
    "report.demand_no_raster": {"en": "People: no population raster was given, so demand is the "
                                      "villages' listed populations at the village points, plus the "
                                      "complaint points and the 5G zones' check points; people "
                                      "outside the listed villages are not counted.",
                                "zh": "人口：未提供人口栅格，需求为各村的登记人口（计于村点），另加投诉点"
                                      "和 5G 重点区域检测点；登记村以外的人口不计入。"},
    "section.headline": {"en": "Headline", "zh": "主要指标"},
    "section.schedule": {"en": "Phased schedule", "zh": "分年建设计划"},
    "section.figures": {"en": "Maps and figures", "zh": "地图与图表"},
    "section.as_built": {"en": "Re-planned from what was built", "zh": "基于已建站址的滚动规划"},
    "report.as_built": {"en": "The plan starts from the as-built list {source}: {sites} sites on air "
                              "through {year} ({new_sites} new, {upgrades} upgrades of existing "
                              "sites), {spent:,.0f} CNY spent ({charged:,.0f} CNY with their opex "
                              "over the plan's horizon, as the budget counts it). They are kept as "
                              "existing sites, at no cost, and may be upgraded.",
                        "zh": "本规划以已建清单 {source} 为起点：截至 {year} 年已建站址 {sites} 个（新建 "
                              "{new_sites} 个，现网升级 {upgrades} 个），实际投资 {spent:,.2f} 万元"
                              "（计入规划期运维费用后为 {charged:,.2f} 万元，按此计入预算）。"
                              "已建站址按现网站址保留、不再计费，可升级。"},
    "report.as_built_left": {"en": "Left to plan: budget {budget}, new sites {quota}.",
                             "zh": "剩余可规划：预算 {budget}，新建站址 {quota}。"},
    "report.no_limit": {"en": "no limit", "zh": "不限"},
    "report.amount": {"en": "{cny:,.0f} CNY", "zh": "{cny:,.2f} 万元"},
    "report.left_quota": {"en": "{count:,}", "zh": "{count:,} 个"},
    "report.schedule_next_to_original": {"en": "The original schedule (budget and quota of each "
                                               "year) next to what was built and what is planned now; "
                                               "a year's cost as its budget counts it, with the opex "
                                               "of the plan's horizon, beside what a year built "
                                               "spent.",
                                         "zh": "原分年计划（各年预算与新建上限）与已建、现规划情况对照；"
                                               "各年成本按预算口径计（含规划期运维费用），已建年份另列实际投资。"},
    "section.by_technology": {"en": "Sites and cost by technology", "zh": "按制式统计站址与成本"},
    "section.by_kind": {"en": "Sites and cost by kind", "zh": "按站址类型统计站址与成本"},
    "section.by_admin_unit": {"en": "Coverage by admin unit", "zh": "各区县覆盖情况"},
    "section.baselines": {"en": "Compared with simpler rules", "zh": "与简单规则的比较"},
    "section.uncovered": {"en": "Mandatory villages still without coverage",
                          "zh": "仍未覆盖的必覆盖村"},
    "section.sites": {"en": "Sites to build or upgrade", "zh": "新建和升级站址清单"},
    "section.assumptions": {"en": "Assumptions", "zh": "计算假设"},
    "section.stages": {"en": "How the plan was reached", "zh": "求解步骤"},
    "section.backhaul": {"en": "Backhaul", "zh": "传输接入"},
    "report.backhaul_costs": {"en": "Sites **{site:,.0f} CNY** + backhaul **{backhaul:,.0f} CNY** = "
                                    "**{total:,.0f} CNY** over the horizon. Sites on air fed by fiber: "
                                    "{fiber} ({fiber_km:,.1f} km of new fiber) and {on_site} with fiber "
                                    "on site; by microwave: {microwave} (deepest {deepest} of at most "
                                    "{max_hops} hops); by satellite: {satellite}.",
                              "zh": "站址 **{site:,.2f} 万元** + 传输 **{backhaul:,.2f} 万元** = 规划期合计 "
                                    "**{total:,.2f} 万元**。光纤接入的在网站址 {fiber} 个（新建光缆 "
                                    "{fiber_km:,.1f} 公里），自带光纤 {on_site} 个；微波接入 {microwave} 个"
                                    "（最深 {deepest} 跳，上限 {max_hops} 跳）；卫星接入 {satellite} 个。"},
    "report.backhaul_capacity_planned": {
        "en": "Link capacity is planned: each site puts {traffic} on its feed (by the "
              "generations it carries), and every microwave hop carries its own site's traffic "
              "and that of every site it relays within its band's capacity_mbps.",
        "zh": "已规划链路容量：每个站址按其制式向传输接入注入 {traffic} 的业务量，每一跳微波承载本站及其"
              "中继的全部站址的业务量，不超过所用频段的容量（capacity_mbps）。"},
    "report.backhaul_fullest_hop": {
        "en": " The fullest hop, {hop_from}-{hop_to} ({band:g} GHz), carries {load:,.0f} of its "
              "{capacity:,.0f} Mbit/s.",
        "zh": "最满的一跳 {hop_from}-{hop_to}（{band:g} GHz）承载 {load:,.0f} Mbit/s，容量 "
              "{capacity:,.0f} Mbit/s。"},
    "report.backhaul_loads_year": {
        "en": " Loads are those of {year}, the plan's last year, when all its sites are on air: "
              "no hop carries more in an earlier year.",
        "zh": "负荷为规划最后一年（{year} 年）全部站址在网时的数值，此前各年任一跳的负荷均不超过该值。"},
    "report.backhaul_no_hop_carries_a_site": {
        "en": " No microwave band carries even one site's traffic (a hop carries at most "
              "{capacity:,.0f} Mbit/s, a site puts at least {traffic:,.0f} on its feed), so "
              "every site is fed by fiber or satellite: offer a band of more capacity_mbps in "
              "backhaul.microwave to relay sites.",
        "zh": "没有任何微波频段能承载哪怕一个站址的业务量（每跳至多 {capacity:,.0f} Mbit/s，每个站址至少 "
              "{traffic:,.0f} Mbit/s），因此所有站址均由光纤或卫星接入传输：如需微波中继，请在 "
              "backhaul.microwave 中提供容量（capacity_mbps）更大的频段。"},
    "report.backhaul_unlimited_hop": {
        "en": " Hops of a band offered without capacity_mbps are not limited: the busiest, "
              "{hop_from}-{hop_to} ({band:g} GHz), carries {load:,.0f} Mbit/s; give that band's "
              "capacity_mbps in backhaul.microwave to plan it.",
        "zh": "未给出容量（capacity_mbps）的微波频段不限制其各跳的业务量：其中最繁忙的一跳 "
              "{hop_from}-{hop_to}（{band:g} GHz）承载 {load:,.0f} Mbit/s；请在 backhaul.microwave "
              "中为该频段给出容量（capacity_mbps）以规划其传输容量。"},
    "report.backhaul_capacity": {
        "en": "Link capacity is not planned (give backhaul.site_traffic_mbps to plan it): a "
              "band's capacity_mbps limits no hop, and a site may relay any number of others. "
              "Here {relay} feeds {relay_hops} site(s) by its own hops, and the busiest hop, "
              "{hop_from}-{hop_to} ({band:g} GHz), carries the traffic of {carried} site(s); "
              "check such relays' capacity before building.",
        "zh": "未规划传输链路容量（设置 backhaul.site_traffic_mbps 即可规划）：微波频段的容量（capacity_mbps）"
              "不限制任何一跳，一个站址可为任意多个站址中继。"
              "本方案中 {relay} 以自身微波直接接入 {relay_hops} 个站址，最繁忙的一跳 "
              "{hop_from}-{hop_to}（{band:g} GHz）承载 {carried} 个站址的业务；建设前请核查这些中继的容量。"},
    "report.backhaul_in_place": {"en": "Sites of the as-built list keeping the backhaul they were "
                                       "built with (not planned or charged again): {in_place}.",
                                 "zh": "已建站址沿用原有传输（不再规划、不再计费）：{in_place} 个。"},
    "report.backhaul_compared": {"en": "The same scenario planned in two steps (sites as if backhaul "
                                       "were free, then the cheapest backhaul of each):",
                                 "zh": "同一场景分两步规划（先不计传输选站，再为每个站址配最省的传输）对比："},
    "report.backhaul_compared_none": {
        "en": "The two-step plan is left out: some of its sites cannot be fed, or no plan of "
              "either step was found in the time the comparison is given (what the plan left "
              "of solver.time_limit_s).",
        "zh": "两步规划未列出：其部分站址无法配传输，或在对比可用时间内（方案剩下的 solver.time_limit_s 时间）"
              "未找到任一步的方案。"},
    "report.backhaul_compared_cut_short": {
        "en": "The time limit stopped the two-step plan before it was proven the best (the "
              "comparison is given what the plan left of solver.time_limit_s): with more time "
              "it may cost less or cover more.",
        "zh": "两步规划在时限内未能证明最优（对比只用方案剩下的 solver.time_limit_s 时间）："
              "给更多时间，其成本可能更低或覆盖更多。"},
    "report.backhaul_links": {"en": "The link feeding each site on air (fiber: the route to the "
                                     "fiber node reached; microwave: the hop to the feeding site):",
                              "zh": "各在网站址的传输链路（光纤：至所接光纤节点的路由；微波：至上级站址的一跳）："},
    "report.baselines_with_backhaul": {
        "en": "Each rule chooses its sites as if backhaul were free; its sites are then fed by "
              "their cheapest backhaul (fiber, microwave through its own sites, or satellite), so "
              "its total may pass the budget. The optimal plan's total is its own sites and "
              "backhaul. \"-\": some of the rule's sites cannot be fed by any backhaul.",
        "zh": "各简单规则先不计传输选站，再为其站址配最省的传输（光纤、经自身站址的微波或卫星），"
              "因此合计可能超出预算；优化方案的合计为其自身的站址与传输成本。“-”：该规则有站址"
              "无法接入任何传输。"},
    "baseline.joint": {"en": JOINT_LABEL, "zh": "站址与传输联合规划（siting）"},
    "baseline.sequential": {"en": SEQUENTIAL_LABEL, "zh": "先选站址（不计传输），再为每个站址配最省传输"},
    "header.site_cost_cny": {"en": "sites [CNY]", "zh": "站址成本 [万元]"},
    "header.backhaul_cost_cny": {"en": "backhaul [CNY]", "zh": "传输成本 [万元]"},
    "header.total_cost_cny": {"en": "total [CNY]", "zh": "合计 [万元]"},
    "header.from_id": {"en": "site", "zh": "被接入站址"},
    "header.to_id": {"en": "fed from", "zh": "接入点"},
    "header.backhaul": {"en": "backhaul", "zh": "传输方式"},
    "header.band_ghz": {"en": "band [GHz]", "zh": "频段 [GHz]"},
    "header.length_m": {"en": "length [m]", "zh": "长度 [m]"},
    "header.min_clearance_f1": {"en": "clearance [F1]", "zh": "余隙 [F1]"},
    "header.hop": {"en": "hop", "zh": "跳数"},
    "header.load_mbps": {"en": "load [Mbit/s]", "zh": "负荷 [Mbit/s]"},
    "header.capacity_mbps": {"en": "capacity [Mbit/s]", "zh": "容量 [Mbit/s]"},
    "header.max_hop_m": {"en": "longest hop [m]", "zh": "最长单跳 [m]"},
    "report.assumptions_bands": {"en": "Microwave bands on offer for backhaul (a hop costs the "
                                       "cheapest offer that reaches it; \"-\": no capacity "
                                       "given, its hops are not limited):",
                                 "zh": "可用于传输的微波频段（每跳按能达到该距离的最便宜报价计费；"
                                       "“-”：未给出容量，其各跳不限业务量）："},
    # --- report: table headers ----------------------------------------------------------------
    "header.kpi": {"en": "KPI", "zh": "指标"},
    "header.before": {"en": "before", "zh": "规划前"},
    "header.after": {"en": "after", "zh": "规划后"},
    "header.technology": {"en": "technology", "zh": "制式"},
    "header.sites": {"en": "sites", "zh": "站址数"},
    "header.cost_cny": {"en": "cost [CNY]", "zh": "成本 [万元]"},
    "header.spent_cny": {"en": "spent [CNY]", "zh": "实际投资 [万元]"},
    "header.people_newly_covered": {"en": "people newly covered", "zh": "新增覆盖人口"},
    "header.kind": {"en": "kind", "zh": "站址类型"},
    "header.admin_unit": {"en": "admin unit", "zh": "区县"},
    "header.people": {"en": "people", "zh": "人口"},
    "header.people_before": {"en": "people covered before", "zh": "规划前覆盖人口"},
    "header.people_after": {"en": "people covered after", "zh": "规划后覆盖人口"},
    "header.villages": {"en": "villages", "zh": "村数"},
    "header.villages_before": {"en": "villages covered before", "zh": "规划前覆盖村数"},
    "header.villages_after": {"en": "villages covered after", "zh": "规划后覆盖村数"},
    "header.plan": {"en": "plan", "zh": "方案"},
    "header.new_options": {"en": "new options", "zh": "新增建设项"},
    "header.people_covered": {"en": "people covered", "zh": "覆盖人口"},
    "header.mandatory_covered": {"en": "mandatory points covered", "zh": "已覆盖必覆盖点"},
    "header.village": {"en": "village", "zh": "村编号"},
    "header.name": {"en": "name", "zh": "村名"},
    "header.best_level_dbm": {"en": "best level [dBm]", "zh": "最强电平 [dBm]"},
    "header.reason": {"en": "reason", "zh": "原因"},
    "header.point_kind": {"en": "point", "zh": "类型"},
    "header.point": {"en": "id", "zh": "编号"},
    "point_kind.complaint": {"en": "complaint", "zh": "投诉点"},
    "point_kind.zone": {"en": "5G zone check point", "zh": "5G 重点区域检测点"},
    "header.covered_in": {"en": "covered in", "zh": "覆盖年份"},
    "header.site": {"en": "site", "zh": "站址"},
    "header.action": {"en": "action", "zh": "建设方式"},
    "header.height_m": {"en": "height [m]", "zh": "挂高 [m]"},
    "header.year": {"en": "year", "zh": "年份"},
    "header.status": {"en": "status", "zh": "状态"},
    "header.budget_cny": {"en": "budget [CNY]", "zh": "预算 [万元]"},
    "header.quota": {"en": "quota", "zh": "新建站址上限"},
    "header.new_sites": {"en": "new sites", "zh": "新建站址"},
    "header.upgrades": {"en": "upgrades", "zh": "升级站址"},
    "header.people_covered_year_end": {"en": "people covered at year end", "zh": "年末覆盖人口"},
    "header.percent": {"en": "people covered at year end [%]", "zh": "人口覆盖率 [%]"},
    "header.generation": {"en": "generation", "zh": "网络代际"},
    "header.frequency_mhz": {"en": "frequency [MHz]", "zh": "频率 [MHz]"},
    "header.eirp_dbm": {"en": "EIRP [dBm]", "zh": "EIRP [dBm]"},
    "header.rsrp_threshold_dbm": {"en": "RSRP threshold [dBm]", "zh": "RSRP 门限 [dBm]"},
    "header.model": {"en": "model", "zh": "传播模型"},
    "header.max_range_m": {"en": "max range [m]", "zh": "最大计算距离 [m]"},
    "header.clutter_db": {"en": "clutter [dB]", "zh": "地物损耗 [dB]"},
    "header.equipment_cny": {"en": "equipment [CNY]", "zh": "设备投资 [万元]"},
    "header.opex_cny_per_year": {"en": "opex [CNY/yr]", "zh": "运维费用 [万元/年]"},
    # --- report: KPI names --------------------------------------------------------------------
    "kpi.people_covered": {"en": "people covered", "zh": "覆盖人口"},
    "kpi.people_covered_pct": {"en": "people covered [%]", "zh": "人口覆盖率 [%]"},
    "kpi.villages_covered": {"en": "villages covered", "zh": "覆盖村数"},
    "kpi.mandatory_villages_covered": {"en": "mandatory villages covered",
                                       "zh": "必覆盖村（贫困村、易地搬迁安置点等）覆盖数"},
    "kpi.complaints_covered": {"en": "complaint points covered", "zh": "投诉点覆盖数"},
    "kpi.zone_points_covered_5g": {"en": "5G zone check points covered by 5G",
                                   "zh": "5G 重点区域检测点 5G 覆盖数"},
    "kpi.backup_points_met": {"en": "zone check points with backup coverage",
                              "zh": "具备备份覆盖的重点区域检测点"},
    # --- report: the objective ----------------------------------------------------------------
    "goal.min_cost": {"en": "cover all reachable mandatory demand at least cost",
                      "zh": "以最低成本覆盖全部可覆盖的必覆盖需求"},
    "goal.max_coverage": {"en": "cover the mandatory demand, then the most people",
                          "zh": "先覆盖必覆盖需求，再使覆盖人口最多"},
    "goal.phased": {"en": "cover the mandatory demand by {year}, then the most people, earliest",
                    "zh": "{year} 年前覆盖必覆盖需求，再尽早覆盖最多人口"},
    "limit.budget": {"en": "budget {budget:,.0f} CNY", "zh": "预算 {budget:,.2f} 万元"},
    "limit.max_new_sites": {"en": "at most {count} new sites", "zh": "新建站址不超过 {count} 个"},
    "limit.phases": {"en": "{count} yearly phases (see the phased schedule)",
                     "zh": "分 {count} 年实施（见分年建设计划）"},
    # --- report.html --------------------------------------------------------------------------
    "figure.map": {"en": "Plan map: coverage after the plan (RSRP classes), selected sites by "
                         "technology, villages by coverage status.",
                   "zh": "规划图：规划后覆盖（按 RSRP 分级）、按制式标注的入选站址、按覆盖状态标注的村。"},
    "figure.cost_coverage": {"en": "Cost-coverage curve: people covered for each budget (labels: "
                                   "mandatory points covered).",
                             "zh": "投资-覆盖曲线：各预算下的覆盖人口（标注：已覆盖必覆盖点数）。"},
    "footer.html": {"en": "Generated by siting. The interactive map is {map_link}; GIS layers are "
                          "in sites.gpkg, sites.kml (Google Earth), selected_sites.csv and "
                          "coverage.tif.",
                    "zh": "由 siting 生成。交互式地图见 {map_link}；GIS 图层见 sites.gpkg、"
                          "sites.kml（Google 地球）、selected_sites.csv 和 coverage.tif。"},
    # --- the year-end evaluation (siting evaluate) ----------------------------------------------
    "evaluation.title": {"en": "Year-end evaluation {year}: {name}", "zh": "{year} 年度建设评估：{name}"},
    "evaluation.intro": {"en": "The plan **{plan}** against what was built through **{year}** "
                               "(as-built list {source}). Coverage is recomputed with the plan's own "
                               "scenario and coverage engine.",
                         "zh": "规划 **{plan}** 与截至 **{year}** 年实际建设情况（已建清单 {source}）的"
                               "对比。覆盖按规划本身的场景和覆盖计算引擎重新计算。"},
    "evaluation.footer": {"en": "Generated by siting evaluate. Every table is in evaluation.xlsx "
                                "(one sheet each) and evaluation.json.",
                          "zh": "由 siting evaluate 生成。各表格见 evaluation.xlsx（每表一页）和 "
                                "evaluation.json。"},
    "evaluation.figure": {"en": "Coverage of the as-built network (RSRP classes), sites by status, "
                                "mandatory villages still uncovered and complaint points.",
                          "zh": "已建网络覆盖（RSRP 等级）、各状态站址、仍未覆盖的必覆盖村和投诉点。"},
    "evaluation.map_title": {"en": "Year-end evaluation {year}: {name}", "zh": "{year} 年度建设评估：{name}"},
    "evaluation.none": {"en": "None.", "zh": "无。"},
    "evaluation.backhaul_changed": {"en": "Built with another backhaul than planned: {sites}.",
                                    "zh": "传输方式与规划不同的站址：{sites}。"},
    "evaluation.backhaul_changed_site": {"en": "{site} (planned {planned}, built {built})",
                                         "zh": "{site}（规划{planned}，实建{built}）"},
    "evaluation.feed_only": {"en": "backhaul only", "zh": "仅传输接入"},
    "evaluation.map_complaint": {"en": "complaint point {status}", "zh": "投诉点：{status}"},
    "evaluation.map_uncovered": {"en": "mandatory village uncovered", "zh": "未覆盖的必覆盖村"},
    "evaluation.section.overall": {"en": "Planned and achieved", "zh": "计划与完成情况"},
    "evaluation.section.counties": {"en": "By county, with the score", "zh": "各区县完成情况与得分"},
    "evaluation.section.sites": {"en": "Sites: planned and built", "zh": "站址计划与建设情况"},
    "evaluation.section.uncovered": {"en": "Mandatory villages still without coverage, and why",
                                     "zh": "仍未覆盖的必覆盖村及原因"},
    "evaluation.section.complaints": {"en": "Complaint points not covered before the plan",
                                      "zh": "规划前未覆盖的投诉点"},
    "evaluation.section.score_rule": {"en": "How the score is computed", "zh": "得分计算规则"},
    "evaluation.kpi.sites_due": {"en": "sites due / built", "zh": "计划应建 / 已建站址"},
    "evaluation.kpi.sites_on_time": {"en": "sites built on time", "zh": "按期建成站址"},
    "evaluation.kpi.sites_early": {"en": "sites built early", "zh": "提前建成站址"},
    "evaluation.kpi.sites_late": {"en": "sites built late", "zh": "延期建成站址"},
    "evaluation.kpi.sites_not_built": {"en": "sites due, not built", "zh": "应建未建站址"},
    "evaluation.kpi.sites_not_in_plan": {"en": "sites built outside the plan", "zh": "规划外建设站址"},
    "evaluation.kpi.sites_backhaul_changed": {"en": "sites built with another backhaul than planned",
                                              "zh": "传输方式与规划不同的站址"},
    "evaluation.kpi.feeds_due": {"en": "feeds of existing sites due / built",
                                 "zh": "现网站址应建 / 已建传输接入"},
    "evaluation.kpi.backhaul_cny": {"en": "backhaul [CNY]: planned", "zh": "传输投资 [万元]：计划"},
    "evaluation.kpi.cost_cny": {"en": "cost (capex and backhaul) [CNY]: planned / spent",
                                "zh": "投资（含传输）[万元]：计划 / 实际"},
    "evaluation.kpi.capex_cny": {"en": "capex [CNY]: planned / spent", "zh": "建设投资 [万元]：计划 / 实际"},
    "evaluation.kpi.people_covered": {"en": "people covered", "zh": "覆盖人口"},
    "evaluation.kpi.villages_covered": {"en": "villages covered", "zh": "覆盖村数"},
    "evaluation.kpi.mandatory_villages_covered": {"en": "mandatory villages covered",
                                                  "zh": "必覆盖村覆盖数"},
    "evaluation.kpi.mandatory_villages_uncovered": {"en": "mandatory villages still uncovered",
                                                    "zh": "仍未覆盖的必覆盖村"},
    "evaluation.kpi.complaints_resolved": {"en": "complaint points resolved", "zh": "已解决投诉点"},
    "evaluation.kpi.complaints_still_uncovered": {"en": "complaint points still uncovered",
                                                  "zh": "仍未覆盖投诉点"},
    "evaluation.kpi.complaints_new": {"en": "new complaint points", "zh": "新增投诉点"},
    "evaluation.kpi.complaints_new_uncovered": {"en": "new complaint points uncovered",
                                                "zh": "新增投诉点中未覆盖"},
    "evaluation.kpi.score": {"en": "score (0-100)", "zh": "得分（0-100）"},
    "evaluation.column.kpi": {"en": "KPI", "zh": "指标"},
    "evaluation.column.planned": {"en": "planned", "zh": "计划"},
    "evaluation.column.achieved": {"en": "achieved", "zh": "完成"},
    "evaluation.column.admin_unit": {"en": "county", "zh": "区县"},
    "evaluation.column.sites_due": {"en": "sites due", "zh": "应建站址"},
    "evaluation.column.sites_on_time": {"en": "on time", "zh": "按期建成"},
    "evaluation.column.sites_early": {"en": "early", "zh": "提前建成"},
    "evaluation.column.sites_late": {"en": "late", "zh": "延期建成"},
    "evaluation.column.sites_not_built": {"en": "not built", "zh": "未建"},
    "evaluation.column.sites_not_in_plan": {"en": "outside the plan", "zh": "规划外"},
    "evaluation.column.planned_capex_cny": {"en": "planned capex [CNY]", "zh": "计划投资 [万元]"},
    "evaluation.column.planned_backhaul_cny": {"en": "planned backhaul [CNY]", "zh": "计划传输投资 [万元]"},
    "evaluation.column.planned_cost_cny": {"en": "planned cost with backhaul [CNY]",
                                           "zh": "计划投资（含传输）[万元]"},
    "evaluation.column.planned_backhaul": {"en": "planned backhaul", "zh": "规划传输方式"},
    "evaluation.column.built_backhaul": {"en": "built backhaul", "zh": "实建传输方式"},
    "evaluation.column.sites_backhaul_changed": {"en": "backhaul changed", "zh": "传输方式变更"},
    "evaluation.column.spent_cny": {"en": "spent [CNY]", "zh": "实际投资 [万元]"},
    "evaluation.column.people_planned": {"en": "people covered: planned", "zh": "计划覆盖人口"},
    "evaluation.column.people_achieved": {"en": "people covered: achieved", "zh": "实际覆盖人口"},
    "evaluation.column.mandatory_villages_planned": {"en": "mandatory villages: planned",
                                                     "zh": "必覆盖村：计划"},
    "evaluation.column.mandatory_villages_achieved": {"en": "mandatory villages: achieved",
                                                      "zh": "必覆盖村：完成"},
    "evaluation.column.mandatory_villages_uncovered": {"en": "mandatory villages uncovered",
                                                       "zh": "必覆盖村未覆盖"},
    "evaluation.column.complaints_resolved": {"en": "complaints resolved", "zh": "投诉已解决"},
    "evaluation.column.complaints_still_uncovered": {"en": "complaints uncovered", "zh": "投诉仍未覆盖"},
    "evaluation.column.complaints_new": {"en": "new complaints", "zh": "新增投诉"},
    "evaluation.column.score": {"en": "score", "zh": "得分"},
    "evaluation.column.site_id": {"en": "site", "zh": "站址"},
    "evaluation.column.technology": {"en": "technology", "zh": "制式"},
    "evaluation.column.planned_year": {"en": "planned year", "zh": "计划年份"},
    "evaluation.column.built_year": {"en": "built year", "zh": "建成年份"},
    "evaluation.column.actual_cost_cny": {"en": "actual cost [CNY]", "zh": "实际投资 [万元]"},
    "evaluation.column.status": {"en": "status", "zh": "状态"},
    "evaluation.column.village_id": {"en": "village", "zh": "村编号"},
    "evaluation.column.name": {"en": "name", "zh": "村名"},
    "evaluation.column.population": {"en": "population", "zh": "人口"},
    "evaluation.column.reason": {"en": "reason", "zh": "原因"},
    "evaluation.column.complaint_id": {"en": "complaint point", "zh": "投诉点"},
    "evaluation.column.nearest_unbuilt_site": {"en": "nearest unbuilt planned site that covers it",
                                               "zh": "可覆盖的最近未建规划站址"},
    "evaluation.column.its_planned_year": {"en": "its planned year", "zh": "其计划年份"},
    "evaluation.column.distance_m": {"en": "distance [m]", "zh": "距离 [m]"},
    "evaluation.column.criterion": {"en": "criterion", "zh": "评分项"},
    "evaluation.column.weight": {"en": "weight", "zh": "权重"},
    "evaluation.column.definition": {"en": "definition", "zh": "定义"},
    "evaluation.criterion.sites_on_time": {"en": "sites on time", "zh": "站址按期建成"},
    "evaluation.criterion.budget": {"en": "budget kept", "zh": "投资控制"},
    "evaluation.criterion.people": {"en": "people gained", "zh": "新增覆盖人口"},
    "evaluation.criterion.mandatory_villages": {"en": "mandatory villages gained",
                                                "zh": "新增覆盖的必覆盖村"},
    "evaluation.criterion.complaints": {"en": "complaint points covered", "zh": "投诉点覆盖"},
    "evaluation.definition.sites_on_time": {
        "en": "sites built on time or early / sites due by the year (1 when none is due)",
        "zh": "按期或提前建成的站址数 / 截至本年度应建站址数（无应建站址时为 1）"},
    "evaluation.definition.budget": {
        "en": "min(1, planned cost (capex and backhaul) of the planned sites and feeds built / "
              "their actual cost) (1 when none was built; sites built outside the plan are "
              "left out)",
        "zh": "min(1, 已建成的规划站址与传输接入的计划投资（含传输）/ 其实际投资)（无已建规划站址时为 1；"
              "规划外建设的站址不计）"},
    "evaluation.definition.people": {
        "en": "people gained / people the plan gains by the year (0-1; 1 when it gains none)",
        "zh": "实际新增覆盖人口 / 计划截至本年度新增覆盖人口（0-1；计划无新增时为 1）"},
    "evaluation.definition.mandatory_villages": {
        "en": "mandatory villages gained / mandatory villages the plan gains by the year (0-1; 1 "
              "when it gains none)",
        "zh": "实际新增覆盖的必覆盖村 / 计划截至本年度新增覆盖的必覆盖村（0-1；计划无新增时为 1）"},
    "evaluation.definition.complaints": {
        "en": "complaint points (old and new) covered / all complaint points (1 when none)",
        "zh": "已覆盖投诉点（含新增）/ 全部投诉点（无投诉点时为 1）"},
    # --- values of the tables -----------------------------------------------------------------
    "action.build": {"en": "build", "zh": "新建"},
    "action.upgrade": {"en": "upgrade", "zh": "升级"},
    "action.keep": {"en": "keep", "zh": "保留"},
    "kind.existing_4g": {"en": "existing 4G site", "zh": "现网4G站"},
    "kind.existing_5g": {"en": "existing 5G site", "zh": "现网5G站"},
    "kind.public_building": {"en": "public building", "zh": "公共建筑"},
    "kind.lamp_pole": {"en": "lamp pole", "zh": "路灯杆"},
    "kind.water_tower": {"en": "water tower", "zh": "水塔"},
    "kind.existing_tower": {"en": "existing tower", "zh": "现有铁塔"},
    "kind.rooftop": {"en": "rooftop", "zh": "楼顶"},
    "kind.greenfield": {"en": "greenfield tower", "zh": "新建落地塔"},
    "reason.no_candidate": {"en": REASON_NO_CANDIDATE, "zh": "覆盖范围内没有候选站址"},
    "reason.below_threshold": {"en": REASON_BELOW_THRESHOLD,
                               "zh": "受地形或距离影响，范围内所有候选站址的信号均低于门限"},
    "reason.budget": {"en": REASON_BUDGET, "zh": "在预算或新建站址数上限内无法覆盖"},
    "reason.solver_stopped": {"en": REASON_SOLVER_STOPPED,
                              "zh": "求解器在找到覆盖该处的方案前已停止（未证明预算或站址数不足；"
                                    "加大 solver.time_limit_s 可能覆盖）"},
    "reason.no_backhaul": {"en": REASON_NO_BACKHAUL,
                           "zh": "可覆盖该处的站址均无法接入传输：无光纤路由，无 {hops} 跳以内的微波链路，"
                                 "无卫星"},
    "reason.no_terrestrial_feed": {"en": REASON_NO_TERRESTRIAL_FEED,
                                   "zh": "只有卫星传输的站址能覆盖该处：可覆盖该处的站址均无光纤路由，"
                                         "也无 {hops} 跳以内的微波链路"},
    "reason.over_budget": {"en": REASON_OVER_BUDGET,
                           "zh": "最便宜的可覆盖站址需 {cost_m} 万元，超过剩余预算 {left_m} 万元"},
    "reason.over_budget_fed": {"en": REASON_OVER_BUDGET_FED,
                               "zh": "最便宜的可覆盖站址加最便宜的传输接入（{feed}）需 {cost_m} 万元，超过剩余预算 "
                                     "{left_m} 万元（传输已占 {backhaul_m} 万元）"},
    "reason.quota": {"en": REASON_QUOTA, "zh": "新建站址数上限 {quota} 个已用完"},
    "reason.over_budget_and_quota": {"en": REASON_OVER_BUDGET_AND_QUOTA,
                                     "zh": "{reason}；且新建站址数上限 {quota} 个也已用完"},
    "reason.over_year_budgets": {"en": REASON_OVER_YEAR_BUDGETS,
                                 "zh": "最便宜的可覆盖站址需 {cost_m} 万元，超过每一年的剩余预算"
                                       "（剩余最多的是 {year} 年：{left_m} 万元）"},
    "reason.over_year_budgets_fed": {"en": REASON_OVER_YEAR_BUDGETS_FED,
                                     "zh": "最便宜的可覆盖站址加最便宜的传输接入（{feed}）需 {cost_m} "
                                           "万元，超过每一年的剩余预算（剩余最多的是 {year} 年：{left_m} "
                                           "万元；传输已占 {backhaul_m} 万元）"},
    "reason.no_generation": {"en": REASON_NO_GENERATION, "zh": "缺少 {generation} 覆盖：{reason}"},
    "reason.other_technology": {"en": REASON_OTHER_TECHNOLOGY,
                                "zh": "可覆盖该处的站址均已规划为其他制式（每个新建站址只建一种制式）"},
    "reason.year_quotas": {"en": REASON_YEAR_QUOTAS, "zh": "每一年的新建站址数上限均已用完"},
    "reason.over_budget_and_year_quotas": {"en": REASON_OVER_BUDGET_AND_YEAR_QUOTAS,
                                           "zh": "{reason}；且每一年的新建站址数上限也已用完"},
    # the terminal's summary of a run (siting.cli), in the report's language
    "terminal.people": {"en": "people covered", "zh": "覆盖人口"},
    "terminal.people_value": {"en": "{before} -> {after} ({share}%)",
                              "zh": "{before} -> {after}（{share}%）"},
    "terminal.villages": {"en": "villages covered", "zh": "覆盖村庄"},
    "terminal.villages_value": {"en": "{before} -> {after} of {total}",
                                "zh": "{before} -> {after}，共 {total} 个"},
    "terminal.mandatory": {"en": "mandatory villages", "zh": "必覆盖村庄"},
    "terminal.mandatory_value": {"en": "{covered} of {total} covered",
                                 "zh": "已覆盖 {covered} 个，共 {total} 个"},
    "terminal.sites": {"en": "new sites / upgrades", "zh": "新建站址 / 升级"},
    "terminal.cost": {"en": "total cost", "zh": "总成本"},
    "terminal.cost_value": {"en": "{total} CNY", "zh": "{total} 万元"},
    "terminal.cost_split": {"en": "{total} CNY (sites {sites} + backhaul {backhaul})",
                            "zh": "{total} 万元（站址 {sites} + 传输 {backhaul}）"},
    "terminal.solver": {"en": "solver", "zh": "求解器"},
    "terminal.solver_value": {"en": "{name} {status}, gap {gap}%",
                              "zh": "{name} {status}，间隙 {gap}%"},
    "terminal.outputs": {"en": "outputs", "zh": "输出目录"},
    "solver_status.optimal": {"en": "optimal", "zh": "最优"},
    "solver_status.feasible": {"en": "feasible", "zh": "可行"},
    "solver_status.time_limit": {"en": "stopped at the time limit", "zh": "达到时间上限"},
    "solver_status.infeasible": {"en": "infeasible", "zh": "不可行"},
    "baseline.existing": {"en": "existing sites only", "zh": "仅现网站址"},
    "baseline.free_public": {"en": "build every free public site", "zh": "建设全部免费公共站址"},
    "baseline.greedy": {"en": "greedy (value per yuan)", "zh": "贪心法（单位投资效益优先）"},
    "baseline.optimal": {"en": "optimal plan (siting)", "zh": "优化方案（siting）"},
    "village_status.covered": {"en": "covered", "zh": "已覆盖"},
    "village_status.uncovered": {"en": "uncovered", "zh": "未覆盖"},
    "village_status.mandatory_uncovered": {"en": "mandatory uncovered", "zh": "必覆盖村未覆盖"},
    "admin.outside": {"en": OUTSIDE_ADMIN_UNITS, "zh": "（行政区外）"},
    "admin.all": {"en": ALL_UNITS, "zh": "（全市合计）"},
    "reason.not_built": {"en": REASON_NOT_BUILT, "zh": "可覆盖该处的规划站址尚未建成"},
    "reason.later": {"en": REASON_LATER, "zh": "已规划在以后年度建设"},
    "reason.not_planned": {"en": REASON_NOT_PLANNED, "zh": "在网站址信号均达不到门限，且本年度前未规划站址"},
    "site_status.on_time": {"en": "on_time", "zh": "按期建成"},
    "site_status.early": {"en": "early", "zh": "提前建成"},
    "site_status.late": {"en": "late", "zh": "延期建成"},
    "site_status.not_built": {"en": "not_built", "zh": "未建成"},
    "site_status.later": {"en": "later", "zh": "以后年度"},
    "site_status.not_in_plan": {"en": "not_in_plan", "zh": "规划外建设"},
    "complaint_status.covered_before": {"en": "covered_before", "zh": "规划前已覆盖"},
    "complaint_status.resolved": {"en": "resolved", "zh": "已解决"},
    "complaint_status.still_uncovered": {"en": "still_uncovered", "zh": "仍未覆盖"},
    "complaint_status.new_covered": {"en": "new_covered", "zh": "新投诉（已覆盖）"},
    "complaint_status.new_uncovered": {"en": "new_uncovered", "zh": "新投诉（未覆盖）"},
    # the solver stages of siting.plan, matched by stage_text
    "stage.mandatory_least_cost": {"en": "cover every reachable mandatory point at least cost",
                                   "zh": "以最低成本覆盖全部可覆盖的必覆盖点"},
    "stage.mandatory_by": {"en": "cover every reachable mandatory point by {year}",
                           "zh": "{year} 年前覆盖全部可覆盖的必覆盖点"},
    "stage.backup": {"en": " ({count} zone check points by at least {servers} sites each, for "
                           "backup)",
                     "zh": "（{count} 个重点区域检测点各由至少 {servers} 个站址覆盖，作为备份）"},
    "stage.generations": {"en": ", each by an option of each of: {generations}",
                          "zh": "，每处均需以下各制式覆盖：{generations}"},
    "stage.generation_count": {"en": " (counting each generation a point needs)",
                               "zh": "（按每处所需的每种制式计数）"},
    "stage.over_budget": {"en": ": over the budget or quota", "zh": "：超出预算或新建站址上限"},
    "stage.unproven_over_budget": {"en": ": no plan within the budget found in its time (not "
                                         "proven over it)",
                                   "zh": "：限时内未找到预算内的方案（未证明超出预算）"},
    "stage.backhaul": {"en": ", every site on air fed by fiber or by up to {hops} microwave hops",
                       "zh": "，每个在网站址均由光纤或不超过 {hops} 跳的微波接入传输"},
    "stage.backhaul_satellite": {"en": ", every site on air fed by fiber, by up to {hops} "
                                       "microwave hops or by satellite",
                                 "zh": "，每个在网站址均由光纤、不超过 {hops} 跳的微波或卫星接入传输"},
    "stage.backhaul_terrestrial": {"en": " (a mandatory point only by a site not fed by "
                                         "satellite)",
                                   "zh": "（必覆盖点只计不经卫星接入传输的站址）"},
    "stage.most_mandatory": {"en": "cover as many mandatory points as the budget and quota allow "
                                   "({covered} of {total}, without backup coverage)",
                             "zh": "在预算和新建站址上限内尽可能多地覆盖必覆盖点（{total} 个中的 "
                                   "{covered} 个，不含备份覆盖）"},
    "stage.most_mandatory_by": {"en": "cover as many mandatory points by {year} as the phases' "
                                      "budgets and quotas allow ({covered} of {total}, without "
                                      "backup coverage)",
                                "zh": "在各年预算和新建站址上限内，{year} 年前尽可能多地覆盖必覆盖点"
                                      "（{total} 个中的 {covered} 个，不含备份覆盖）"},
    "stage.most_mandatory_by_in_time": {"en": "cover as many mandatory points by {year} as the "
                                              "solver found in its time ({covered} of {total}, "
                                              "without backup coverage)",
                                        "zh": "{year} 年前尽可能多地覆盖必覆盖点：求解器在限时内"
                                              "找到的方案覆盖 {total} 个中的 {covered} 个（不含备份覆盖）"},
    "stage.most_mandatory_late": {"en": "then as many of the others as the later phases allow, "
                                        "by {year} ({covered} of {total} in all)",
                                  "zh": "再在以后各年的预算和新建站址上限内尽可能多地覆盖其余必覆盖点"
                                        "（{year} 年前共覆盖 {total} 个中的 {covered} 个）"},
    "stage.most_people": {"en": "then cover the most people within the budget and quota, at "
                                "least cost",
                          "zh": "再在预算和新建站址上限内以最低成本覆盖最多人口"},
    "stage.most_people_earliest": {"en": "then cover the most people earliest: people covered "
                                         "summed over the {count} phases",
                                   "zh": "再尽早覆盖最多人口：{count} 年覆盖人口之和最大"},
    "stage.discount": {"en": ", discounted {rate} a year", "zh": "（每年折现 {rate}）"},
    # --- RSRP classes (map.png and map.html legends) ------------------------------------------
    "rsrp.top": {"en": ">= {floor:g} dBm ({quality})", "zh": "≥ {floor:g} dBm（{quality}）"},
    "rsrp.between": {"en": "{floor:g} to {ceiling:g} dBm ({quality})",
                     "zh": "{floor:g} 至 {ceiling:g} dBm（{quality}）"},
    "rsrp.bottom": {"en": "< {ceiling:g} dBm ({quality})", "zh": "< {ceiling:g} dBm（{quality}）"},
    "rsrp.excellent": {"en": "excellent", "zh": "优"},
    "rsrp.good": {"en": "good", "zh": "良"},
    "rsrp.fair": {"en": "fair", "zh": "中"},
    "rsrp.edge": {"en": "edge", "zh": "边缘"},
    # --- map.png ------------------------------------------------------------------------------
    "staticmap.title": {"en": "Siting plan: {name}", "zh": "基站站址规划：{name}"},
    "staticmap.easting": {"en": "easting [km] ({crs})", "zh": "东坐标 [km]（{crs}）"},
    "staticmap.northing": {"en": "northing [km]", "zh": "北坐标 [km]"},
    "staticmap.new_sites": {"en": "new/upgraded: {technology} ({count})",
                            "zh": "新建/升级：{technology}（{count}）"},
    "staticmap.existing_sites": {"en": "existing sites ({count})", "zh": "现网站址（{count}）"},
    "staticmap.village_covered": {"en": "village covered ({count})", "zh": "已覆盖村（{count}）"},
    "staticmap.village_uncovered": {"en": "village uncovered ({count})", "zh": "未覆盖村（{count}）"},
    "staticmap.village_mandatory_uncovered": {"en": "mandatory village uncovered ({count})",
                                              "zh": "未覆盖的必覆盖村（{count}）"},
    "staticmap.admin_units": {"en": "admin unit boundary", "zh": "区县界线"},
    "staticmap.backhaul_fiber": {"en": "fiber route ({count})", "zh": "光纤路由（{count}）"},
    "staticmap.backhaul_microwave": {"en": "microwave hop ({count})", "zh": "微波链路（{count}）"},
    "staticmap.north": {"en": "N", "zh": "北"},
    "prediction.overlay": {"en": "RSRP [dBm], {technology}", "zh": "参考信号接收功率 RSRP [dBm]，{technology}"},
    "staticmap.scale": {"en": "{km:g} km", "zh": "{km:g} km"},
    # --- map.html -----------------------------------------------------------------------------
    "webmap.title": {"en": "Siting plan: {name}", "zh": "基站站址规划：{name}"},
    "webmap.legend": {"en": "Legend", "zh": "图例"},
    "webmap.layer_hillshade": {"en": "Terrain (hillshade)", "zh": "地形（晕渲）"},
    "webmap.layer_population": {"en": "Population (people per cell)", "zh": "人口（每网格人数）"},
    "webmap.layer_coverage": {"en": "Coverage after plan (best server RSRP)",
                              "zh": "规划后覆盖（最强服务小区 RSRP）"},
    "webmap.layer_coverage_technology": {"en": "Coverage {technology} (RSRP)",
                                         "zh": "{technology} 覆盖（RSRP）"},
    "webmap.layer_admin_units": {"en": "Admin units", "zh": "区县"},
    "webmap.layer_zones": {"en": "5G zones", "zh": "5G 重点区域"},
    "webmap.layer_selected_sites": {"en": "Selected sites: {technology}",
                                    "zh": "入选站址：{technology}"},
    "webmap.layer_existing_sites": {"en": "Existing sites", "zh": "现网站址"},
    "webmap.layer_villages": {"en": "Villages", "zh": "村"},
    "webmap.layer_backhaul": {"en": "Backhaul links", "zh": "传输链路"},
    "webmap.layer_basemap": {"en": "Basemap", "zh": "底图"},
    "webmap.tiles_offline": {"en": "The basemap tiles could not be loaded: they need a network "
                                   "connection. The terrain and the plan's layers are all here.",
                             "zh": "底图瓦片无法加载（需要联网）；地形和规划的各图层均已完整显示。"},
    "webmap.legend_site": {"en": "site: {technology}", "zh": "站址：{technology}"},
    "webmap.legend_new_site": {"en": "new site", "zh": "新建站址"},
    "webmap.legend_upgraded_site": {"en": "upgraded existing site", "zh": "升级的现网站址"},
    "webmap.legend_letters": {"en": "letter: {letters}", "zh": "字母：{letters}"},
    "webmap.legend_existing": {"en": "existing site (kept)", "zh": "现网站址（保留）"},
    "webmap.legend_existing_kind": {"en": "existing", "zh": "现网站址"},
    "webmap.legend_village": {"en": "village {status}", "zh": "村：{status}"},
    "webmap.legend_population": {"en": "population per cell (log, max {max:,.0f})",
                                 "zh": "每网格人口（对数，最大 {max:,.0f}）"},
    "webmap.popup_site": {"en": "site", "zh": "站址"},
    "webmap.popup_action": {"en": "action", "zh": "建设方式"},
    "webmap.popup_kind": {"en": "kind", "zh": "站址类型"},
    "webmap.popup_technology": {"en": "technology", "zh": "制式"},
    "webmap.popup_height_m": {"en": "antenna height [m]", "zh": "天线挂高 [m]"},
    "webmap.popup_cost_cny": {"en": "cost [CNY]", "zh": "成本 [万元]"},
    "webmap.popup_people_newly_covered": {"en": "people newly covered", "zh": "新增覆盖人口"},
    "webmap.popup_phase": {"en": "phase", "zh": "建设年份"},
    "webmap.popup_this_plan": {"en": "this plan", "zh": "本期"},
    "webmap.popup_built_year": {"en": "built in (as-built list)", "zh": "建成年份（竣工清单）"},
    "webmap.popup_backhaul": {"en": "backhaul", "zh": "传输方式"},
    "webmap.popup_backhaul_cost_cny": {"en": "backhaul cost [CNY]", "zh": "传输成本 [万元]"},
    "webmap.popup_from_id": {"en": "fed site", "zh": "被接入站址"},
    "webmap.popup_to_id": {"en": "fed from", "zh": "接入点"},
    "webmap.popup_band_ghz": {"en": "band [GHz]", "zh": "微波频段 [GHz]"},
    "webmap.popup_length_m": {"en": "length [m]", "zh": "长度 [m]"},
    "webmap.popup_min_clearance_f1": {"en": "clearance / first Fresnel radius",
                                      "zh": "最小余隙 / 第一菲涅尔区半径"},
    "webmap.popup_hop": {"en": "microwave hops from fiber", "zh": "距光纤的微波跳数"},
    "webmap.popup_load_mbps": {"en": "load [Mbit/s]", "zh": "链路负荷 [Mbit/s]"},
    "webmap.popup_capacity_mbps": {"en": "capacity [Mbit/s]", "zh": "链路容量 [Mbit/s]"},
    "webmap.legend_link": {"en": "backhaul: {kind}", "zh": "传输：{kind}"},
    "webmap.popup_village": {"en": "village", "zh": "村"},
    "webmap.popup_id": {"en": "id", "zh": "编号"},
    "webmap.popup_people": {"en": "people", "zh": "人口"},
    "webmap.popup_admin_unit": {"en": "admin unit", "zh": "区县"},
    "webmap.popup_mandatory": {"en": "mandatory", "zh": "必覆盖"},
    "webmap.popup_status": {"en": "status", "zh": "覆盖状态"},
    "webmap.popup_served_by": {"en": "served by", "zh": "服务站址"},
    "webmap.popup_best_level_dbm": {"en": "best level [dBm]", "zh": "最强电平 [dBm]"},
    "webmap.popup_reason": {"en": "reason", "zh": "未覆盖原因"},
    "webmap.popup_zone": {"en": "zone", "zh": "区域"},
    "webmap.popup_zone_kind": {"en": "kind", "zh": "区域类型"},
    "webmap.popup_name": {"en": "name", "zh": "名称"},
    "webmap.yes": {"en": "yes", "zh": "是"},
    "webmap.no": {"en": "no", "zh": "否"},
    "webmap.tooltip_site": {"en": "{site}: {action} {technology} ({kind})",
                            "zh": "{site}：{action} {technology}（{kind}）"},
    # --- sites.kml ----------------------------------------------------------------------------
    "kml.title": {"en": "siting: {name}", "zh": "基站站址规划（siting）：{name}"},
    "kml.folder_sites": {"en": "Sites of the plan", "zh": "规划站址"},
    "kml.folder_uncovered": {"en": "Uncovered mandatory villages", "zh": "未覆盖的必覆盖村"},
    "kml.folder_backhaul": {"en": "Backhaul links", "zh": "传输链路"},
    # --- columns of the site and village tables (the sites.kml balloon) -------------------------
    "field.site_id": {"en": "site id", "zh": "站址编号"},
    "field.kind": {"en": "site kind", "zh": "站址类型"},
    "field.antenna_height_m": {"en": "antenna height [m]", "zh": "天线挂高 [m]"},
    "field.free_public": {"en": "free public site", "zh": "免费公共站址"},
    "field.difficult": {"en": "difficult to build", "zh": "建设困难"},
    "field.technologies": {"en": "technologies allowed", "zh": "可建制式"},
    "field.existing": {"en": "existing site", "zh": "现网站址"},
    "field.selected": {"en": "selected", "zh": "入选"},
    "field.technology": {"en": "technology", "zh": "制式"},
    "field.technology_built": {"en": "technology built in this plan", "zh": "本期建设制式"},
    "field.capex_cny": {"en": "capex [CNY]", "zh": "建设投资 [万元]"},
    "field.opex_cny_per_year": {"en": "opex [CNY/yr]", "zh": "运维费用 [万元/年]"},
    "field.rent_cny_per_year": {"en": "rent [CNY/yr]", "zh": "场租 [万元/年]"},
    "field.total_cost_cny": {"en": "total cost over the horizon [CNY]", "zh": "规划期总成本 [万元]"},
    "field.extra_cost_cny": {"en": "extra cost [CNY]", "zh": "附加成本 [万元]"},
    "field.has_fiber": {"en": "fiber on site", "zh": "站址已通光纤"},
    "field.backhaul_in_place": {"en": "backhaul in place", "zh": "已有传输"},
    "field.input_capex_cny": {"en": "site capex (input) [CNY]", "zh": "站址建设投资（输入）[万元]"},
    "field.input_opex_cny_per_year": {"en": "site opex (input) [CNY/yr]", "zh": "站址运维费用（输入）[万元/年]"},
    "field.people_served": {"en": "people served", "zh": "服务人口"},
    "field.people_newly_covered": {"en": "people newly covered", "zh": "新增覆盖人口"},
    "field.action": {"en": "action", "zh": "建设方式"},
    "field.phase": {"en": "year built", "zh": "建设年份"},
    "field.built_year": {"en": "year built (as-built list)", "zh": "建成年份（竣工清单）"},
    "field.built_technologies": {"en": "technologies built (as-built list)", "zh": "建成制式（竣工清单）"},
    "field.village_id": {"en": "village id", "zh": "村编号"},
    "field.name": {"en": "name", "zh": "名称"},
    "field.population": {"en": "population", "zh": "人口"},
    "field.admin_unit": {"en": "admin unit", "zh": "区县"},
    "field.poverty_village": {"en": "poverty village", "zh": "贫困村"},
    "field.relocation_site": {"en": "relocation site", "zh": "易地搬迁安置点"},
    "field.mandatory": {"en": "mandatory", "zh": "必覆盖"},
    "field.covered_before": {"en": "covered before the plan", "zh": "规划前已覆盖"},
    "field.covered_after": {"en": "covered after the plan", "zh": "规划后已覆盖"},
    "field.covered_5g": {"en": "covered by 5G", "zh": "5G 覆盖"},
    "field.serving_site": {"en": "serving site", "zh": "服务站址"},
    "field.serving_technology": {"en": "serving technology", "zh": "服务制式"},
    "field.best_level_dbm": {"en": "best level [dBm]", "zh": "最强电平 [dBm]"},
    "field.uncovered_reason": {"en": "reason uncovered", "zh": "未覆盖原因"},
    "field.status": {"en": "coverage status", "zh": "覆盖状态"},
    "field.backhaul": {"en": "backhaul", "zh": "传输方式"},
    "field.backhaul_cost_cny": {"en": "backhaul cost [CNY]", "zh": "传输成本 [万元]"},
    "field.from_id": {"en": "site fed", "zh": "被接入站址"},
    "field.to_id": {"en": "fed from", "zh": "接入点"},
    "field.band_ghz": {"en": "microwave band [GHz]", "zh": "微波频段 [GHz]"},
    "field.length_m": {"en": "length [m]", "zh": "长度 [m]"},
    "field.cost_cny": {"en": "cost [CNY]", "zh": "成本 [万元]"},
    "field.min_clearance_f1": {"en": "smallest clearance / first Fresnel radius", "zh": "最小余隙 / 第一菲涅尔区半径"},
    "field.hop": {"en": "microwave hops from fiber", "zh": "距光纤跳数"},
    "field.load_mbps": {"en": "link load [Mbit/s]", "zh": "链路负荷 [Mbit/s]"},
    "field.capacity_mbps": {"en": "link capacity [Mbit/s]", "zh": "链路容量 [Mbit/s]"},
    "backhaul.fiber": {"en": "fiber", "zh": "光纤"},
    "backhaul.microwave": {"en": "microwave", "zh": "微波"},
    "backhaul.satellite": {"en": "satellite", "zh": "卫星"},
    "backhaul.in_place": {"en": "in place (as built)", "zh": "沿用已建传输"},
    "report.as_built_sites": {
        "en": "The sites the list built, each in the year it went on air (this plan keeps them on air):",
        "zh": "竣工清单已建站址及其建成年份（本规划予以保留）："},
    "schedule_status.built": {"en": "built", "zh": "已建"},
    "schedule_status.planned": {"en": "planned", "zh": "规划"},
    "boolean.true": {"en": "true", "zh": "是"},
    "boolean.false": {"en": "false", "zh": "否"},
    # --- the comparison of two plans (siting compare) ----------------------------------------
    "compare.title": {"en": "Plan comparison: {a} vs {b}", "zh": "方案对比：{a} 与 {b}"},
    "compare.intro": {"en": "A: **{a}**; B: **{b}**; delta = B - A.",
                      "zh": "方案 A：**{a}**；方案 B：**{b}**；差值 = B - A。"},
    "compare.as_built": {
        "en": "Plan {plan} is re-planned from the as-built list {source}: its new sites, upgrades "
              "and costs include what the list built (sites: {sites:,}; spent: {spent:,.0f} CNY, "
              "{charged:,.0f} CNY with their opex over the plan's horizon), counted as a plan "
              "counts the sites it builds.",
        "zh": "方案 {plan} 依据竣工清单 {source} 滚动调整：其新建、升级站址数和投资含清单已建的 "
              "{sites:,} 个站址、实际投资 {spent:,.2f} 万元（计入规划期运维费为 {charged:,.2f} 万元），"
              "与规划自身所建站址同样计入。"},
    "compare.section.sites": {"en": "Sites", "zh": "站址"},
    "compare.section.kpis": {"en": "KPIs", "zh": "指标"},
    "compare.section.by_county": {"en": "KPIs by county", "zh": "各区县指标"},
    "compare.section.villages": {"en": "Villages whose coverage differs", "zh": "覆盖情况不同的村"},
    "compare.of_plan": {"en": "{column} {plan}", "zh": "方案 {plan} {column}"},
    "compare.delta": {"en": "B - A", "zh": "B - A"},
    "compare.none": {"en": "None.", "zh": "无。"},
    "compare.year": {"en": "year", "zh": "建设年份"},
    "compare.serving_site": {"en": "serving site", "zh": "服务站址"},
    "compare.change": {"en": "in B", "zh": "方案 B 中"},
    "compare.sites": {"en": "Sites: {counts}.", "zh": "站址：{counts}。"},
    "compare.status_count": {"en": "{status} {count:,}", "zh": "{status} {count:,} 个"},
    "compare.listed": {"en": "{shown} of the {total} sites that differ (all of them in {file}):",
                       "zh": "不同的站址共 {total} 个，列出 {shown} 个（全部见 {file}）："},
    "compare.site_line": {"en": "  {site}  {status}: {changes}", "zh": "  {site}  {status}：{changes}"},
    "compare.change_of": {"en": "{column} {a} -> {b}", "zh": "{column} {a} -> {b}"},
    "compare.layer_plan": {"en": "Plan {plan}: {name}", "zh": "方案 {plan}：{name}"},
    "compare.layer_villages": {"en": "Villages whose coverage differs", "zh": "覆盖情况不同的村"},
    "compare.legend_village": {"en": "village {change} in B", "zh": "方案 B 中{change}的村"},
    "compare.legend_plan": {"en": "{plan}: {name}", "zh": "{plan}：{name}"},
    "compare.legend_count": {"en": "{label} ({count:,})", "zh": "{label}（{count:,}）"},
    "compare.tooltip_site": {"en": "{site}: {status}, {technology}", "zh": "{site}：{status}，{technology}"},
    "compare.tooltip_village": {"en": "{name}: {change} in B", "zh": "{name}：方案 B 中{change}"},
    "compare_status.only_a": {"en": "only in plan A", "zh": "仅方案 A 有"},
    "compare_status.only_b": {"en": "only in plan B", "zh": "仅方案 B 有"},
    "compare_status.both_technology_changed": {"en": "in both, another technology",
                                               "zh": "两方案均有但制式不同"},
    "compare_status.both_year_or_backhaul_changed": {"en": "in both, another year or backhaul",
                                                     "zh": "两方案均有但建设年份或传输方式不同"},
    "compare_status.both": {"en": "in both, alike", "zh": "两方案均有且相同"},
    "compare_change.gained": {"en": "gained", "zh": "新增覆盖"},
    "compare_change.lost": {"en": "lost", "zh": "失去覆盖"},
    # the KPIs of summary.json (kpis, by_admin_unit) as the comparison names them
    "compare_kpi.backhaul_cost_cny": {"en": "backhaul [CNY]", "zh": "传输成本 [万元]"},
    "compare_kpi.backup_points_met": {"en": "zone check points with backup coverage",
                                      "zh": "具备备份覆盖的重点区域检测点"},
    "compare_kpi.backup_points_total": {"en": "zone check points needing backup coverage",
                                        "zh": "需备份覆盖的重点区域检测点"},
    "compare_kpi.backup_points_met_before": {"en": "zone check points with backup coverage before the plan",
                                             "zh": "规划前具备备份覆盖的重点区域检测点"},
    "compare_kpi.capex_cny": {"en": "capex [CNY]", "zh": "建设投资 [万元]"},
    "compare_kpi.complaints_covered_before_plan": {
        "en": "complaint points the network covered before the plan", "zh": "规划前网络已覆盖的投诉点"},
    "compare_kpi.complaints_covered": {"en": "complaint points covered", "zh": "投诉点覆盖数"},
    "compare_kpi.complaints_covered_before": {"en": "complaint points covered before the plan",
                                              "zh": "规划前已覆盖的投诉点"},
    "compare_kpi.complaints_total": {"en": "complaint points", "zh": "投诉点"},
    "compare_kpi.mandatory_points_uncovered.village": {"en": "mandatory villages uncovered",
                                                       "zh": "未覆盖的必覆盖村"},
    "compare_kpi.mandatory_points_uncovered.complaint": {"en": "mandatory complaint points uncovered",
                                                         "zh": "未覆盖的必覆盖投诉点"},
    "compare_kpi.mandatory_points_uncovered.zone": {"en": "5G zone check points uncovered",
                                                    "zh": "未覆盖的 5G 重点区域检测点"},
    "compare_kpi.mandatory_villages_covered": {"en": "mandatory villages covered", "zh": "必覆盖村覆盖数"},
    "compare_kpi.mandatory_villages_covered_before": {"en": "mandatory villages covered before the plan",
                                                      "zh": "规划前已覆盖的必覆盖村"},
    "compare_kpi.mandatory_villages_reachable": {"en": "mandatory villages some candidate reaches",
                                                 "zh": "有候选站址可覆盖的必覆盖村"},
    "compare_kpi.mandatory_villages_total": {"en": "mandatory villages", "zh": "必覆盖村"},
    "compare_kpi.new_sites": {"en": "new sites", "zh": "新建站址"},
    "compare_kpi.opex_cny_per_year": {"en": "opex [CNY/yr]", "zh": "运维费用 [万元/年]"},
    "compare_kpi.people_covered_after": {"en": "people covered after the plan", "zh": "规划后覆盖人口"},
    "compare_kpi.people_covered_before": {"en": "people covered before the plan", "zh": "规划前覆盖人口"},
    "compare_kpi.people_total": {"en": "people", "zh": "总人口"},
    "compare_kpi.site_cost_cny": {"en": "sites over the horizon [CNY]", "zh": "规划期站址成本 [万元]"},
    "compare_kpi.total_cost_cny": {"en": "total cost over the horizon [CNY]", "zh": "规划期总成本 [万元]"},
    "compare_kpi.upgrades": {"en": "upgrades of existing sites", "zh": "现网站址升级"},
    "compare_kpi.villages_covered_after": {"en": "villages covered after the plan", "zh": "规划后覆盖村数"},
    "compare_kpi.villages_covered_before": {"en": "villages covered before the plan", "zh": "规划前覆盖村数"},
    "compare_kpi.villages_total": {"en": "villages", "zh": "村数"},
    "compare_kpi.zone_points_covered_5g": {"en": "5G zone check points covered by 5G",
                                           "zh": "5G 重点区域检测点 5G 覆盖数"},
    "compare_kpi.zone_points_covered_5g_before": {"en": "5G zone check points covered by 5G before the plan",
                                                  "zh": "规划前 5G 重点区域检测点 5G 覆盖数"},
    "compare_kpi.zone_points_total": {"en": "5G zone check points", "zh": "5G 重点区域检测点"},
    "compare_kpi.people": {"en": "people", "zh": "人口"},
    "compare_kpi.people_before": {"en": "people covered before the plan", "zh": "规划前覆盖人口"},
    "compare_kpi.people_after": {"en": "people covered after the plan", "zh": "规划后覆盖人口"},
    "compare_kpi.villages": {"en": "villages", "zh": "村数"},
    "compare_kpi.villages_before": {"en": "villages covered before the plan", "zh": "规划前覆盖村数"},
    "compare_kpi.villages_after": {"en": "villages covered after the plan", "zh": "规划后覆盖村数"},
    # --- the cost-coverage curve of siting sweep --------------------------------------------------
    "sweep.title": {"en": "{name}: cost-coverage curve (labels: mandatory points covered)",
                    "zh": "{name}：投资-覆盖曲线（标注：已覆盖必覆盖点数）"},
    "sweep.budget_axis": {"en": "budget [million CNY]", "zh": "预算 [万元]"},
    "sweep.quota_axis": {"en": "quota of new sites", "zh": "新建站址上限 [个]"},
    "sweep.people_axis": {"en": "people covered [%]", "zh": "人口覆盖率 [%]"},
    "sweep.money_unit": {"en": "budget and costs in M CNY", "zh": "预算与成本单位：万元"},
    "sweep.column.budget": {"en": "budget", "zh": "预算"},
    "sweep.column.quota": {"en": "quota", "zh": "新建上限"},
    "sweep.column.cost": {"en": "cost", "zh": "成本"},
    "sweep.column.site_cost": {"en": "site cost", "zh": "站址费"},
    "sweep.column.backhaul": {"en": "backhaul", "zh": "传输费"},
    "sweep.column.new_sites": {"en": "new", "zh": "新建站"},
    "sweep.column.people": {"en": "people", "zh": "覆盖人口"},
    "sweep.column.percent": {"en": "[%]", "zh": "覆盖率%"},
    "sweep.column.mandatory": {"en": "mandatory", "zh": "必覆盖点"},
    "sweep.column.solver": {"en": "solver", "zh": "求解"},
    "sweep.column.gap": {"en": "gap%", "zh": "间隙%"},
    # a point's status in the terminal table, short so a row fits 80 columns
    "sweep.status.optimal": {"en": "optimal", "zh": "最优"},
    "sweep.status.feasible": {"en": "feasible", "zh": "可行"},
    "sweep.status.time_limit": {"en": "time limit", "zh": "限时"},
    "sweep.status.infeasible": {"en": "infeasible", "zh": "不可行"},
    "sweep.status.no_plan_in_time": {"en": "no plan", "zh": "限时无解"},
    "sweep.stopped_legend": {"en": "stopped at the time limit: not proven the best",
                             "zh": "限时停止：未证明最优"},
    # --- the path-loss models (siting.propagation.PATH_LOSS_MODELS) by their names -------------
    "model.named": {"en": "{name} ({key})", "zh": "{name}（{key}）"},
    "model.okumura_hata": {"en": "Okumura-Hata", "zh": "Okumura-Hata"},
    "model.cost231_hata": {"en": "COST-231 Hata", "zh": "COST-231 Hata"},
    "model.rma_38901": {"en": "3GPP TR 38.901 RMa", "zh": "3GPP TR 38.901 RMa"},
    "model.uma_38901": {"en": "3GPP TR 38.901 UMa", "zh": "3GPP TR 38.901 UMa"},
    "model.free_space": {"en": "ITU-R P.525 free space", "zh": "ITU-R P.525 自由空间"},
    "model.p1812": {"en": "ITU-R P.1812", "zh": "ITU-R P.1812"},
    "model.itm": {"en": "ITM (Longley-Rice)", "zh": "ITM（Longley-Rice）"},
    # --- joining phrases ----------------------------------------------------------------------
    "list.separator": {"en": ", ", "zh": "、"},
}


#: CNY in one unit of money as each language writes it: yuan in English; 万元 (ten thousand
#: yuan) in Chinese, the unit Chinese budgets and planning documents state money in (and the
#: Chinese uncovered reasons already did).
MONEY_UNIT_CNY = {"en": 1, "zh": 10_000}
#: Decimals of an amount of money in that unit: whole yuan; 万元 to 0.01 (100 yuan).
MONEY_DECIMALS = {"en": 0, "zh": 2}


def money(amount_cny: float, language: str) -> float:
    """An amount [CNY] in the unit of money of ``language`` (:data:`MONEY_UNIT_CNY`).

    >>> money(45_000_000, "zh")
    4500.0
    """
    return amount_cny / MONEY_UNIT_CNY[check_language(language)]


def check_language(language: str) -> str:
    """``language`` if it is one of :data:`LANGUAGES`; a ValueError listing them otherwise."""
    if language not in LANGUAGES:
        raise ValueError(f"language must be one of {', '.join(LANGUAGES)}, got {language!r}")
    return language


def term(key: str, language: str = "en", /, **values) -> str:
    """The text of ``key`` in ``language``, its ``{placeholders}`` filled from ``values``.

    >>> term("limit.budget", "zh", budget=900)
    '预算 900.00 万元'
    """
    check_language(language)
    try:
        text = TERMS[key][language]
    except KeyError:
        raise KeyError(f"no term {key!r} in siting.export.i18n.TERMS") from None
    return text.format(**values) if values else text


def join(parts: Iterable[str], language: str) -> str:
    """Phrases joined as a list in ``language`` (``a, b`` / ``a、b``)."""
    return term("list.separator", language).join(parts)


def value_text(group: str, value, language: str) -> str:
    """A stored value (an action, a site kind, a reason, ...) as a person reads it.

    The value is looked up as ``group.value``, then among the English texts of ``group``,
    then among its English templates filled with numbers (a reason naming costs: the
    numbers are kept, a feed's kind or a reason within it translated); a value the
    catalogue does not know (a technology name, a planner's own kind) is shown as it is.
    """
    check_language(language)
    text = str(value)
    key = f"{group}.{text}"
    if key not in TERMS:
        key = _ENGLISH_INDEX.get((group, text), "")
    if key:
        return TERMS[key][language]
    for key in _TEMPLATE_KEYS.get(group, ()):
        found = _match(TERMS[key]["en"], text)
        if found is not None:
            return term(key, language, **{name: _placeholder_text(name, value, language)
                                          for name, value in found[1].items()})
    return text


#: The field of the admin-unit layer with each unit's name in Chinese (the demo's
#: ``region.gpkg`` has it; a planner maps a column of their own to it with
#: ``inputs.admin_units.fields: {name_zh: 名称}``).
ADMIN_NAME_ZH_FIELD = "name_zh"


def admin_unit_names(admin_units) -> dict[str, str]:
    """Each admin unit's Chinese name (its :data:`ADMIN_NAME_ZH_FIELD`), by the unit as the
    tables name it (the layer's index); units without one (no field, an empty value) are left
    out. ``admin_units``: the admin-unit polygons, or None without any."""
    if admin_units is None or ADMIN_NAME_ZH_FIELD not in admin_units.columns:
        return {}
    names = admin_units[ADMIN_NAME_ZH_FIELD]
    return {str(unit): str(name).strip() for unit, name in zip(admin_units.index, names)
            if isinstance(name, str) and name.strip()}


def admin_text(unit, language: str, names_zh: dict[str, str] | None = None) -> str:
    """An admin unit as a person reads it in ``language``: in Chinese its Chinese name from
    ``names_zh`` (:func:`admin_unit_names`) where it has one; else as the tables name it, the
    rows of all units and of none translated (``admin.`` terms)."""
    if check_language(language) == "zh" and names_zh and str(unit) in names_zh:
        return names_zh[str(unit)]
    return value_text("admin", unit, language)


def _placeholder_text(name: str, value: str, language: str) -> str:
    """A value read off an English template (:func:`value_text`) for the ``language``'s
    template: a feed's kind or a reason translated, an amount in million CNY given in 万元
    in Chinese (two decimals of a million are whole 万), any other number kept."""
    if name in _PLACEHOLDER_GROUPS:
        return value_text(_PLACEHOLDER_GROUPS[name], value, language)
    if name in _MILLION_CNY_PLACEHOLDERS and language == "zh":
        return f"{float(value) * 100:,.0f}"
    return value


def reason_key(reason: str) -> str:
    """The catalogue name of an uncovered reason (``budget``, ``over_budget``, ``quota``, ...:
    its ``reason.`` key), the same whatever numbers fill it; "" for no reason."""
    key = _ENGLISH_INDEX.get(("reason", reason)) or next(
        (k for k in _TEMPLATE_KEYS["reason"] if _match(TERMS[k]["en"], reason) is not None), "")
    return key.split(".", 1)[-1]


def model_text(model: str, language: str) -> str:
    """A path-loss model as a person reads it: its name in the literature with the scenario's
    key in brackets (``3GPP TR 38.901 RMa (rma_38901)``); a key the catalogue does not know
    reads as it is."""
    name = value_text("model", model, language)
    return name if name == model else term("model.named", language, name=name, key=model)


def rsrp_class_labels(floors_dbm: Sequence[float], language: str,
                      qualities: Sequence[str] = ("excellent", "good", "fair", "edge")) -> list[str]:
    """Legend labels of RSRP classes given their floors [dBm], best class first.

    The first class reads ``>= floor``, the last ``< the previous floor`` (its own floor only
    bounds the colour scale), the others ``floor to the previous floor``.
    """
    labels = []
    for i, (floor, quality) in enumerate(zip(floors_dbm, qualities)):
        word = term(f"rsrp.{quality}", language)
        if i == 0:
            labels.append(term("rsrp.top", language, floor=floor, quality=word))
        elif i == len(floors_dbm) - 1:
            labels.append(term("rsrp.bottom", language, ceiling=floors_dbm[i - 1], quality=word))
        else:
            labels.append(term("rsrp.between", language, floor=floor, ceiling=floors_dbm[i - 1],
                               quality=word))
    return labels


def stage_text(stage: str, language: str) -> str:
    """A solver stage of :mod:`siting.plan` (an English sentence) in ``language``.

    The optional endings (backup coverage, over the budget, a discount rate) are read off the
    end first, then the rest must match one ``stage.`` template exactly; a sentence that
    matches none (a stage added to the planner later) is returned unchanged.
    """
    if check_language(language) == "en":
        return stage
    rest, endings = stage, []
    for key in _STAGE_ENDINGS:
        found = _match(TERMS[key]["en"], rest, at_end=True)
        if found is not None:
            rest, values = found
            endings.insert(0, term(key, language, **values))
    for key in _STAGE_KEYS:
        found = _match(TERMS[key]["en"], rest)
        if found is not None:
            return term(key, language, **found[1]) + "".join(endings)
    return stage


def _match(template: str, text: str, *, at_end: bool = False) -> tuple[str, dict] | None:
    """``(head, placeholder values)`` if ``text`` reads ``template`` (``at_end``: ends with it,
    ``head`` the text before), else None."""
    pattern = re.escape(template)
    for name in re.findall(r"\\\{(\w+)\\\}", pattern):
        pattern = pattern.replace(rf"\{{{name}\}}", rf"(?P<{name}>.+?)", 1)
    found = re.fullmatch((r"(?P<_head>.*)" if at_end else "") + pattern, text)
    if found is None:
        return None
    values = found.groupdict()
    return values.pop("_head", ""), values


#: Optional endings of a stage, read off from the last one that can come first.
_STAGE_ENDINGS = ("stage.over_budget", "stage.unproven_over_budget",
                  "stage.backhaul_terrestrial", "stage.backhaul",
                  "stage.backhaul_satellite", "stage.backup", "stage.generations",
                  "stage.generation_count", "stage.discount")
_STAGE_KEYS = ("stage.most_mandatory_by", "stage.most_mandatory_by_in_time", "stage.most_mandatory",
               "stage.mandatory_by", "stage.mandatory_least_cost", "stage.most_mandatory_late",
               "stage.most_people_earliest", "stage.most_people")

#: (group, English text) -> key, for values stored as English sentences (reasons, baselines).
_ENGLISH_INDEX = {(key.split(".", 1)[0], texts["en"]): key for key, texts in TERMS.items()}
#: Placeholders of those sentences filled with a value of a group (the kind of a feed, a
#: reason within a reason).
_PLACEHOLDER_GROUPS = {"feed": "backhaul", "reason": "reason"}
#: Placeholders of those sentences holding an amount in million CNY (English), which the
#: Chinese sentences give in 万元, the unit Chinese budgets are written in.
_MILLION_CNY_PLACEHOLDERS = frozenset({"cost_m", "left_m", "backhaul_m"})
#: group -> keys of its values stored as English sentences filled with numbers (reasons).
_TEMPLATE_KEYS = {"reason": tuple(key for key, texts in TERMS.items()
                                  if key.startswith("reason.") and "{" in texts["en"])}
