import tracemalloc

import pytest
from hypothesis import given
from hypothesis import strategies as st

from touchpoint import ValidationError
from touchpoint.care import MAX_WIDTH, fields_of, render


def test_missing_field_names_the_field_but_not_other_values():
    with pytest.raises(ValidationError) as err:
        render("Dear {name}, call {phone}", {"name": "Zhang Wei"}, where="care_rules[0].message")
    text = str(err.value)
    assert "care_rules[0].message: uses {phone} but no value is given for 'phone'" in text
    assert "Zhang Wei" not in text


@pytest.mark.parametrize("template", ["{name.__class__}", "{name[0]}", "{0}", "{}"])
def test_templates_cannot_reach_into_objects(template):
    with pytest.raises(ValidationError, match="placeholders must be plain field names"):
        render(template, {"name": "x"})


def test_format_specs_and_escaped_braces():
    assert render("{points:,} points {{bonus}}", {"points": 12500}) == "12,500 points {bonus}"
    assert fields_of("{a}{b}{a}") == ["a", "b"]


def test_unbalanced_braces_are_a_clear_error():
    with pytest.raises(ValidationError, match="is not a valid template"):
        render("Dear {name", {"name": "x"})


@given(
    st.dictionaries(
        st.from_regex(r"[a-z][a-z_]{0,8}", fullmatch=True),
        st.text(max_size=20),
        min_size=1,
        max_size=5,
    )
)
def test_every_value_lands_where_its_placeholder_was(fields):
    template = " | ".join("{" + k + "}" for k in fields)
    assert render(template, fields) == " | ".join(fields.values())


# --------------------------------------------------------------------------- the sandbox

PERSON = {"name": "Zhang Wei", "amount": 1234.5, "points": 12500}


@pytest.mark.parametrize(
    "template",
    ["{name:{name.__class__}}", "{name:{amount}}", "{amount:{points}f}", "{name:{}}", "{name:{0}}"],
)
def test_a_format_spec_may_not_hold_a_placeholder(template):
    """Defect 13: nested specs ran attribute access, showed it, or raised a raw KeyError."""
    with pytest.raises(ValidationError) as err:
        render(template, PERSON, where="care_rules[2].message")
    text = str(err.value)
    assert "care_rules[2].message: a format spec may not contain a placeholder" in text
    assert "class" not in text.replace("__class__", "") and "Zhang" not in text


@pytest.mark.parametrize(
    "template",
    ["{name:300000000}", "{name:>300000000}", "{amount:.300000000f}", "{amount:,.1001f}",
     "{name:1001}", "{name:x<99999999999999999999999}", "{name:" + "9" * 5000 + "}"],
)  # fmt: skip
def test_huge_widths_and_precisions_are_refused_before_any_string_is_built(template):
    tracemalloc.start()
    try:
        with pytest.raises(
            ValidationError, match=f"a width or precision may be at most {MAX_WIDTH}"
        ):
            render(template, PERSON)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 1_000_000  # refused before a 300 MB string was built
    with pytest.raises(ValidationError):
        fields_of(template)  # the rules' templates are checked before anything is rendered


def test_widths_up_to_the_limit_are_fine():
    assert render("{name:>1000}", PERSON) == " " * 991 + "Zhang Wei"
    assert render("{amount:,.2f} / {points:06d} / {name!r}", PERSON) == (
        "1,234.50 / 012500 / 'Zhang Wei'"
    )
    import datetime as dt

    assert render("{day:%d %B %Y}", {"day": dt.date(2026, 5, 1)}) == "01 May 2026"


def test_a_spec_that_does_not_apply_names_the_placeholder_never_the_value():
    class Secretive:
        def __format__(self, spec):
            raise ValueError("the secret is li.na@example.com")

    with pytest.raises(ValidationError) as err:
        render("Dear {name:d}", PERSON)
    assert "the format spec of {name:d} does not apply to a str" in str(err.value)
    assert "Zhang" not in str(err.value)
    with pytest.raises(ValidationError) as err:
        render("{who:x}", {"who": Secretive()})
    assert "li.na" not in str(err.value) and "{who:x}" in str(err.value)
    with pytest.raises(ValidationError, match="the only conversions are"):
        render("{name!x}", PERSON)


_PIECES = [*"{}:!.,[]0123456789<>^=+-_#%sdfrax ", "name", "amount", "points", "__class__"]


@given(st.lists(st.sampled_from(_PIECES), max_size=30).map("".join))
def test_any_template_renders_or_is_refused_with_the_librarys_error(template):
    try:
        out = render(template, PERSON)
    except ValidationError as err:
        assert "Zhang" not in str(err)
    else:
        assert isinstance(out, str) and len(out) <= len(template) * (MAX_WIDTH + 20) + 100
