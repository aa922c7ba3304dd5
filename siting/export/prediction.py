"""The outputs of ``siting predict``: ``prediction.tif``, ``prediction.png`` and
``prediction.kmz`` of one :class:`siting.predict.Prediction`.

- ``prediction.tif``: a float32 Cloud-Optimized GeoTIFF in the run's CRS
  (:func:`siting.export.gis.cog_profile`), band 1 the path loss [dB], band 2 the received
  level (RSRP) [dBm], nodata outside the radius.
- ``prediction.png``: the hillshade and the level classes of ``map.png``
  (:func:`siting.export.staticmap.draw_rasters`), the site, the radius, a north arrow and a
  scale bar.
- ``prediction.kmz``: a KML ``GroundOverlay`` of the level classes drawn in WGS 84 (the
  classes reprojected with nearest-neighbour resampling, transparent outside the radius) and a
  placemark at the site, zipped with the overlay's PNG.

The files are rendered in a staging folder and moved into place once all are written
(:mod:`siting.diskfaults`), so a failure leaves the previous outputs as they were.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
import zipfile
from pathlib import Path

import matplotlib
import matplotlib.image
import numpy as np
import pyproj
import rasterio
import rasterio.warp
from matplotlib.colors import to_rgba
from matplotlib.figure import Figure
from matplotlib.patches import Circle

from siting.diskfaults import write_files
from siting.export.gis import COVERAGE_NODATA_DBM, cog_profile
from siting.export.i18n import model_text, rsrp_class_labels, term
from siting.export.kml import KML_NAMESPACE, xml_text
from siting.export.staticmap import (
    draw_north_and_scale,
    draw_rasters,
    frame_words,
    plain_label,
    rsrp_class_index,
    scale_bar_km,
    text_fonts,
)
from siting.export.style import RSRP_CLASSES, WGS84
from siting.predict import Prediction

#: The files :func:`write_prediction` writes.
PREDICTION_FILES = ("prediction.tif", "prediction.png", "prediction.kmz")
#: The overlay image inside prediction.kmz.
OVERLAY_PNG = "prediction_level.png"
#: Opacity of the level classes on the KMZ overlay [0-1].
OVERLAY_ALPHA = 0.6
#: zlib level of the PNGs: 1 encodes several times faster than the default 6, for files about
#: a quarter larger.
PNG_COMPRESS_LEVEL = 1
#: Margins of prediction.png's axes [figure fraction]: room for the title, tick and axis labels.
MAP_MARGINS = {"left": 0.08, "right": 0.98, "bottom": 0.07, "top": 0.95}


def write_prediction_raster(path: Path, prediction: Prediction) -> None:
    """``prediction.tif``: band 1 path loss [dB], band 2 RSRP [dBm] (each band's unit type
    says which), nodata ``COVERAGE_NODATA_DBM`` outside the radius."""
    bands = np.stack([prediction.path_loss_db, prediction.level_dbm])
    data = np.where(np.isfinite(bands), bands, COVERAGE_NODATA_DBM).astype(np.float32)
    profile = cog_profile(data.shape[1:], 2, prediction.transform, prediction.crs)
    with rasterio.open(path, "w", **profile) as dst:
        dst.write(data)
        dst.set_band_description(1, "path loss [dB]")
        dst.set_band_description(2, "received level, RSRP [dBm]")
        dst.set_band_unit(1, "dB")
        dst.set_band_unit(2, "dBm")
        dst.update_tags(site=prediction.site, technology=prediction.technology,
                        model=prediction.model, antenna_height_m=f"{prediction.height_m:g}",
                        radius_m=f"{prediction.radius_m:g}")


def _title(prediction: Prediction, language: str) -> str:
    """The map's title: site, technology, model (:func:`siting.export.i18n.model_text`),
    height and radius."""
    return (f"{prediction.site}: {prediction.technology}, "
            f"{model_text(prediction.model, language)}, "
            f"{prediction.height_m:g} m, {prediction.radius_m / 1000:g} km")


def write_prediction_map(path: Path, prediction: Prediction, *, language: str = "en") -> None:
    """``prediction.png``: hillshade and RSRP classes around the site, at 150 dpi."""
    labels = rsrp_class_labels([floor for floor, _, _ in RSRP_CLASSES], language)
    title = _title(prediction, language)
    x_km, y_km, r_km = (prediction.site_x_m / 1000, prediction.site_y_m / 1000,
                        prediction.radius_m / 1000)
    extent_km = [x_km - 1.05 * r_km, x_km + 1.05 * r_km, y_km - 1.05 * r_km, y_km + 1.05 * r_km]
    bar_km = scale_bar_km(extent_km[1] - extent_km[0])
    words = frame_words(language, pyproj.CRS.from_user_input(prediction.crs).name, bar_km)
    fonts = text_fonts([title, *labels, *words.values()], language)
    fig = Figure(figsize=(8.5, 7.5), dpi=150)
    ax = fig.add_subplot()
    with matplotlib.rc_context({"font.family": fonts}):
        draw_rasters(ax, prediction.terrain, prediction.level_dbm, prediction.transform)
        ax.add_patch(Circle((x_km, y_km), r_km, fill=False, linestyle="--", linewidth=0.8,
                            edgecolor="k"))
        ax.scatter([x_km], [y_km], marker="^", s=60, c="k", zorder=5)
        for (_, colour, _), label in zip(RSRP_CLASSES, labels):
            ax.fill_between([], [], color=colour, alpha=0.6, label=plain_label(label))
        ax.set_xlim(*extent_km[:2])
        ax.set_ylim(*extent_km[2:])
        # the axes' own texts were made with the axes, before the fonts: set them on each
        ax.set_title(title, parse_math=False, fontsize=10, family=fonts)
        ax.set_xlabel(words["easting"], parse_math=False, family=fonts)
        ax.set_ylabel(words["northing"], parse_math=False, family=fonts)
        ax.legend(loc="upper left", fontsize=7, framealpha=0.8)
        draw_north_and_scale(ax, words["north"], bar_km, words["scale"], beside=False)
        fig.subplots_adjust(**MAP_MARGINS)  # fixed: tight_layout would draw the figure twice
        fig.savefig(path, dpi=150, pil_kwargs={"compress_level": PNG_COMPRESS_LEVEL})


def overlay_rgba(prediction: Prediction) -> tuple[np.ndarray, tuple[float, float, float, float]]:
    """The RSRP classes as an RGBA image [0-1] on a WGS 84 grid, transparent outside the
    radius, and its bounds (west, south, east, north) [deg]."""
    classes = rsrp_class_index(prediction.level_dbm)
    source = np.where(np.isfinite(classes), classes, -1).astype(np.int16)
    height, width = source.shape
    west, south, east, north = rasterio.transform.array_bounds(height, width, prediction.transform)
    transform, out_width, out_height = rasterio.warp.calculate_default_transform(
        prediction.crs, WGS84, width, height, left=west, bottom=south, right=east, top=north)
    warped = np.full((out_height, out_width), -1, np.int16)
    rasterio.warp.reproject(source, warped, src_transform=prediction.transform,
                            src_crs=prediction.crs, src_nodata=-1, dst_transform=transform,
                            dst_crs=WGS84, dst_nodata=-1,
                            resampling=rasterio.warp.Resampling.nearest)
    colours = np.array([to_rgba(c, OVERLAY_ALPHA) for _, c, _ in reversed(RSRP_CLASSES)]
                       + [(0.0, 0.0, 0.0, 0.0)])
    rgba = colours[np.where(warped >= 0, warped, len(RSRP_CLASSES))]
    return rgba, rasterio.transform.array_bounds(out_height, out_width, transform)


def prediction_kml(prediction: Prediction, bounds_deg, site_lonlat, language: str = "en") -> bytes:
    """The KML document of prediction.kmz: the overlay's ``GroundOverlay`` over ``bounds_deg``
    (west, south, east, north) and the site's placemark at ``site_lonlat`` [deg]."""
    root = ET.Element("kml", xmlns=KML_NAMESPACE)
    document = ET.SubElement(root, "Document")
    title = xml_text(_title(prediction, language))  # a site id pasted from Word may hold a vertical tab
    ET.SubElement(document, "name").text = title
    overlay = ET.SubElement(document, "GroundOverlay")
    ET.SubElement(overlay, "name").text = xml_text(term("prediction.overlay", language,
                                                        technology=prediction.technology))
    ET.SubElement(ET.SubElement(overlay, "Icon"), "href").text = OVERLAY_PNG
    box = ET.SubElement(overlay, "LatLonBox")
    west, south, east, north = bounds_deg
    for tag, value in (("north", north), ("south", south), ("east", east), ("west", west)):
        ET.SubElement(box, tag).text = f"{value:.7f}"
    placemark = ET.SubElement(document, "Placemark")
    ET.SubElement(placemark, "name").text = xml_text(prediction.site)
    ET.SubElement(placemark, "description").text = title
    point = ET.SubElement(placemark, "Point")
    ET.SubElement(point, "coordinates").text = f"{site_lonlat[0]:.7f},{site_lonlat[1]:.7f},0"
    return ET.tostring(root, encoding="utf-8", xml_declaration=True)


def write_prediction_kmz(path: Path, prediction: Prediction, language: str = "en") -> None:
    """``prediction.kmz``: ``doc.kml`` (:func:`prediction_kml`) and the overlay PNG, zipped."""
    rgba, bounds_deg = overlay_rgba(prediction)
    lon, lat = rasterio.warp.transform(prediction.crs, WGS84, [prediction.site_x_m],
                                       [prediction.site_y_m])
    overlay_path = path.with_name(OVERLAY_PNG)
    matplotlib.image.imsave(overlay_path, rgba, pil_kwargs={"compress_level": PNG_COMPRESS_LEVEL})
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as kmz:
        kmz.writestr("doc.kml", prediction_kml(prediction, bounds_deg, (lon[0], lat[0]),
                                               language))
        kmz.write(overlay_path, OVERLAY_PNG)
    overlay_path.unlink()


def write_prediction(prediction: Prediction, out_dir: str | Path, *, language: str = "en") -> Path:
    """Write :data:`PREDICTION_FILES` into ``out_dir`` (created if needed); returns it.

    Every file is rendered in a staging folder first; a disk fault raises
    :class:`~siting.errors.OutputError` and leaves the previous outputs in place.
    """
    writers = {"prediction.tif": lambda p: write_prediction_raster(p, prediction),
               "prediction.png": lambda p: write_prediction_map(p, prediction, language=language),
               "prediction.kmz": lambda p: write_prediction_kmz(p, prediction, language)}
    return write_files(writers, out_dir, "prediction")
