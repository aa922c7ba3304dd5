"""The files of ``siting calibrate``: ``calibration.yaml`` (which a scenario includes as
``coverage.calibration``) and ``calibration_report.json`` (offsets and held-out errors)."""

from __future__ import annotations

import dataclasses
import json
import os
from pathlib import Path

import yaml

from siting.diskfaults import write_files

CALIBRATION_FILES = ("calibration.yaml", "calibration_report.json")


def _rounded(table: dict) -> dict:
    """Nested dict of offsets with every number rounded to 0.01 dB (plain floats for YAML)."""
    return {k: _rounded(v) if isinstance(v, dict) else round(float(v), 2) for k, v in table.items()}


def _slopes(result, digits: int | None = None) -> dict:
    """{technology: the fields of its distance slope} of the technologies given one, rounded
    to ``digits`` (dB per decade, km) when asked."""
    return {tech: {k: round(v, digits) if digits is not None else v
                   for k, v in dataclasses.asdict(slope).items()}
            for tech, slope in result.distance_slopes.items() if slope is not None}


def calibration_document(result, measurements: str) -> dict:
    """What ``calibration.yaml`` holds: the offsets and distance slopes the engine adds, and
    where they come from."""
    return {"source": measurements,
            "offsets_db": _rounded(result.offsets_db),
            "model_offset_db": _rounded(result.model_offset_db),
            "distance_slopes": _slopes(result, digits=3),
            "held_out": {k: v if k == "n" or v is None else round(v, 2)
                         for k, v in result.held_out.items()}}


def report_document(result, measurements: str) -> dict:
    """What ``calibration_report.json`` holds (errors are measured minus predicted [dB])."""
    return {"measurements": measurements, "n_train": result.n_train,
            "n_train_by_class": result.n_train_by_class,
            "offsets_db": result.offsets_db, "model_offset_db": result.model_offset_db,
            "distance_slopes": _slopes(result),
            "held_out": result.held_out, "held_out_by_class": result.by_class,
            "held_out_by_distance": result.by_distance,
            "held_out_by_site": result.by_site,
            "reporting_floor_dbm": result.reporting_floor_dbm, "n_at_floor": result.n_at_floor,
            "outliers": result.outliers}


def write_calibration(result, measurements: str, out_dir: str | os.PathLike) -> Path:
    """Write :data:`CALIBRATION_FILES` into ``out_dir`` (staged, then renamed into place)."""
    header = ("# Calibration offsets written by siting calibrate: include this file in a scenario "
              "as\n# coverage.calibration: calibration.yaml (dB added to predicted levels).\n")
    writers = {
        "calibration.yaml": lambda path: path.write_text(
            header + yaml.safe_dump(calibration_document(result, measurements), sort_keys=False,
                                    allow_unicode=True), encoding="utf-8"),
        "calibration_report.json": lambda path: path.write_text(
            json.dumps(report_document(result, measurements), indent=2, allow_nan=False) + "\n",
            encoding="utf-8"),
    }
    return write_files(writers, out_dir, "calibration")
