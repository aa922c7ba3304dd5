"""Model calibration from drive-test measurements (``siting calibrate``).

Each measurement (a point served by a candidate site on a technology) is predicted by the
scenario's own engine (:func:`siting.coverage.pair_levels` on that (site, point) pair, without
any calibration the scenario already applies). Errors are measured minus predicted [dB]. On a
seeded training share, per technology, a robust least-squares fit (Huber loss,
:func:`scipy.optimize.least_squares`) finds a model offset ``m`` and an offset ``d_c`` per
land-cover class of the measurement's cell (the most measured class is the reference,
``d = 0``): ``error = m + d_c + noise``. The offset added to the level of class ``c`` is
``m + d_c``. The held-out share reports mean error, standard deviation and RMSE before and
after, overall, per class and per site. Industry practice for a calibrated macro-cell model:
mean error near 0 dB, standard deviation 6-8 dB.

A handset reports no level below its floor (:data:`REPORTING_FLOOR_DBM`): a drive test writes
"-140" where LTE's level was -140 dBm or anything lower. Such a measurement is censored, so
the fit compares every measurement with the level the handset would report,
``max(floor, predicted + m + d_c)`` (Powell's censored regression, Powell 1984), and so do the
held-out errors; taking the floor for the level biased the offsets of weakly covered classes
upwards by several dB.

References
----------
Powell, J. L. (1984). Least absolute deviations estimation for the censored regression model.
Journal of Econometrics 25(3), 303-325.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.optimize import least_squares

from siting.config import Scenario
from siting.coverage import Transmitters, class_names, pair_levels, receiver_classes
from siting.errors import InputError
from siting.io import RegionData, read_region, resolve_itu_maps
from siting.io.measurements import REPORTING_FLOOR_DBM, read_measurements

#: Share of the measurements the offsets are fitted on; the rest is held out.
TRAIN_SHARE = 0.7
#: Huber's tuning constant: 95 % efficiency under Gaussian noise (Huber 1981), times the
#: residuals' robust standard deviation gives ``f_scale``.
HUBER_K = 1.345
#: Industry practice for a calibrated macro-cell model [dB]: |mean error| at most this ...
PRACTICE_MEAN_DB = 1.0
#: ... and a standard deviation in this range.
PRACTICE_STD_DB = (6.0, 8.0)
#: A measurement farther than this many robust standard deviations from the fit is listed as
#: an outlier (0.3 % of Gaussian errors lie beyond 3): a wrong serving site, a GPS jump.
OUTLIER_SIGMAS = 3.0
#: How many of the largest outliers the report names.
OUTLIERS_NAMED = 5


@dataclass(frozen=True)
class CalibrationResult:
    """Fitted offsets and the held-out report of one calibration.

    ``offsets_db``: {technology: {land-cover class: dB added to the predicted level}};
    ``model_offset_db``: {technology: m}, the offset of classes without measurements;
    ``held_out``: error statistics of the held-out share (:func:`error_stats`, before and
    after); ``by_class`` / ``by_site``: the same per technology and class, per site;
    ``n_train``: measurements fitted on, ``n_train_by_class`` the same per technology and
    class (an offset fitted on a few measurements carries their noise);
    ``reporting_floor_dbm``: {technology: its handsets' floor (:data:`REPORTING_FLOOR_DBM`)};
    ``n_at_floor``: {technology: measurements at or below it, fitted as censored};
    ``outliers``: {technology: :func:`find_outliers`}.
    """

    offsets_db: dict[str, dict[str, float]]
    model_offset_db: dict[str, float]
    held_out: dict
    by_class: dict
    by_site: dict
    n_train: int
    n_train_by_class: dict[str, dict[str, int]]
    reporting_floor_dbm: dict[str, float]
    n_at_floor: dict[str, int]
    outliers: dict[str, dict]


def error_stats(before_db: np.ndarray, after_db: np.ndarray) -> dict:
    """n, mean error, standard deviation and RMSE [dB] of errors before and after."""
    out = {"n": int(len(before_db))}
    for label, errors in (("before", before_db), ("after", after_db)):
        errors = np.asarray(errors, float)
        out[f"mean_error_{label}_db"] = float(errors.mean()) if len(errors) else None
        out[f"std_{label}_db"] = float(errors.std()) if len(errors) else None
        out[f"rmse_{label}_db"] = float(np.sqrt(np.mean(errors**2))) if len(errors) else None
    return out


def predict_measurements(scenario: Scenario, region: RegionData,
                         measurements: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Predicted RSRP [dBm] of each measurement from its site on its technology, and the
    land-cover class name of its cell, by the scenario's engine without calibration."""
    scenario = resolve_itu_maps(scenario, region.terrain)
    settings = dataclasses.replace(scenario.coverage, calibration=None)
    x, y = measurements.geometry.x.to_numpy(), measurements.geometry.y.to_numpy()
    predicted = np.full(len(measurements), np.nan)
    for tech in scenario.technologies:
        rows = np.flatnonzero(measurements["technology"].astype(str).to_numpy() == tech.name)
        if len(rows) == 0:
            continue
        sites = region.candidates.loc[measurements["site_id"].astype(str).to_numpy()[rows]]
        tx = Transmitters(sites.geometry.x.to_numpy(), sites.geometry.y.to_numpy(),
                          sites["antenna_height_m"].to_numpy(float))
        pairs = np.arange(len(rows), dtype=np.int32)
        predicted[rows], _ = pair_levels(region.terrain, tx, x[rows], y[rows],
                                         scenario.demand.ue_height_m, pairs, pairs, tech, settings)
    classes = class_names(region.terrain, receiver_classes(region.terrain, x, y))
    return predicted, classes


def reported_error_db(measured_dbm, predicted_dbm, floor_dbm: float, offset_db=0.0) -> np.ndarray:
    """Measured minus predicted [dB], both as the handset reports them: no level below
    ``floor_dbm`` (a measurement below it reads as the floor, and so does a prediction plus
    ``offset_db`` below it)."""
    measured = np.maximum(np.asarray(measured_dbm, float), floor_dbm)
    return measured - np.maximum(np.asarray(predicted_dbm, float) + offset_db, floor_dbm)


def _identifiable(measured_dbm, predicted_dbm, classes, floor_dbm: float):
    """The measurements of the classes with at least one above ``floor_dbm``; InputError when
    there are none."""
    classes = np.asarray(classes).astype(str)
    above = np.unique(classes[np.asarray(measured_dbm, float) > floor_dbm])
    if len(above) == 0:
        raise InputError(f"none of the {len(classes)} measurements fitted on lies above the "
                         f"handsets' reporting floor ({floor_dbm:g} dBm), so no offset can be "
                         f"fitted; add measurements with a level")
    keep = np.isin(classes, above)
    return np.asarray(measured_dbm, float)[keep], np.asarray(predicted_dbm, float)[keep], \
        classes[keep]


def fit_offsets(measured_dbm: np.ndarray, predicted_dbm: np.ndarray, classes: np.ndarray, *,
                floor_dbm: float = -np.inf) -> tuple[float, dict[str, float]]:
    """Huber least-squares fit of ``measured = max(floor, predicted + m + d_c)`` (the most
    frequent class is the reference, d = 0; :func:`reported_error_db`: without a floor,
    ``errors = m + d_c``); returns (m, {class: m + d_c}) [dB].

    ``f_scale`` is :data:`HUBER_K` times the robust standard deviation (1.4826 x the median
    absolute deviation) of the errors about their class medians. A class whose measurements
    all lie at the floor says only that its levels were at most the floor, which any low
    enough offset fits: it gets no offset of its own (its users get ``m``).
    """
    measured_dbm, predicted_dbm, classes = _identifiable(measured_dbm, predicted_dbm, classes,
                                                         floor_dbm)
    errors_db = reported_error_db(measured_dbm, predicted_dbm, floor_dbm)
    names, index, counts = np.unique(classes.astype(str), return_inverse=True, return_counts=True)
    reference = int(np.argmax(counts))
    medians = np.array([np.median(errors_db[index == k]) for k in range(len(names))])
    spread = errors_db - medians[index]
    sigma = max(1.4826 * float(np.median(np.abs(spread - np.median(spread)))), 1e-3)

    def residuals(params):
        delta = np.insert(params[1:], reference, 0.0)
        return reported_error_db(measured_dbm, predicted_dbm, floor_dbm,
                                 params[0] + delta[index])

    x0 = np.delete(medians - medians[reference], reference)
    fit = least_squares(residuals, np.concatenate([[medians[reference]], x0]), loss="huber",
                        f_scale=HUBER_K * sigma)
    model_db = float(fit.x[0])
    delta = np.insert(fit.x[1:], reference, 0.0)
    return model_db, {str(name): float(model_db + d) for name, d in zip(names, delta)}


def _split(groups: np.ndarray, seed: int, train_share: float) -> np.ndarray:
    """A seeded boolean mask of the training share of the measurements, drawn within each
    group (technology) so that every technology is both fitted and held out: of a group's n
    (at least 2), round(train_share x n), kept within 1..n - 1."""
    rng = np.random.default_rng(seed)
    train = np.zeros(len(groups), bool)
    for group in np.unique(groups):
        rows = np.flatnonzero(groups == group)
        n_train = min(max(round(train_share * len(rows)), 1), max(len(rows) - 1, 1))
        train[rows[rng.permutation(len(rows))[:n_train]]] = True
    return train


def find_outliers(errors_db: np.ndarray, ids) -> dict:
    """Measurements whose error after calibration [dB] lies more than :data:`OUTLIER_SIGMAS`
    robust standard deviations (1.4826 x the median absolute deviation) from the median:
    ``n``, ``threshold_db`` (that distance) and ``largest_db`` ({id: error [dB]} of the
    :data:`OUTLIERS_NAMED` farthest). The Huber fit down-weights them; they are listed so
    that their serving site and position can be checked."""
    errors_db = np.asarray(errors_db, float)
    distance = np.abs(errors_db - np.median(errors_db))
    threshold = OUTLIER_SIGMAS * 1.4826 * float(np.median(distance))
    far = np.flatnonzero(distance > threshold)
    largest = far[np.argsort(-distance[far], kind="stable")[:OUTLIERS_NAMED]]
    return {"n": len(far), "threshold_db": threshold,
            "largest_db": {str(ids[i]): float(errors_db[i]) for i in largest}}


def _breakdown(keys: pd.Series, before: np.ndarray, after: np.ndarray) -> dict:
    """:func:`error_stats` per value of ``keys``."""
    return {str(k): error_stats(before[keys.to_numpy() == k], after[keys.to_numpy() == k])
            for k in sorted(keys.unique(), key=str)}


def calibrate_frame(scenario: Scenario, region: RegionData, measurements: pd.DataFrame, *,
                    seed: int = 0, train_share: float = TRAIN_SHARE) -> CalibrationResult:
    """:func:`calibrate` on measurements already read (:func:`read_measurements`)."""
    predicted, classes = predict_measurements(scenario, region, measurements)
    measured = measurements["rsrp_dbm"].to_numpy(float)
    technology = measurements["technology"].astype(str).to_numpy()
    generation = {t.name: t.generation for t in scenario.technologies}
    train = _split(technology, seed, train_share)
    offsets, models, floors, at_floor, n_fitted, outliers = {}, {}, {}, {}, {}, {}
    before, after = np.zeros(len(measured)), np.zeros(len(measured))
    for tech in np.unique(technology):
        mine = technology == tech
        floors[tech] = REPORTING_FLOOR_DBM[generation[tech]]
        at_floor[tech] = int(np.sum(measured[mine] <= floors[tech]))
        models[tech], offsets[tech] = fit_offsets(measured[mine & train], predicted[mine & train],
                                                  classes[mine & train], floor_dbm=floors[tech])
        names, counts = np.unique(classes[mine & train].astype(str), return_counts=True)
        n_fitted[tech] = {str(name): int(n) for name, n in zip(names, counts)
                          if name in offsets[tech]}
        applied = [offsets[tech].get(c, models[tech]) for c in classes[mine]]
        before[mine] = reported_error_db(measured[mine], predicted[mine], floors[tech])
        after[mine] = reported_error_db(measured[mine], predicted[mine], floors[tech], applied)
        heard = mine & (measured > floors[tech])  # a level at the floor is no error of its own
        outliers[tech] = find_outliers(after[heard], measurements.index[heard])
    test = ~train
    before, after = before[test], after[test]
    held = measurements[test]
    by_class = {tech: _breakdown(pd.Series(classes[test][technology[test] == tech]),
                                 before[technology[test] == tech], after[technology[test] == tech])
                for tech in offsets}
    return CalibrationResult(offsets_db=offsets, model_offset_db=models,
                             held_out=error_stats(before, after), by_class=by_class,
                             by_site=_breakdown(held["site_id"].astype(str), before, after),
                             n_train=int(train.sum()), n_train_by_class=n_fitted,
                             reporting_floor_dbm=floors, outliers=outliers,
                             n_at_floor=at_floor)


def calibrate(scenario: Scenario, measurements_path: str | Path, *,
              train_share: float = TRAIN_SHARE, crs: str | None = None) -> CalibrationResult:
    """Read the scenario's inputs and the measurements (coordinates in ``crs``: any pyproj CRS,
    ``GCJ-02`` or ``BD-09``; None: the file's own, WGS 84 for a table), predict, fit and report
    (seeded by ``solver.seed``)."""
    region = read_region(scenario)
    measurements = read_measurements(measurements_path, scenario, region, crs=crs)
    return calibrate_frame(scenario, region, measurements, seed=scenario.solver.seed,
                           train_share=train_share)


def practice_verdict(held_out: dict, when: str = "after") -> str:
    """One line comparing held-out mean error and standard deviation with industry practice
    (mean near 0 dB, standard deviation 6-8 dB)."""
    mean, std = held_out[f"mean_error_{when}_db"], held_out[f"std_{when}_db"]
    low, high = PRACTICE_STD_DB
    mean_ok = abs(mean) <= PRACTICE_MEAN_DB
    std_word = "below" if std < low else "within" if std <= high else "above"
    return (f"{when} calibration: mean error {mean:+.2f} dB "
            f"({'within' if mean_ok else 'outside'} practice: |mean| <= {PRACTICE_MEAN_DB:g} dB), "
            f"standard deviation {std:.2f} dB ({std_word} practice: {low:g}-{high:g} dB)")
