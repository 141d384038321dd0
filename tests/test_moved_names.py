"""The implementation modules are private now; their old paths work for one release, and warn.

Every public name of every old module path (its ``__all__`` in 0.1) is the same object
as before and warns, naming the package (or ``parts`` module) that is now its public
home; the few names that are no longer public say so. The functions that shadowed
their modules (``touchpoint.scoring.rfm``...) stay the functions.
"""

from __future__ import annotations

import importlib
import subprocess
import sys
import warnings

import numpy as np
import pytest

#: The old module paths and the names of their ``__all__`` in 0.1.
OLD = {
    "touchpoint.care.agenda": ["DueContacts", "agenda"],
    "touchpoint.care.complaints": ["complaint_stats"],
    "touchpoint.care.dispatch": ["DispatchReport", "Dispatcher", "EnqueueReport", "dispatch"],
    "touchpoint.care.policy": [
        "ContactPlan",
        "ContactPolicy",
        "FrequencyCap",
        "QuietHours",
        "plan_contacts",
    ],
    "touchpoint.care.promises": ["overdue_promises"],
    "touchpoint.care.render": ["MAX_WIDTH", "fields_of", "render"],
    "touchpoint.cli.main": ["build_parser", "run"],
    "touchpoint.cli.render": [
        "display_width",
        "pad",
        "render_blueprint",
        "source_summary",
        "table",
    ],
    "touchpoint.demo.html": ["bar_chart", "html_report"],
    "touchpoint.demo.report": ["SECTIONS", "text_report"],
    "touchpoint.demo.run": ["DemoResult", "run_demo", "send_planned"],
    "touchpoint.demo.synthetic": ["SyntheticBase", "synthetic_base"],
    "touchpoint.model.blueprint": ["Blueprint", "EmptyCell", "Matrix", "MatrixReport", "Process"],
    "touchpoint.model.care": [
        "Anchor",
        "CapAction",
        "CareRule",
        "FollowUp",
        "Purpose",
        "Recurrence",
    ],
    "touchpoint.model.classification": [
        "BUILTIN_CHANNELS",
        "Category",
        "Channel",
        "ContactApproach",
        "Direction",
        "Line",
    ],
    "touchpoint.model.customer": ["Consent", "Customer"],
    "touchpoint.model.duration": [
        "OFFSET_UNITS",
        "TIME_UNITS",
        "Offset",
        "format_timedelta",
        "parse_timedelta",
    ],
    "touchpoint.model.indicator": [
        "Comparison",
        "ControlIndicator",
        "IndicatorKind",
        "rating_range",
    ],
    "touchpoint.model.interaction": ["Interaction", "as_utc"],
    "touchpoint.model.loyalty": [
        "DowngradeRule",
        "LoyaltyProgramme",
        "LoyaltyTier",
        "QualificationBasis",
    ],
    "touchpoint.model.promise": [
        "ChurnKind",
        "Complaint",
        "ComplaintType",
        "Promise",
        "PromisePolicy",
        "PromiseStatus",
    ],
    "touchpoint.model.provenance": ["Provenance", "check_source", "to_provenance"],
    "touchpoint.model.stage": ["EnterpriseStage", "Stage"],
    "touchpoint.model.touchpoint": ["Touchpoint"],
    "touchpoint.scale.parquet": ["read_parquet"],
    "touchpoint.schema.build": ["blueprint_from_dict"],
    "touchpoint.schema.dump": ["blueprint_to_dict"],
    "touchpoint.schema.files": [
        "blueprint_json_schema",
        "dump_blueprint",
        "load_blueprint",
        "loads_blueprint",
        "save_blueprint",
    ],
    "touchpoint.schema.models": [
        "FORMAT_VERSION",
        "BlueprintFile",
        "CareRuleFile",
        "ChannelFile",
        "EmptyCellFile",
        "FollowUpFile",
        "IndicatorFile",
        "LoyaltyFile",
        "MatrixFile",
        "ProcessFile",
        "PromisePolicyFile",
        "TierFile",
        "TouchpointFile",
    ],
    "touchpoint.schema.records": [
        "FIELDS",
        "REQUIRED",
        "rating_scales",
        "validate_columns",
        "validate_records",
    ],
    "touchpoint.scoring.churn": [
        "CHURN_LEVELS",
        "DEFAULT_REASONS",
        "churn_kinds",
        "churn_risk",
        "churn_summary",
    ],
    "touchpoint.scoring.compliance": ["ComplianceReport", "compliance"],
    "touchpoint.scoring.loyalty": ["loyalty_index", "percentile_rank", "satisfied_but_defecting"],
    "touchpoint.scoring.programme": ["LoyaltyReport", "loyalty_programme"],
    "touchpoint.scoring.referral": ["first_referrer", "referral"],
    "touchpoint.scoring.rfm": [
        "DEFAULT_SEGMENTS",
        "METHODS",
        "quantile_scores",
        "rfm",
        "rfm_scores",
        "rfm_segments",
    ],
    "touchpoint.scoring.satisfaction": ["csat", "nps", "nps_interval", "wilson_interval"],
    "touchpoint.scoring.value": [
        "lifetime_value",
        "pareto",
        "pyramid",
        "pyramid_summary",
        "simple_clv",
        "top_share",
    ],
}

#: Names that were public in 0.1 and are not any more (the CHANGELOG lists them).
NO_LONGER_PUBLIC = {
    "touchpoint.cli.main": {"build_parser", "run"},
    "touchpoint.cli.render": {
        "display_width",
        "pad",
        "render_blueprint",
        "source_summary",
        "table",
    },
    "touchpoint.demo.html": {"bar_chart"},
    "touchpoint.demo.report": {"SECTIONS"},
    "touchpoint.model.duration": {"OFFSET_UNITS", "TIME_UNITS"},
    "touchpoint.model.provenance": {"check_source", "to_provenance"},
    "touchpoint.schema.models": {
        "CareRuleFile",
        "ChannelFile",
        "EmptyCellFile",
        "FollowUpFile",
        "IndicatorFile",
        "LoyaltyFile",
        "MatrixFile",
        "ProcessFile",
        "PromisePolicyFile",
        "TierFile",
        "TouchpointFile",
    },
    "touchpoint.schema.records": {"FIELDS", "REQUIRED", "rating_scales"},
}


def _private(old: str) -> object:
    package, module = old.rsplit(".", 1)
    return importlib.import_module(f"{package}._{module}")


@pytest.mark.parametrize("old", sorted(OLD))
def test_every_name_of_an_old_module_path_is_the_same_object_and_warns(old):
    before = importlib.import_module(old)
    private = _private(old)
    for name in OLD[old]:
        with pytest.warns(DeprecationWarning) as seen:
            value = getattr(before, name)
        assert value is getattr(private, name), f"{old}.{name}"
        message = str(seen[0].message)
        assert message.startswith(f"{old}.{name} is deprecated: "), message
        assert message.endswith("(the old path goes away in the next release)"), message
        if name in NO_LONGER_PUBLIC.get(old, ()):
            assert "it is no longer public" in message, message
            continue
        home = message.split("import it from ")[1].split(" ")[0]
        assert not any(part.startswith("_") for part in home.split(".")), message
        assert getattr(importlib.import_module(home), name) is value, message
        assert name in importlib.import_module(home).__all__, message


def test_the_functions_that_shadowed_their_modules_stay_the_functions():
    import touchpoint.care
    import touchpoint.cli

    shadowed = {
        touchpoint.scoring: ("rfm", "compliance", "referral"),
        touchpoint.care: ("agenda", "dispatch"),
        touchpoint.cli: ("main",),
    }
    for package, names in shadowed.items():
        for name in names:
            module = importlib.import_module(f"{package.__name__}.{name}")  # the old path
            assert callable(getattr(package, name)), f"{package.__name__}.{name}"
            assert getattr(package, name) is not module
            if package is not touchpoint.cli:  # cli.main was always the package's own
                assert getattr(package, name) is getattr(_private(module.__name__), name)


def test_an_old_module_name_is_still_an_attribute_of_its_package():
    import touchpoint.model
    import touchpoint.scoring

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        assert touchpoint.scoring.value.pyramid is touchpoint.scoring.pyramid
        assert touchpoint.model.duration.Offset is touchpoint.model.Offset


@pytest.mark.parametrize(
    ("package", "name", "home"),
    [
        ("touchpoint.scoring", "percentile_rank", "touchpoint.scoring.parts"),
        ("touchpoint.scoring", "quantile_scores", "touchpoint.scoring.parts"),
        ("touchpoint.scoring", "wilson_interval", "touchpoint.scoring.parts"),
        ("touchpoint.attribution", "relative_weights", "touchpoint.attribution.parts"),
        ("touchpoint.attribution", "removal_effects", "touchpoint.attribution.parts"),
        ("touchpoint.attribution", "shapley_values", "touchpoint.attribution.parts"),
        ("touchpoint.attribution", "touch_weights", "touchpoint.attribution.parts"),
    ],
)
def test_helpers_left_the_package_surface_for_parts(package, name, home):
    module = importlib.import_module(package)
    assert name not in module.__all__
    with pytest.warns(
        DeprecationWarning, match=f"{package}.{name} is deprecated: import it from {home} "
    ):
        value = getattr(module, name)
    assert value is getattr(importlib.import_module(home), name)


def test_a_from_import_of_an_old_path_warns_at_the_importing_line():
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        exec(
            compile(
                "from touchpoint.scoring.rfm import quantile_scores\n"
                "from touchpoint.model.duration import parse_timedelta\n",
                "host.py",
                "exec",
            ),
            {},
        )
    found = [(w.filename, w.lineno) for w in seen if issubclass(w.category, DeprecationWarning)]
    assert found == [("host.py", 1), ("host.py", 2)]


def test_load_blueprint_is_at_the_top_level_and_import_touchpoint_stays_light(tmp_path):
    import touchpoint
    from touchpoint import templates
    from touchpoint.schema import dump_blueprint, load_blueprint

    path = tmp_path / "dealer.json"
    path.write_text(dump_blueprint(templates.load("car-dealership"), format="json"))
    assert (
        touchpoint.load_blueprint(path) == load_blueprint(path) == templates.load("car-dealership")
    )
    assert "load_blueprint" in touchpoint.__all__
    code = "import sys, touchpoint\nprint('pydantic' in sys.modules, 'touchpoint.schema' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"]


def _events():
    return {
        "customer": ["a", "a", "b", "b"],
        "time": ["2024-01-01", "2024-01-02", "2024-01-01", "2024-01-03"],
        "touchpoint": ["ad", "store", "email", "store"],
        "converted": [False, True, False, True],
    }


def _same(a, b) -> None:
    if isinstance(a, tuple):
        for x, y in zip(a, b, strict=True):
            _same(x, y)
    elif isinstance(a, np.ndarray):
        np.testing.assert_array_equal(a, b)
    else:
        assert a == b


def _old_and_new_calls():
    """(label, call with the old keywords, call with the new ones, the old and new names)."""
    import datetime as dt

    from touchpoint import care, templates
    from touchpoint.attribution import journeys
    from touchpoint.attribution import parts as attribution
    from touchpoint.model import CareRule, LoyaltyProgramme, LoyaltyTier, Promise
    from touchpoint.schema import blueprint_to_dict, dump_blueprint
    from touchpoint.scoring import loyalty_programme

    j = journeys(_events(), until="customer")
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(50, 2)), rng.normal(size=50)
    rules = [
        CareRule(
            "bday",
            "Birthday",
            touchpoint="BD",
            anchor="birthday",
            recurrence="yearly",
            channels=["sms"],
        )
    ]
    customers = {"customer": ["C1"], "birthday": np.array(["1990-03-02"], dtype="datetime64[D]")}
    promises = {
        "id": ["P1"],
        "customer": ["C1"],
        "status": ["open"],
        "due": np.array(["2026-03-01"], dtype="datetime64[us]"),
    }
    complaints = {
        "customer": ["C1"],
        "type": ["service"],
        "opened_at": np.array(["2026-03-01T09:00"], dtype="datetime64[us]"),
        "first_response_at": np.array(["2026-03-01T10:00"], dtype="datetime64[us]"),
        "resolved_at": np.array(["NaT"], dtype="datetime64[us]"),
    }
    programme = LoyaltyProgramme(tiers=[LoyaltyTier("member", 0), LoyaltyTier("gold", 10)])
    report = loyalty_programme(
        {"customer": ["a"], "amount": [20.0], "time": ["2026-01-05"]}, programme, asof="2026-03-01"
    )
    promise = Promise(
        "P1",
        "C1",
        "call back",
        made_at=dt.datetime(2026, 1, 1, tzinfo=dt.UTC),
        due=dt.datetime(2026, 1, 2, tzinfo=dt.UTC),
    )
    blueprint = templates.load("car-dealership")
    day = dt.date(2026, 3, 2)
    return [
        (
            "agenda",
            lambda: care.agenda(rules, customers, on=day),
            lambda: care.agenda(rules, customers, asof=day),
            "on",
            "asof",
        ),
        (
            "overdue_promises",
            lambda: care.overdue_promises(promises, now="2026-03-15", id="id"),
            lambda: care.overdue_promises(promises, asof="2026-03-15", promise="id"),
            "now",
            "asof",
        ),
        (
            "complaint_stats",
            lambda: care.complaint_stats(complaints, now="2026-03-02", type="type"),
            lambda: care.complaint_stats(complaints, asof="2026-03-02", complaint_type="type"),
            "type",
            "complaint_type",
        ),
        (
            "tier_at",
            lambda: report.tier_at(when="2026-02-01"),
            lambda: report.tier_at(asof="2026-02-01"),
            "when",
            "asof",
        ),
        (
            "is_overdue",
            lambda: promise.is_overdue(now=dt.datetime(2026, 1, 3)),
            lambda: promise.is_overdue(asof=dt.datetime(2026, 1, 3)),
            "now",
            "asof",
        ),
        (
            "touch_weights",
            lambda: attribution.touch_weights(j=j, model="linear"),
            lambda: attribution.touch_weights(journeys=j, model="linear"),
            "j",
            "journeys",
        ),
        (
            "removal_effects",
            lambda: attribution.removal_effects(j=j),
            lambda: attribution.removal_effects(journeys=j),
            "j",
            "journeys",
        ),
        (
            "shapley_values",
            lambda: attribution.shapley_values(j=j),
            lambda: attribution.shapley_values(journeys=j),
            "j",
            "journeys",
        ),
        (
            "relative_weights",
            lambda: attribution.relative_weights(X=X, y=y),
            lambda: attribution.relative_weights(predictors=X, outcome=y),
            "X",
            "predictors",
        ),
        (
            "blueprint_to_dict",
            lambda: blueprint_to_dict(bp=blueprint),
            lambda: blueprint_to_dict(blueprint=blueprint),
            "bp",
            "blueprint",
        ),
        (
            "dump_blueprint",
            lambda: dump_blueprint(bp=blueprint, format="json"),
            lambda: dump_blueprint(blueprint=blueprint, format="json"),
            "bp",
            "blueprint",
        ),
    ]


@pytest.mark.parametrize("case", range(11))
def test_an_old_keyword_gives_the_same_result_with_a_warning_naming_the_new_one(case):
    label, old, new, was, now = _old_and_new_calls()[case]
    with pytest.warns(DeprecationWarning, match=rf"{was}=\.\.\.\) is deprecated: use {now}="):
        got = old()
    want = new()
    if hasattr(want, "columns") and callable(getattr(want, "columns", None)):
        got, want = got.columns(), want.columns()
    if isinstance(want, dict):
        assert got.keys() == want.keys(), label
        for key in want:
            _same(got[key], want[key])
    else:
        _same(got, want)


def test_journeys_without_until_warns_that_its_default_becomes_the_others():
    from touchpoint.attribution import journeys

    with pytest.warns(FutureWarning, match="from the next release the default is until='customer'"):
        old = journeys(_events())
    assert old.paths() == journeys(_events(), until="conversion").paths()
