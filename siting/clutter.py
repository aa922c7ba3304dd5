"""Clutter loss at a terminal: ITU-R P.2108 section 3.1, the height-gain terminal correction.

A terminal below the representative height ``R`` of the clutter around it (trees, buildings)
loses, relative to a terminal at the clutter's top, the median loss ``A_h`` of P.2108-1
Annex 1 section 3.1 [1]_:

- ``A_h = J(nu) - 6.03``                (2a)  suburban, urban, trees/forest, dense urban
- ``A_h = -K_h2 log10(h / R)``          (2b)  water/sea, open/rural
- ``nu = K_nu sqrt(h_dif theta_clut)``  (2c)
- ``h_dif = R - h``                     (2d)
- ``theta_clut = atan(h_dif / w_s)``    (2e)  [deg]
- ``K_h2 = 21.8 + 6.2 log10(f)``        (2f)
- ``K_nu = 0.342 sqrt(f)``              (2g)

with ``f`` [GHz], ``h`` the antenna height above ground [m], ``w_s`` the street width [m]
(27 m unless local information says otherwise) and ``J(nu)`` the knife-edge loss of ITU-R
P.526 eq. (31) (:func:`siting.propagation.knife_edge_loss`). ``A_h = 0`` for ``h >= R``. The
recommendation's clutter types and their default ``R`` are Table 3's
(:data:`P2108_CLUTTER_TYPES`); the method holds for 0.03-3 GHz. It has no distance: the loss
belongs to the terminal's surroundings, whatever the path's length.

References
----------
.. [1] ITU-R P.2108-1, "Prediction of clutter loss", 2021, Annex 1, section 3.1, Table 3.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from siting.propagation import knife_edge_loss

#: P.2108 section 3.1's validity range of the frequency [GHz].
P2108_FREQUENCY_RANGE_GHZ = (0.03, 3.0)
#: Street width w_s [m] P.2108 section 3.1 uses "unless there is specific local information".
P2108_STREET_WIDTH_M = 27.0


@dataclass(frozen=True)
class P2108ClutterType:
    """One clutter type of P.2108-1 Table 3: its default representative height R [m] and
    whether its loss is the diffraction form (2a) or the height-gain form (2b)."""

    default_height_m: float
    diffraction: bool  # True: eq. (2a); False: eq. (2b)


#: P.2108-1 Table 3: the clutter types, their default representative heights and equations.
P2108_CLUTTER_TYPES = {
    "water_sea": P2108ClutterType(10.0, diffraction=False),
    "open_rural": P2108ClutterType(10.0, diffraction=False),
    "suburban": P2108ClutterType(10.0, diffraction=True),
    "urban": P2108ClutterType(15.0, diffraction=True),
    "trees_forest": P2108ClutterType(15.0, diffraction=True),
    "dense_urban": P2108ClutterType(20.0, diffraction=True),
}


def _type_table(clutter_type) -> tuple[np.ndarray, np.ndarray]:
    """(default R [m], uses eq. 2a) per element of ``clutter_type`` (names of Table 3)."""
    names = np.asarray(clutter_type, dtype=object)
    unknown = sorted({str(n) for n in names.ravel()} - set(P2108_CLUTTER_TYPES))
    if unknown:
        raise ValueError(f"unknown P.2108 clutter type(s) {', '.join(map(repr, unknown))}; use "
                         f"one of {', '.join(P2108_CLUTTER_TYPES)}")
    height = np.vectorize(lambda n: P2108_CLUTTER_TYPES[n].default_height_m, otypes=[float])
    diffraction = np.vectorize(lambda n: P2108_CLUTTER_TYPES[n].diffraction, otypes=[bool])
    return height(names), diffraction(names)


def p2108_terminal_clutter_loss(frequency_ghz, h_m, clutter_type, *, r_m=None,
                                street_width_m=P2108_STREET_WIDTH_M):
    """Median clutter loss of a terminal, ITU-R P.2108-1 section 3.1 (eqs. 2a-2g).

    Parameters
    ----------
    frequency_ghz : array_like
        Frequency [GHz], 0.03-3 (P.2108 section 3.1).
    h_m : array_like
        Antenna height above ground [m], > 0.
    clutter_type : str or array_like of str
        A clutter type of P.2108-1 Table 3 (a key of :data:`P2108_CLUTTER_TYPES`); it selects
        eq. (2a) or (2b) and, without ``r_m``, the representative height R.
    r_m : array_like, optional
        Representative clutter height R [m], >= 0 (local information); default Table 3's value
        of the clutter type. R <= h gives 0 dB.
    street_width_m : array_like
        Street width w_s [m], > 0 (eq. 2e); default 27 m.

    Returns
    -------
    loss_db : numpy.ndarray
        A_h [dB], broadcast over the arguments; 0 where the antenna is at or above R. Eq.
        (2a) is never negative for h < R (nu > 0, so J(nu) > 6.03 dB).

    Raises
    ------
    ValueError
        A frequency outside 0.03-3 GHz, a height <= 0, a street width <= 0, R < 0 or an
        unknown clutter type.

    References
    ----------
    .. [1] ITU-R P.2108-1, "Prediction of clutter loss", 2021, Annex 1, section 3.1, Table 3.
    """
    f = np.asarray(frequency_ghz, np.float64)
    h = np.asarray(h_m, np.float64)
    ws = np.asarray(street_width_m, np.float64)
    default_r, diffraction = _type_table(clutter_type)
    r = default_r if r_m is None else np.asarray(r_m, np.float64)
    low, high = P2108_FREQUENCY_RANGE_GHZ
    for bad, what in (((f < low) | (f > high), f"frequency_ghz outside {low}-{high} GHz"),
                      (h <= 0, "h_m <= 0"), (ws <= 0, "street_width_m <= 0"), (r < 0, "r_m < 0")):
        if np.any(bad):
            raise ValueError(f"P.2108 section 3.1: {what}")
    f, h, ws, r, diffraction = np.broadcast_arrays(f, h, ws, r, diffraction)
    below = h < r
    h_dif = np.where(below, r - h, 0.0)  # (2d)
    theta_clut_deg = np.degrees(np.arctan(h_dif / ws))  # (2e)
    k_nu = 0.342 * np.sqrt(f)  # (2g)
    k_h2 = 21.8 + 6.2 * np.log10(f)  # (2f)
    nu = k_nu * np.sqrt(h_dif * theta_clut_deg)  # (2c)
    eq_2a = np.asarray(knife_edge_loss(nu)) - 6.03
    eq_2b = -k_h2 * np.log10(h / np.where(below, r, h))
    return np.where(below, np.where(diffraction, eq_2a, eq_2b), 0.0)
