"""The example in docs/blueprint-format.md is a valid blueprint, and the doc lists every key."""

from __future__ import annotations

import re
from pathlib import Path

from touchpoint.schema import BlueprintFile, loads_blueprint

DOC = Path(__file__).parents[2] / "docs" / "blueprint-format.md"


def test_the_documented_example_loads() -> None:
    text = DOC.read_text(encoding="utf-8")
    # the write marker before the block makes the docs test write it as corner-shop.toml
    found = re.search(
        r"## An example\n\n(?:<!-- docs-test: write [^>]+ -->\n\n)?```toml\n(.*?)```", text, re.S
    )
    assert found, 'docs/blueprint-format.md has no example block under "## An example"'
    example = found.group(1)
    bp = loads_blueprint(example, source="docs example")
    assert bp.name == "corner-shop"
    assert bp.touchpoint("LETTER").indicator("three-calls").counts == ("CALL",)
    assert bp.mcp().blind_spots == []


#: The heading of each record's table in the doc.
SECTIONS = {
    "BlueprintFile": "### Top level",
    "ChannelFile": "### `[[channels]]`",
    "TouchpointFile": "### `[[touchpoints]]`",
    "IndicatorFile": "### `[[touchpoints.indicators]]`",
    "MatrixFile": "### `[matrix]`",
    "ProcessFile": "### `[[matrix.processes]]`",
    "EmptyCellFile": "### `[[matrix.empty]]`",
    "LoyaltyFile": "### `[loyalty]`",
    "TierFile": "### `[[loyalty.tiers]]`",
    "CareRuleFile": "### `[[care_rules]]`",
    "FollowUpFile": "### `[[care_rules.follow_ups]]`",
    "TriggerFile": "### `[care_rules.trigger]`",
    "PromisePolicyFile": "### `[promise_policy]`",
}


def _section(text: str, heading: str) -> str:
    start = text.index(heading + "\n")
    end = text.find("\n#", start + len(heading))
    return text[start : end if end > 0 else len(text)]


def test_the_doc_names_every_key_of_the_format_in_its_records_table() -> None:
    text = DOC.read_text(encoding="utf-8")
    models, seen = [BlueprintFile], set()
    while models:
        model = models.pop()
        seen.add(model.__name__)
        table = _section(text, SECTIONS[model.__name__])
        rows = re.findall(r"^\| `([a-z_]+)` \|", table, re.M)
        assert rows == list(model.model_fields), f"{model.__name__}: the doc lists {rows}"
        for field in model.model_fields.values():
            for arg in (*getattr(field.annotation, "__args__", ()), field.annotation):
                inner = getattr(arg, "__args__", (arg,))
                models += [t for t in inner if isinstance(t, type) and hasattr(t, "model_fields")]
    assert seen == set(SECTIONS)


def test_the_documented_source_example_loads_as_an_example_value() -> None:
    text = DOC.read_text(encoding="utf-8")
    section = _section(text, "## Where the figures come from")
    snippet = re.search(r"```toml\n(.*?)```", section, re.S).group(1)
    head = (
        'name = "x"\nstages = ["consultation"]\n[[touchpoints]]\ncode = "T"\nname = "T"\n'
        'category = "people"\nstage = "consultation"\nline = "service"\nchannels = ["store"]\n'
    )
    ind = loads_blueprint(head + snippet).touchpoint("T").indicator("greet-time")
    assert ind.source.value == "example" and "及时迎接" in ind.source_note
