"""The example in docs/blueprint-format.md is a valid blueprint, and the doc lists every key."""

from __future__ import annotations

import re
from pathlib import Path

from touchpoint.schema import loads_blueprint
from touchpoint.schema.models import BlueprintFile

DOC = Path(__file__).parents[2] / "docs" / "blueprint-format.md"


def test_the_documented_example_loads() -> None:
    text = DOC.read_text(encoding="utf-8")
    example = re.search(r"## An example\n\n```toml\n(.*?)```", text, re.S).group(1)
    bp = loads_blueprint(example, source="docs example")
    assert bp.name == "corner-shop"
    assert bp.touchpoint("LETTER").indicator("three-calls").counts == ("CALL",)
    assert bp.mcp().blind_spots == []


def test_the_doc_names_every_key_of_the_format() -> None:
    text = DOC.read_text(encoding="utf-8")
    models = [BlueprintFile]
    while models:
        model = models.pop()
        for name, field in model.model_fields.items():
            assert f"| `{name}` |" in text, f"{model.__name__}.{name} is not documented"
            for arg in (*getattr(field.annotation, "__args__", ()), field.annotation):
                inner = getattr(arg, "__args__", (arg,))
                models += [t for t in inner if isinstance(t, type) and hasattr(t, "model_fields")]
