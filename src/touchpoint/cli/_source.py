"""Finding the blueprint a command line argument names: a file or a built-in template."""

from __future__ import annotations

from pathlib import Path

from touchpoint import templates
from touchpoint.model import Blueprint
from touchpoint.schema import load_blueprint

__all__ = ["blueprint_from_argument"]


def blueprint_from_argument(argument: str) -> Blueprint:
    """Load ``argument`` as a file if it is one (or ends in .toml/.json), else as a template name.

    Raises `touchpoint.errors.BlueprintError` for a bad file and
    `touchpoint.templates.UnknownTemplateError` for an unknown name.
    """
    path = Path(argument)
    if path.exists() or path.suffix.lower() in (".toml", ".json"):
        return load_blueprint(path)
    return templates.load(argument)
