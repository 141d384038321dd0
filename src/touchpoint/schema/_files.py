"""Reading and writing blueprint files (TOML or JSON), and the JSON Schema of the format.

Every problem with a file, from a syntax error to a reference that does not resolve,
raises `touchpoint.errors.BlueprintError` naming the file, the path inside it and the
bad value; syntax errors give the line and column.

Examples
--------
>>> text = '''
... name = "mini"
... stages = ["transaction"]
... [[touchpoints]]
... code = "T1"
... name = "Checkout"
... category = "channel"
... stage = "transaction"
... line = "service"
... channels = ["store"]
... '''
>>> bp = loads_blueprint(text)
>>> loads_blueprint(dump_blueprint(bp, format="json"), format="json") == bp
True
>>> try:
...     loads_blueprint('name = "mini"\\ntitle = \\n', source="mini.toml")
... except BlueprintError as err:
...     print(err.problems[0].message)
invalid TOML at line 2, column 9: Invalid value
"""

from __future__ import annotations

import json
import os
import re
import tomllib
from pathlib import Path
from typing import Any, Literal

from touchpoint._deprecation import renamed
from touchpoint._extras import require
from touchpoint.errors import BlueprintError, Problem
from touchpoint.model import Blueprint
from touchpoint.schema._build import blueprint_from_dict
from touchpoint.schema._dump import blueprint_to_dict
from touchpoint.schema._models import FORMAT_VERSION, BlueprintFile

__all__ = [
    "blueprint_json_schema",
    "dump_blueprint",
    "load_blueprint",
    "loads_blueprint",
    "save_blueprint",
]

Format = Literal["toml", "json"]
_SUFFIXES: dict[str, Format] = {".toml": "toml", ".json": "json"}
_AT = re.compile(r"^(.*?)\s*\(at line (\d+), column (\d+)\)\s*$", re.DOTALL)
#: Draft 7: the newest draft every editor validator reads; the schema uses only keywords
#: that mean the same in draft 7 and 2020-12.
_SCHEMA_DIALECT = "http://json-schema.org/draft-07/schema#"


class _DuplicateKey(ValueError):
    pass


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    data: dict[str, Any] = {}
    for key, value in pairs:
        if key in data:
            raise _DuplicateKey(key)
        data[key] = value
    return data


def _syntax(message: str, source: str | None, value: Any = None) -> BlueprintError:
    problem = Problem("", message) if value is None else Problem("", message, value)
    return BlueprintError([problem], source=source)


def _parse(text: str | bytes, format: str, source: str | None) -> Any:
    """Parse TOML or JSON text; every failure becomes a `BlueprintError` with line and column."""
    if format not in ("toml", "json"):
        raise ValueError(f"format must be 'toml' or 'json', not {format!r}")
    if isinstance(text, bytes | bytearray | memoryview):
        raw = bytes(text)
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            line = raw.count(b"\n", 0, exc.start) + 1
            column = exc.start - (raw.rfind(b"\n", 0, exc.start) + 1) + 1
            raise _syntax(
                f"is not UTF-8 text: byte {raw[exc.start]:#04x} at line {line}, column {column}",
                source,
            ) from None
    elif not isinstance(text, str):
        raise TypeError(f"expected the text of a file (str or bytes), got {type(text).__name__}")
    text = text.removeprefix("\ufeff")
    try:
        if format == "toml":
            return tomllib.loads(text)
        return json.loads(text, object_pairs_hook=_no_duplicates)
    except tomllib.TOMLDecodeError as exc:
        if str(exc).endswith("(at end of document)"):
            what = str(exc).removesuffix("(at end of document)").strip()
            raise _syntax(f"invalid TOML at the end of the text: {what}", source) from None
        match = _AT.match(str(exc))
        if match:
            what, at_line, at_column = match.groups()
            raise _syntax(
                f"invalid TOML at line {at_line}, column {at_column}: {what}", source
            ) from None
        raise _syntax(f"invalid TOML: {exc}", source) from None
    except json.JSONDecodeError as exc:
        raise _syntax(
            f"invalid JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}", source
        ) from None
    except _DuplicateKey as exc:
        raise _syntax(
            "invalid JSON: a key appears twice in the same object", source, str(exc)
        ) from None
    except RecursionError:
        raise _syntax(f"invalid {format.upper()}: nested too deeply", source) from None
    except ValueError as exc:  # e.g. an integer with more digits than Python converts
        raise _syntax(f"invalid {format.upper()}: {exc}", source) from None


def loads_blueprint(
    text: str | bytes, *, format: Format = "toml", source: str | None = "<string>"
) -> Blueprint:
    """Read a blueprint from TOML or JSON text (or UTF-8 bytes).

    Raises
    ------
    BlueprintError
        Listing every problem, each with its path (``touchpoints[3].indicators[0].target``)
        and value; ``source`` names the text in the message.

    Examples
    --------
    >>> bp = loads_blueprint('{"name": "mini", "stages": ["awareness"], "touchpoints": '
    ...     '[{"code": "AD", "name": "Billboard", "category": "communication", '
    ...     '"stage": "awareness", "line": "promotion", "channels": ["advertising"]}]}',
    ...     format="json")
    >>> bp.name, len(bp)
    ('mini', 1)
    """
    return blueprint_from_dict(_parse(text, format, source), source=source)


def _format_of(path: Path) -> Format:
    fmt = _SUFFIXES.get(path.suffix.lower())
    if fmt is None:
        raise _syntax("a blueprint file name ends in .toml or .json", str(path), path.suffix)
    return fmt


def load_blueprint(path: str | os.PathLike[str]) -> Blueprint:
    """Read a blueprint file; the format follows the suffix (``.toml`` or ``.json``).

    Raises
    ------
    BlueprintError
        For any problem, including a file that cannot be read; the message names the file.

    Examples
    --------
    >>> import pathlib, tempfile
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> (folder / "mini.toml").write_text(
    ...     'name = "mini"\\nstages = ["awareness"]\\n[[touchpoints]]\\ncode = "AD"\\n'
    ...     'name = "Billboard"\\ncategory = "communication"\\nstage = "awareness"\\n'
    ...     'line = "promotion"\\nchannels = ["advertising"]\\n', encoding="utf-8") > 0
    True
    >>> load_blueprint(folder / "mini.toml").touchpoint("AD").name
    'Billboard'
    """
    path = Path(path)
    fmt = _format_of(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise _syntax(f"cannot be read: {exc.strerror or exc}", str(path)) from None
    return loads_blueprint(data, format=fmt, source=str(path))


@renamed(bp="blueprint")
def dump_blueprint(blueprint: Blueprint, *, format: Format = "toml") -> str:
    """The blueprint as TOML or JSON text; loading it gives back an equal blueprint.

    Writing TOML needs the ``toml`` extra (``tomli-w``).

    Examples
    --------
    >>> from touchpoint.model import Blueprint, Touchpoint
    >>> bp = Blueprint(name="mini", stages=["awareness"], touchpoints=[
    ...     Touchpoint("AD", "Billboard", category="communication", stage="awareness",
    ...                line="promotion", channels=["advertising"])])
    >>> print(dump_blueprint(bp, format="toml").splitlines()[1])
    name = "mini"
    """
    data = blueprint_to_dict(blueprint)
    if format == "json":
        return json.dumps(data, ensure_ascii=False, indent=2, allow_nan=False) + "\n"
    if format == "toml":
        tomli_w = require("tomli_w", extra="toml", feature="Saving TOML blueprints")
        text: str = tomli_w.dumps(data)
        return text
    raise ValueError(f"format must be 'toml' or 'json', not {format!r}")


@renamed(bp="blueprint")
def save_blueprint(blueprint: Blueprint, path: str | os.PathLike[str]) -> None:
    """Write the blueprint to a ``.toml`` or ``.json`` file (UTF-8), by the file's suffix.

    Examples
    --------
    >>> import pathlib, tempfile
    >>> from touchpoint.model import Blueprint, Touchpoint
    >>> bp = Blueprint(name="mini", stages=["awareness"], touchpoints=[
    ...     Touchpoint("AD", "Billboard", category="communication", stage="awareness",
    ...                line="promotion", channels=["advertising"])])
    >>> target = pathlib.Path(tempfile.mkdtemp()) / "mini.json"
    >>> save_blueprint(bp, target)
    >>> load_blueprint(target) == bp
    True
    """
    path = Path(path)
    text = dump_blueprint(blueprint, format=_format_of(path))
    path.write_text(text, encoding="utf-8", newline="\n")


def blueprint_json_schema() -> dict[str, Any]:
    """The JSON Schema (draft 7) of the blueprint file format, for editors.

    Point VS Code (``json.schemas``) or taplo (``#:schema`` or ``.taplo.toml``) at the
    file ``touchpoint schema --output blueprint.schema.json`` writes.

    Examples
    --------
    >>> schema = blueprint_json_schema()
    >>> schema["title"], schema["additionalProperties"]
    ('touchpoint blueprint', False)
    >>> sorted(schema["required"])
    ['name']
    """
    schema = BlueprintFile.model_json_schema()
    return {
        "$schema": _SCHEMA_DIALECT,
        "title": "touchpoint blueprint",
        "description": (
            f"A touchpoint blueprint (file format {FORMAT_VERSION}): a company's touchpoint "
            "inventory with control indicators, MCP matrix, loyalty programme and care rules."
        ),
        **{k: v for k, v in schema.items() if k not in ("title", "description")},
    }
