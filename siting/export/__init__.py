"""Outputs of a run: GIS layers, rasters, maps, the report and the machine-readable summary.

Each module writes one kind of file into a folder it is given; :mod:`siting.pipeline` gives
them a temporary folder and moves the finished files into place, so a failed run never
leaves half-written outputs.
"""
