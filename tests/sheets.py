"""Tables written as planners save them, for the tests of the table readers."""

from __future__ import annotations

import pandas as pd
from openpyxl import Workbook


def write_rows(path, rows):
    """``rows`` (the header first) as an .xlsx workbook of one sheet, or as a CSV in GBK (what
    Chinese Excel saves as "CSV (逗号分隔)"), by ``path``'s suffix."""
    if path.suffix == ".csv":
        pd.DataFrame(rows[1:], columns=rows[0]).to_csv(path, index=False, encoding="gbk")
        return path
    book = Workbook()
    for row in rows:
        book.active.append(list(row))
    book.save(path)
    return path
