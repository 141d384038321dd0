"""The version of touchpoint, in one place: pyproject.toml reads it from here (hatchling)."""

__version__ = "0.1.0"
