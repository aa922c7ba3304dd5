"""Chinese web-map coordinates: WGS84, GCJ-02 ("Mars coordinates") and BD-09.

Maps served in China (Amap/Gaode, Tencent, Google's China tiles) use GCJ-02, WGS84 positions
moved by a deliberate, smoothly varying offset of up to about 750 m; Baidu adds a further
rotation and shift on top of GCJ-02 (BD-09). Site and demand coordinates copied from such a map
must be converted to WGS84 before they are used with terrain or population rasters.

GCJ-02 has no official published specification. The forward formulas below are the ones every
widely used open implementation shares (e.g. ``eviltransform`` and ``coordTransform``); they are
written here from the formulas and checked against reference pairs produced by those two
implementations (see ``tests/test_china_crs.py``). The inverses have no closed form and are found
by fixed-point iteration against the forward transform, to well under 0.1 m.

Every function broadcasts its arguments with numpy rules and returns ``(lon_deg, lat_deg)``;
scalars in give numpy scalars out. NaN propagates.

References
----------
.. [1] googollee et al., "eviltransform": transform coordinates between WGS-84 and GCJ-02,
   https://github.com/googollee/eviltransform (PyPI ``eviltransform`` 0.1.1).
.. [2] pkufool, "coordTransform": WGS84 / GCJ-02 / BD-09 conversion,
   https://github.com/pkufool/coordTransform (PyPI ``coordTransform`` 0.2.1).
"""

from __future__ import annotations

import numpy as np

from siting.errors import InputError

__all__ = [
    "bd09_to_gcj02",
    "bd09_to_wgs84",
    "gcj02_to_bd09",
    "gcj02_to_wgs84",
    "outside_china",
    "to_wgs84",
    "wgs84_to_bd09",
    "wgs84_to_gcj02",
]

#: Krasovsky 1940 ellipsoid as used by the GCJ-02 formulas: semi-major axis [m], e^2 [-].
_KRASOVSKY_A_M = 6378245.0
_KRASOVSKY_EE = 0.00669342162296594323
#: Baidu's angular scale for BD-09 [rad/deg].
_X_PI = np.pi * 3000.0 / 180.0
#: Rectangle (lon, lat bounds) [deg] inside which the GCJ-02 offset is applied.
_CHINA_LON_DEG = (72.004, 137.8347)
_CHINA_LAT_DEG = (0.8293, 55.8271)
#: Inverse iterations stop when the largest change is below this [deg] (about 1e-5 m).
_TOLERANCE_DEG = 1e-10
_MAX_ITERATIONS = 30


def _as_float(lon_deg, lat_deg):
    lon, lat = np.broadcast_arrays(np.asarray(lon_deg, dtype=np.float64),
                                   np.asarray(lat_deg, dtype=np.float64))
    return lon, lat


def _out(lon, lat):
    """0-d arrays become numpy scalars; anything else is returned unchanged."""
    return lon[()], lat[()]


def _iterate_inverse(forward, target_lon, target_lat, lon, lat):
    """Solve ``forward(lon, lat) == target`` by fixed-point iteration from ``(lon, lat)``.

    Each step adds the forward error ``target - forward(lon, lat)``; this converges because both
    offsets vary slowly (their Jacobian is the identity to about 1e-3).
    """
    for _ in range(_MAX_ITERATIONS):
        f_lon, f_lat = forward(lon, lat)
        d_lon, d_lat = target_lon - f_lon, target_lat - f_lat
        lon, lat = lon + d_lon, lat + d_lat
        # NaN compares False, so NaN points never hold the loop open.
        if not np.any((np.abs(d_lon) >= _TOLERANCE_DEG) | (np.abs(d_lat) >= _TOLERANCE_DEG)):
            break
    return lon, lat


def outside_china(lon_deg, lat_deg):
    """Whether points lie outside the rectangle in which the GCJ-02 offset is defined.

    The test is a plain lon/lat rectangle, lon 72.004-137.8347 deg and lat 0.8293-55.8271 deg, the
    bounds shared by the open implementations [1]_, [2]_; it is not China's border, so it also
    contains e.g. Seoul, Hanoi and most of Mongolia, and excludes nothing inside China.

    Parameters
    ----------
    lon_deg, lat_deg : array_like
        Longitude and latitude [deg].

    Returns
    -------
    outside : bool or ndarray of bool
        True where the point lies outside the rectangle (NaN counts as inside).

    References
    ----------
    .. [1] https://github.com/googollee/eviltransform
    .. [2] https://github.com/pkufool/coordTransform
    """
    lon, lat = _as_float(lon_deg, lat_deg)
    outside = ((lon < _CHINA_LON_DEG[0]) | (lon > _CHINA_LON_DEG[1])
               | (lat < _CHINA_LAT_DEG[0]) | (lat > _CHINA_LAT_DEG[1]))
    return outside[()]


def _gcj02_offset(lon, lat):
    """GCJ-02 minus WGS84 at a WGS84 point [deg], without the China test."""
    x, y = lon - 105.0, lat - 35.0
    common = (20.0 * np.sin(6.0 * np.pi * x) + 20.0 * np.sin(2.0 * np.pi * x)) * 2.0 / 3.0
    d_lat = (-100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * np.sqrt(np.abs(x))
             + common
             + (20.0 * np.sin(np.pi * y) + 40.0 * np.sin(np.pi * y / 3.0)) * 2.0 / 3.0
             + (160.0 * np.sin(np.pi * y / 12.0) + 320.0 * np.sin(np.pi * y / 30.0)) * 2.0 / 3.0)
    d_lon = (300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * np.sqrt(np.abs(x))
             + common
             + (20.0 * np.sin(np.pi * x) + 40.0 * np.sin(np.pi * x / 3.0)) * 2.0 / 3.0
             + (150.0 * np.sin(np.pi * x / 12.0) + 300.0 * np.sin(np.pi * x / 30.0)) * 2.0 / 3.0)
    # d_lat, d_lon are pseudo-metres; scale by the meridian and parallel radii of curvature.
    phi = np.radians(lat)
    w = 1.0 - _KRASOVSKY_EE * np.sin(phi) ** 2
    meridian_m = _KRASOVSKY_A_M * (1.0 - _KRASOVSKY_EE) / (w * np.sqrt(w))
    parallel_m = _KRASOVSKY_A_M / np.sqrt(w) * np.cos(phi)
    return np.degrees(d_lon / parallel_m), np.degrees(d_lat / meridian_m)


def _gcj02_plain(lon, lat):
    """Forward GCJ-02 without the China test (so the inverse iteration is smooth at the edge)."""
    d_lon, d_lat = _gcj02_offset(lon, lat)
    return lon + d_lon, lat + d_lat


def _wgs84_to_gcj02(lon, lat):
    g_lon, g_lat = _gcj02_plain(lon, lat)
    outside = outside_china(lon, lat)
    return np.where(outside, lon, g_lon), np.where(outside, lat, g_lat)


def wgs84_to_gcj02(lon_deg, lat_deg):
    """WGS84 to GCJ-02 ("Mars coordinates" used by Amap/Gaode and Tencent maps).

    Adds the published obfuscation offset: two trigonometric polynomials in ``lon - 105`` and
    ``lat - 35`` give pseudo-metre shifts, converted to degrees with the radii of curvature of the
    Krasovsky 1940 ellipsoid (a = 6378245 m, e^2 = 0.00669342162296594323). The shift is under
    800 m inside China: 100-700 m in the east, but as little as about 20 m in the Qaidam basin
    (Qinghai). Points outside the :func:`outside_china` rectangle are returned unchanged, as in
    [1]_, [2]_.

    Parameters
    ----------
    lon_deg, lat_deg : array_like
        WGS84 longitude and latitude [deg].

    Returns
    -------
    lon_deg, lat_deg : numpy scalar or ndarray
        GCJ-02 longitude and latitude [deg].

    Notes
    -----
    GCJ-02 has no official published specification; the formulas are those shared by the open
    implementations [1]_, [2]_ and are checked against their output to about 1 cm ([1]_ uses the
    WGS84 a = 6378137 m instead of Krasovsky's, which moves the result by under 2 cm).

    References
    ----------
    .. [1] https://github.com/googollee/eviltransform
    .. [2] https://github.com/pkufool/coordTransform
    """
    return _out(*_wgs84_to_gcj02(*_as_float(lon_deg, lat_deg)))


def gcj02_to_wgs84(lon_deg, lat_deg):
    """GCJ-02 to WGS84, the exact inverse of :func:`wgs84_to_gcj02` to well under 0.1 m.

    Fixed-point iteration: start from the GCJ-02 point and repeatedly add the forward error
    ``gcj - wgs84_to_gcj02(estimate)`` until the largest change is below 1e-10 deg (at most 30
    iterations; about 5 are needed). Points outside the :func:`outside_china` rectangle are
    returned unchanged. (The common one-step inverse, ``gcj - offset(gcj)``, is off by up to a few
    metres.)

    Parameters
    ----------
    lon_deg, lat_deg : array_like
        GCJ-02 longitude and latitude [deg].

    Returns
    -------
    lon_deg, lat_deg : numpy scalar or ndarray
        WGS84 longitude and latitude [deg].

    References
    ----------
    .. [1] https://github.com/googollee/eviltransform (``gcj2wgs_exact``, the same iteration).
    .. [2] https://github.com/pkufool/coordTransform
    """
    lon, lat = _as_float(lon_deg, lat_deg)
    w_lon, w_lat = _iterate_inverse(_gcj02_plain, lon, lat, lon, lat)
    outside = outside_china(lon, lat)
    return _out(np.where(outside, lon, w_lon), np.where(outside, lat, w_lat))


def _gcj02_to_bd09(lon, lat):
    z = np.hypot(lon, lat) + 2e-5 * np.sin(lat * _X_PI)
    theta = np.arctan2(lat, lon) + 3e-6 * np.cos(lon * _X_PI)
    return z * np.cos(theta) + 0.0065, z * np.sin(theta) + 0.006


def gcj02_to_bd09(lon_deg, lat_deg):
    """GCJ-02 to BD-09 (Baidu maps).

    With ``x_pi = pi * 3000 / 180``: ``z = sqrt(x^2 + y^2) + 2e-5 sin(y x_pi)``,
    ``theta = atan2(y, x) + 3e-6 cos(x x_pi)``, then ``bd = (z cos(theta) + 0.0065,
    z sin(theta) + 0.006)``. Defined everywhere (no China test), as in [1]_, [2]_.

    Parameters
    ----------
    lon_deg, lat_deg : array_like
        GCJ-02 longitude and latitude [deg].

    Returns
    -------
    lon_deg, lat_deg : numpy scalar or ndarray
        BD-09 longitude and latitude [deg].

    References
    ----------
    .. [1] https://github.com/googollee/eviltransform
    .. [2] https://github.com/pkufool/coordTransform
    """
    return _out(*_gcj02_to_bd09(*_as_float(lon_deg, lat_deg)))


def _bd09_to_gcj02(lon, lat):
    # The closed-form approximate inverse of [1], [2] (error up to about 0.3 m) is the start.
    x, y = lon - 0.0065, lat - 0.006
    z = np.hypot(x, y) - 2e-5 * np.sin(y * _X_PI)
    theta = np.arctan2(y, x) - 3e-6 * np.cos(x * _X_PI)
    return _iterate_inverse(_gcj02_to_bd09, lon, lat, z * np.cos(theta), z * np.sin(theta))


def bd09_to_gcj02(lon_deg, lat_deg):
    """BD-09 to GCJ-02, the exact inverse of :func:`gcj02_to_bd09` to well under 0.1 m.

    Starts from the closed-form approximate inverse of [1]_, [2]_ (subtract the shifts, then the
    radial and angular terms evaluated at the BD-09 point; off by up to about 0.3 m) and refines
    it by the same fixed-point iteration as :func:`gcj02_to_wgs84` until the largest change is
    below 1e-10 deg.

    Parameters
    ----------
    lon_deg, lat_deg : array_like
        BD-09 longitude and latitude [deg].

    Returns
    -------
    lon_deg, lat_deg : numpy scalar or ndarray
        GCJ-02 longitude and latitude [deg].

    References
    ----------
    .. [1] https://github.com/googollee/eviltransform
    .. [2] https://github.com/pkufool/coordTransform
    """
    return _out(*_bd09_to_gcj02(*_as_float(lon_deg, lat_deg)))


def wgs84_to_bd09(lon_deg, lat_deg):
    """WGS84 to BD-09: :func:`wgs84_to_gcj02` followed by :func:`gcj02_to_bd09`.

    Parameters
    ----------
    lon_deg, lat_deg : array_like
        WGS84 longitude and latitude [deg].

    Returns
    -------
    lon_deg, lat_deg : numpy scalar or ndarray
        BD-09 longitude and latitude [deg].

    References
    ----------
    .. [1] https://github.com/googollee/eviltransform
    .. [2] https://github.com/pkufool/coordTransform
    """
    return _out(*_gcj02_to_bd09(*_wgs84_to_gcj02(*_as_float(lon_deg, lat_deg))))


def bd09_to_wgs84(lon_deg, lat_deg):
    """BD-09 to WGS84: :func:`bd09_to_gcj02` followed by :func:`gcj02_to_wgs84`.

    Both steps are iterated inverses, so the round trip with :func:`wgs84_to_bd09` is well under
    0.1 m inside China.

    Parameters
    ----------
    lon_deg, lat_deg : array_like
        BD-09 longitude and latitude [deg].

    Returns
    -------
    lon_deg, lat_deg : numpy scalar or ndarray
        WGS84 longitude and latitude [deg].

    References
    ----------
    .. [1] https://github.com/googollee/eviltransform
    .. [2] https://github.com/pkufool/coordTransform
    """
    return gcj02_to_wgs84(*_bd09_to_gcj02(*_as_float(lon_deg, lat_deg)))


_SYSTEMS = {"GCJ02": ("GCJ-02", gcj02_to_wgs84), "BD09": ("BD-09", bd09_to_wgs84)}


def to_wgs84(lon_deg, lat_deg, system):
    """Convert GCJ-02 or BD-09 coordinates to WGS84, refusing points outside China.

    Parameters
    ----------
    lon_deg, lat_deg : array_like
        Longitude and latitude in ``system`` [deg].
    system : str
        ``"GCJ-02"`` or ``"BD-09"`` (case-insensitive; ``"gcj02"`` and ``"bd09"`` also accepted).

    Returns
    -------
    lon_deg, lat_deg : numpy scalar or ndarray
        WGS84 longitude and latitude [deg].

    Raises
    ------
    InputError
        If any point lies outside the :func:`outside_china` rectangle: the offset is only defined
        inside China, so such points are most likely plain WGS84 already. The one-line message
        gives the count and the first (flat) index; callers prefix the file name.
    ValueError
        If ``system`` is not one of the names above.
    """
    key = str(system).strip().upper().replace("-", "")
    if key not in _SYSTEMS:
        raise ValueError(f"unknown coordinate system {system!r}; expected 'GCJ-02' or 'BD-09'")
    name, inverse = _SYSTEMS[key]
    lon, lat = _as_float(lon_deg, lat_deg)
    outside = np.ravel(outside_china(lon, lat))
    if outside.any():
        raise InputError(
            f"{int(outside.sum())} of {outside.size} points (first at index "
            f"{int(np.argmax(outside))}) lie outside China; the {name} offset is only defined "
            f"inside China, so these points are probably plain WGS84 coordinates, not {name}")
    return inverse(lon, lat)
