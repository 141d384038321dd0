import pytest
from hypothesis import given
from hypothesis import strategies as st

from touchpoint import ValidationError
from touchpoint.care.render import fields_of, render


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
