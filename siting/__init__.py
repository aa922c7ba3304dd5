"""siting: base-station siting planner (terrain-aware 4G/5G coverage + optimal site selection)."""

__version__ = "0.1.0"
