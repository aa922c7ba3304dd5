"""The column names planners' sheets give siting's fields, one table for every reader.

Chinese site lists, village registers, as-built lists and drive-test exports name the same
fields the same few ways (站址编号 for a site's id, 制式 for its technology). The readers that
match a sheet's columns themselves (the as-built list, :mod:`siting.io.asbuilt`; measurements,
:mod:`siting.io.measurements`) accept these names; the layer reader, whose columns the
scenario's ``fields:`` maps, suggests them when a field is missing
(:mod:`siting.io.layers`). Names are compared by :func:`siting.io.tables.header_key` (case,
spaces and full-width forms aside), most specific first.
"""

from __future__ import annotations

#: siting's field -> the names Chinese sheets give it, most specific first.
CHINESE_COLUMN_NAMES = {
    "village_id": ("村编号", "行政村编码", "村代码"),
    "name": ("村名", "名称", "村庄名称", "行政村"),
    "population": ("人口", "户籍人口", "常住人口", "人数"),
    "admin_unit": ("区县", "县区", "所属区县"),
    "poverty_village": ("贫困村", "是否贫困村"),
    "relocation_site": ("易地搬迁", "易地搬迁安置点", "安置点"),
    "site_id": ("站址编号", "站点编号", "站址ID", "站号", "基站编号", "站址编码", "站点编码",
                "基站编码"),
    "kind": ("站址类型", "类型"),
    "antenna_height_m": ("站高", "天线挂高", "挂高"),
    "capex_cny": ("建设投资", "投资"),
    "opex_cny_per_year": ("年运维费", "运维费用"),
    "rent_cny_per_year": ("年租金", "场租", "租金"),
    "free_public": ("免费公共站址", "免费开放"),
    "difficult": ("建设困难", "困难站址"),
    "extra_cost_cny": ("额外费用", "附加费用"),
    "technologies": ("可建制式", "制式"),
    "technology": ("制式", "技术", "网络制式"),
    "year": ("建成年份", "年份", "建设年份", "建成时间", "建成日期", "竣工时间", "竣工日期",
             "开通时间", "开通日期"),
    "cost_cny": ("实际投资", "实际投资(元)", "实际费用"),
    "backhaul": ("回传方式", "回传", "传输方式"),
    "built": ("是否建成", "是否已建成", "已建成", "是否开通", "是否完工"),
    "complaint_id": ("投诉编号", "工单号", "工单编号", "投诉单号", "投诉工单号"),
    "zone_id": ("区域编号",),
    "node_id": ("节点编号",),
    "measurement_id": ("测量编号",),
    "rsrp_dbm": ("参考信号接收功率",),
}

#: A column headed only 编号 ("number"): often a sheet's id, but as often a row count, so it is
#: suggested for a missing id field and never read unasked.
GENERIC_ID_NAME = "编号"


def accepted_names(field: str, *others: str) -> tuple[str, ...]:
    """The names a reader accepts for ``field``: the field's own name, ``others`` (English
    alternatives, a drive-test tool's), then :data:`CHINESE_COLUMN_NAMES`'."""
    return (field, *others, *CHINESE_COLUMN_NAMES.get(field, ()))


def suggested_names(field: str) -> tuple[str, ...]:
    """The Chinese names to suggest for a missing ``field``: :data:`CHINESE_COLUMN_NAMES`',
    and :data:`GENERIC_ID_NAME` last for an id."""
    generic = (GENERIC_ID_NAME,) if field.endswith("_id") else ()
    return (*CHINESE_COLUMN_NAMES.get(field, ()), *generic)
