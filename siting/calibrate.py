"""Model calibration from drive-test measurements (``siting calibrate``).

Each measurement (a point served by a candidate site on a technology) is predicted by the
scenario's own engine (:func:`siting.coverage.pair_levels` on that (site, point) pair, without
any calibration the scenario already applies). Errors are measured minus predicted [dB]. On a
seeded training share, per technology, a robust least-squares fit (Huber loss,
:func:`scipy.optimize.least_squares`) finds a model offset ``m`` and an offset ``d_c`` per
land-cover class of the measurement's cell (the most measured class is the reference,
``d = 0``) and a distance slope ``s`` [dB per decade]: ``error = m + d_c + s x + noise``,
``x = log10(d / d_med)`` the decades of the link's distance ``d`` from the median distance
(held within the distances measured: :func:`siting.coverage.slope_decades`). Those are the
offset and slope terms, K1 + K2 log10(d), of a tuned macro-cell model such as the Standard
Propagation Model (Forsk, Atoll Technical Reference Guide): a model whose decay with
distance is too fast or too slow for the region leaves errors that grow with distance, which
no offset removes. The slope is left out (s = 0) when a technology's distances span less
than a factor :data:`SLOPE_MIN_SPAN` (10th to 90th percentile), or on request. The level of
class ``c`` at distance ``d`` gains ``m + d_c + s x``. The held-out share reports mean error,
standard deviation and RMSE before and after, overall, per class, per distance band and per
site. Industry practice for a calibrated macro-cell model: mean error near 0 dB, standard
deviation 6-8 dB.

A handset reports no level below its floor (:data:`REPORTING_FLOOR_DBM`): a drive test writes
"-140" where LTE's level was -140 dBm or anything lower. Such a measurement is censored, so
the fit compares every measurement with the level the handset would report,
``max(floor, predicted + m + d_c + s x)`` (Powell's censored regression, Powell 1984), and so do the
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

from siting.config import DistanceSlope, Scenario
from siting.coverage import (SLOPE_NEAREST_KM, Transmitters, class_names, pair_levels,
                             receiver_classes, slope_decades)
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
#: A distance slope is fitted when the 90th percentile of a technology's link distances is at
#: least this many times the 10th: over a narrower span a slope cannot be told from the offset.
SLOPE_MIN_SPAN = 2.0
#: Edges [km] of the distance bands the held-out errors are broken down by.
DISTANCE_BANDS_KM = (0.0, 1.0, 2.0, 5.0, 10.0)


@dataclass(frozen=True)
class CalibrationResult:
    """Fitted offsets and the held-out report of one calibration.

    ``offsets_db``: {technology: {land-cover class: dB added to the predicted level}};
    ``model_offset_db``: {technology: m}, the offset of classes without measurements;
    ``distance_slopes``: {technology: its :class:`~siting.config.DistanceSlope`, None when
    none was fitted};
    ``held_out``: error statistics of the held-out share (:func:`error_stats`, before and
    after); ``by_class`` / ``by_distance`` / ``by_site``: the same per technology and class,
    per technology and distance band (:func:`distance_bands`), per site;
    ``n_train``: measurements fitted on, ``n_train_by_class`` the same per technology and
    class (an offset fitted on a few measurements carries their noise);
    ``reporting_floor_dbm``: {technology: its handsets' floor (:data:`REPORTING_FLOOR_DBM`)};
    ``n_at_floor``: {technology: measurements at or below it, fitted as censored};
    ``outliers``: {technology: :func:`find_outliers`}.
    """

    offsets_db: dict[str, dict[str, float]]
    model_offset_db: dict[str, float]
    distance_slopes: dict[str, DistanceSlope | None]
    held_out: dict
    by_class: dict
    by_distance: dict
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


def _identifiable(measured_dbm, classes, floor_dbm: float) -> np.ndarray:
    """Mask of the measurements of the classes with at least one above ``floor_dbm``;
    InputError when there are none."""
    classes = np.asarray(classes).astype(str)
    above = np.unique(classes[np.asarray(measured_dbm, float) > floor_dbm])
    if len(above) == 0:
        raise InputError(f"none of the {len(classes)} measurements fitted on lies above the "
                         f"handsets' reporting floor ({floor_dbm:g} dBm), so no offset can be "
                         f"fitted; add measurements with a level")
    return np.isin(classes, above)


@dataclass(frozen=True)
class TechnologyFit:
    """One technology's fit (:func:`fit_offsets`): the model offset ``model_db`` [dB], the
    offset of each class fitted ``by_class_db`` ({class: m + d_c} [dB]) and the distance
    slope (None when none was fitted)."""

    model_db: float
    by_class_db: dict[str, float]
    slope: DistanceSlope | None

    def offsets_db(self, classes, distance_m) -> np.ndarray:
        """What the fit adds [dB] to levels of receivers of ``classes`` at ``distance_m``."""
        by_class = np.array([self.by_class_db.get(str(c), self.model_db) for c in classes])
        if self.slope is None:
            return by_class
        return by_class + self.slope.db_per_decade * slope_decades(distance_m, self.slope)


def slope_span(distance_m: np.ndarray) -> DistanceSlope | None:
    """The distances a slope is fitted over, with a slope of 0: reference the median, range
    the smallest and largest (each at least :data:`~siting.coverage.SLOPE_NEAREST_KM`); None
    when the 10th to 90th percentile of the distances span less than :data:`SLOPE_MIN_SPAN`,
    too narrow to tell a slope from the offset."""
    distance_km = np.maximum(np.asarray(distance_m, float) / 1000.0, SLOPE_NEAREST_KM)
    low, high = np.percentile(distance_km, [10, 90])
    if high < SLOPE_MIN_SPAN * low:
        return None
    return DistanceSlope(db_per_decade=0.0, reference_km=float(np.median(distance_km)),
                         min_km=float(distance_km.min()), max_km=float(distance_km.max()))


def fit_offsets(measured_dbm: np.ndarray, predicted_dbm: np.ndarray, classes: np.ndarray, *,
                floor_dbm: float = -np.inf, distance_m: np.ndarray | None = None) -> TechnologyFit:
    """Huber least-squares fit of ``measured = max(floor, predicted + m + d_c + s x)`` (the
    most frequent class is the reference, d = 0; :func:`reported_error_db`: without a floor,
    ``errors = m + d_c + s x``), ``x`` the link's decades of distance from the median
    (:func:`siting.coverage.slope_decades`) when ``distance_m`` [m] is given and spans enough
    (:func:`slope_span`), else s = 0: the offset (K1) and distance slope (K2) of a tuned
    propagation model.

    ``f_scale`` is :data:`HUBER_K` times the robust standard deviation (1.4826 x the median
    absolute deviation) of the errors about their class medians. A class whose measurements
    all lie at the floor says only that its levels were at most the floor, which any low
    enough offset fits: it gets no offset of its own (its users get ``m``).
    """
    keep = _identifiable(measured_dbm, classes, floor_dbm)
    measured_dbm = np.asarray(measured_dbm, float)[keep]
    predicted_dbm = np.asarray(predicted_dbm, float)[keep]
    classes = np.asarray(classes).astype(str)[keep]
    span = None if distance_m is None else slope_span(np.asarray(distance_m, float)[keep])
    decades = None if span is None else slope_decades(np.asarray(distance_m, float)[keep], span)
    errors_db = reported_error_db(measured_dbm, predicted_dbm, floor_dbm)
    names, index, counts = np.unique(classes, return_inverse=True, return_counts=True)
    reference = int(np.argmax(counts))
    medians = np.array([np.median(errors_db[index == k]) for k in range(len(names))])
    spread = errors_db - medians[index]
    sigma = max(1.4826 * float(np.median(np.abs(spread - np.median(spread)))), 1e-3)

    slopes = 0 if span is None else 1  # parameters: m, s when fitted, d_c but the reference

    def residuals(params):
        delta = np.insert(params[1 + slopes:], reference, 0.0)
        trend_db = params[1] * decades if slopes else 0.0
        return reported_error_db(measured_dbm, predicted_dbm, floor_dbm,
                                 params[0] + delta[index] + trend_db)

    x0 = np.concatenate([[medians[reference]], np.zeros(slopes),
                         np.delete(medians - medians[reference], reference)])
    fit = least_squares(residuals, x0, loss="huber", f_scale=HUBER_K * sigma)
    model_db = float(fit.x[0])
    delta = np.insert(fit.x[1 + slopes:], reference, 0.0)
    slope = None if span is None else dataclasses.replace(span, db_per_decade=float(fit.x[1]))
    return TechnologyFit(model_db, {str(name): float(model_db + d) for name, d in zip(names, delta)},
                         slope)


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
                    seed: int = 0, train_share: float = TRAIN_SHARE,
                    slope: bool = True) -> CalibrationResult:
    """:func:`calibrate` on measurements already read (:func:`read_measurements`)."""
    predicted, classes = predict_measurements(scenario, region, measurements)
    distance_m = link_distances_m(region, measurements)
    measured = measurements["rsrp_dbm"].to_numpy(float)
    technology = measurements["technology"].astype(str).to_numpy()
    generation = {t.name: t.generation for t in scenario.technologies}
    train = _split(technology, seed, train_share)
    fits, floors, at_floor, n_fitted, outliers = {}, {}, {}, {}, {}
    before, after = np.zeros(len(measured)), np.zeros(len(measured))
    for tech in np.unique(technology):
        mine = technology == tech
        fitted = mine & train
        floors[tech] = REPORTING_FLOOR_DBM[generation[tech]]
        at_floor[tech] = int(np.sum(measured[mine] <= floors[tech]))
        fits[tech] = fit_offsets(measured[fitted], predicted[fitted], classes[fitted],
                                 floor_dbm=floors[tech],
                                 distance_m=distance_m[fitted] if slope else None)
        names, counts = np.unique(classes[fitted].astype(str), return_counts=True)
        n_fitted[tech] = {str(name): int(n) for name, n in zip(names, counts)
                          if name in fits[tech].by_class_db}
        applied = fits[tech].offsets_db(classes[mine], distance_m[mine])
        before[mine] = reported_error_db(measured[mine], predicted[mine], floors[tech])
        after[mine] = reported_error_db(measured[mine], predicted[mine], floors[tech], applied)
        heard = mine & (measured > floors[tech])  # a level at the floor is no error of its own
        outliers[tech] = find_outliers(after[heard], measurements.index[heard])
    test = ~train
    return CalibrationResult(
        offsets_db={tech: fit.by_class_db for tech, fit in fits.items()},
        model_offset_db={tech: fit.model_db for tech, fit in fits.items()},
        distance_slopes={tech: fit.slope for tech, fit in fits.items()},
        held_out=error_stats(before[test], after[test]),
        by_class=_per_technology(classes[test], technology[test], before[test], after[test]),
        by_distance=_per_technology(distance_bands(distance_m[test]), technology[test],
                                    before[test], after[test]),
        by_site=_breakdown(measurements["site_id"].astype(str)[test], before[test], after[test]),
        n_train=int(train.sum()), n_train_by_class=n_fitted, reporting_floor_dbm=floors,
        outliers=outliers, n_at_floor=at_floor)


def _per_technology(keys: np.ndarray, technology: np.ndarray, before: np.ndarray,
                    after: np.ndarray) -> dict:
    """:func:`_breakdown` by ``keys`` within each technology."""
    return {tech: _breakdown(pd.Series(keys[technology == tech]), before[technology == tech],
                             after[technology == tech])
            for tech in np.unique(technology)}


def link_distances_m(region: RegionData, measurements: pd.DataFrame) -> np.ndarray:
    """Horizontal distance [m] from each measurement to its serving site."""
    sites = region.candidates.loc[measurements["site_id"].astype(str).to_numpy()]
    return np.hypot(sites.geometry.x.to_numpy() - measurements.geometry.x.to_numpy(),
                    sites.geometry.y.to_numpy() - measurements.geometry.y.to_numpy())


def distance_bands(distance_m: np.ndarray) -> np.ndarray:
    """The band of :data:`DISTANCE_BANDS_KM` each distance [m] lies in, as text ("1-2 km",
    "10+ km")."""
    edges = DISTANCE_BANDS_KM
    labels = [f"{a:g}-{b:g} km" for a, b in zip(edges[:-1], edges[1:])] + [f"{edges[-1]:g}+ km"]
    return np.array(labels, dtype=object)[np.searchsorted(edges, distance_m / 1000.0,
                                                          side="right") - 1]


def calibrate(scenario: Scenario, measurements_path: str | Path, *,
              train_share: float = TRAIN_SHARE, crs: str | None = None,
              slope: bool = True) -> CalibrationResult:
    """Read the scenario's inputs and the measurements (coordinates in ``crs``: any pyproj CRS,
    ``GCJ-02`` or ``BD-09``; None: the file's own, WGS 84 for a table), predict, fit (with a
    distance slope per technology unless ``slope`` is False) and report (seeded by
    ``solver.seed``)."""
    region = read_region(scenario)
    measurements = read_measurements(measurements_path, scenario, region, crs=crs)
    return calibrate_frame(scenario, region, measurements, seed=scenario.solver.seed,
                           train_share=train_share, slope=slope)


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
