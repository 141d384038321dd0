"""The ``touchpoint`` command line: templates, show, validate, schema, --version."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

import touchpoint
from touchpoint import templates
from touchpoint.cli import main
from touchpoint.schema import blueprint_json_schema, load_blueprint

FIXTURES = Path(__file__).parents[1] / "schema" / "data"
FULL = FIXTURES / "full.toml"
MISTAKES = FIXTURES / "mistakes.toml"


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_version(capsys) -> None:
    code, out, _ = run(capsys, "--version")
    assert code == 0 and out.strip() == f"touchpoint {touchpoint.__version__}"


def test_templates_lists_name_title_count_and_key_touchpoints(capsys) -> None:
    code, out, err = run(capsys, "templates")
    assert code == 0 and err == ""
    lines = out.splitlines()
    assert lines[0].split() == ["name", "title", "touchpoints", "key", "touchpoints"]
    assert len(lines) == 1 + len(templates.names())
    for name, line in zip(templates.names(), lines[1:], strict=True):
        bp = templates.load(name)
        assert line.startswith(name) and bp.title in line
        assert re.search(rf"\s{len(bp)}\s", line)
        assert bp.key_touchpoints[0].code in line


def test_show_lays_out_every_touchpoint_by_stage_and_line(capsys) -> None:
    code, out, err = run(capsys, "show", "car-dealership")
    assert code == 0 and err == ""
    bp = templates.load("car-dealership")
    for tp in bp:
        mark = "*" if tp.key else " "
        assert re.search(rf"^\s+{re.escape(mark)} {re.escape(tp.code)}  ", out, re.M), tp.code
        for ind in tp.indicators:
            assert f"- {ind.code}: {ind.name}" in out
    # stage headings come in the blueprint's order, each touchpoint under its own stage
    headings = [
        m.start() for s in bp.stages for m in [re.search(rf"^{s.value.upper()} ", out, re.M)]
    ]
    assert headings == sorted(headings)
    for tp in bp:
        at = out.index(f" {tp.code}  ")
        stage_above = max((h, s) for h, s in zip(headings, bp.stages, strict=True) if h < at)[1]
        assert stage_above is tp.stage


def test_show_overview_counts_match_the_blueprint(capsys) -> None:
    _, out, _ = run(capsys, "show", str(FULL))
    bp = load_blueprint(FULL)
    row = next(line for line in out.splitlines() if line.strip().startswith("transaction "))
    cells = re.split(r"\s{2,}", row.strip())[1:]
    # promotion, display, product, service: the two returns touchpoints, one key
    assert cells == ["-", "-", "-", "2 (1*)"]
    assert len(bp.by_stage("transaction")) == 2


def test_show_prints_the_matrix_with_cell_codes_and_blind_spots(capsys) -> None:
    _, out, _ = run(capsys, "show", str(FULL))
    section = out[out.index("MCP MATRIX") :]
    row = next(line for line in section.splitlines() if line.strip().startswith("102 Returns"))
    assert row.split()[2:] == ["A102", "B102", "-"]
    assert "Blind spots (管理盲点): 3" in section
    assert "101 Loyalty card sign-up × website" in section
    assert "102 × website: Returns need the goods in hand" in section


def test_show_summarises_loyalty_care_rules_and_promises(capsys) -> None:
    _, out, _ = run(capsys, "show", str(FULL))
    assert "LOYALTY PROGRAMME 'bread card'" in out
    assert re.search(r"^\s+gold\s+Gold\s+500\s+5%\s+free coffee$", out, re.M)
    assert "points expire after 24 months" in out
    assert "thanks: Thank-you letter after the first purchase  [3 days after purchase" in out
    assert "then 1 day later via phone: Call to announce the letter" in out
    assert "birthday: Birthday greetings  [on birthday, then yearly" in out
    assert "PROMISE POLICY: promises worth at most 50 EUR and due within 14 days" in out


def test_show_telecom_matrix_lists_the_cells_the_material_does_not_show_as_blind_spots(
    capsys,
) -> None:
    code, out, _ = run(capsys, "show", "telecom-hall")
    bp = templates.load("telecom-hall")
    assert code == 0
    section = out[out.index("MCP MATRIX") :]
    for (process, _channel), codes in bp.mcp().cells.items():
        row = next(line for line in section.splitlines() if line.strip().startswith(f"{process} "))
        assert all(c in row for c in codes)
    blind = bp.mcp().blind_spots
    assert len(blind) == 28 and f"Blind spots (管理盲点): {len(blind)}" in section
    names = {p.code: p.name for p in bp.matrix.processes}
    for process, channel in blind:
        assert f"    - {process} {names[process]} × {channel}" in section


def _indicator_block(out: str, code: str, ind) -> list[str]:
    """The indicator's line under its touchpoint, and the line after it."""
    lines = out.splitlines()
    at = next(i for i, line in enumerate(lines) if re.match(rf"^\s+[* ] {re.escape(code)}  ", line))
    mine = next(
        i for i in range(at + 1, len(lines)) if lines[i].strip().startswith(f"- {ind.code}: ")
    )
    return lines[mine : mine + 2]


@pytest.mark.parametrize("name", templates.names())
def test_show_marks_where_every_indicator_of_a_template_comes_from(capsys, name) -> None:
    _, out, _ = run(capsys, "show", name)
    bp = templates.load(name)
    counts = {"material": 0, "example": 0}
    for tp, ind in bp.indicators():
        line, below = _indicator_block(out, tp.code, ind)
        label = {"material": "from the material", "example": "example value"}[ind.source.value]
        assert line.endswith(f"; {label}]"), line
        # the note, on one line under the indicator, whitespace as in the file
        assert below.strip() == f"source: {' '.join(ind.source_note.split())}"
        counts[ind.source.value] += 1
    summary = ", ".join(
        f"{n} {w}"
        for n, w in [
            (counts["material"], "from the material"),
            (counts["example"], "example value" if counts["example"] == 1 else "example values"),
        ]
        if n
    )
    assert f"Sources of the indicators: {summary}." in out
    assert "set your own before measuring anyone against it" in " ".join(out.split())


def test_show_marks_example_care_rules_loyalty_and_promise_policy(capsys) -> None:
    _, out, _ = run(capsys, "show", "budget-hotel")
    assert re.search(r"^LOYALTY PROGRAMME '.*' \(example values\)$", out, re.M)
    assert "tier table" in out[out.index("LOYALTY PROGRAMME") :].splitlines()[1]
    _, out, _ = run(capsys, "show", "real-estate")
    warranty = next(line for line in out.splitlines() if "warranty-reminder:" in line)
    assert warranty.endswith("; example value]")
    visit = next(line for line in out.splitlines() if "visit-3m:" in line)
    assert visit.endswith("; from the material]")
    _, out, _ = run(capsys, "show", "mother-baby")
    assert re.search(
        r"^PROMISE POLICY: promises worth at most 200 CNY .*\(example values\)$", out, re.M
    )
    rule = next(line for line in out.splitlines() if "formula-stage-2:" in line)
    assert "3 months after child_birth; via sms; marketing" in rule


def test_show_leaves_a_users_own_standards_unmarked(capsys) -> None:
    _, out, _ = run(capsys, "show", str(FULL))
    for mark in ("from the material", "example value", "Sources of the indicators", "source:"):
        assert mark not in out


def test_validate_ok(capsys) -> None:
    code, out, err = run(capsys, "validate", str(FULL))
    assert code == 0 and err == ""
    assert out.startswith(f"OK {FULL}: blueprint 'corner-shop', 5 touchpoints (2 key)")
    assert len(out.splitlines()) == 1


def test_validate_lists_every_problem_and_exits_1(capsys) -> None:
    code, out, err = run(capsys, "validate", str(MISTAKES))
    assert code == 1 and out == ""
    assert err.startswith(f"8 problems in {MISTAKES}:")
    for path, value in [
        ("currency", "978"),
        ("touchpoints[0].channels[1]", "'carrier-pigeon'"),
        ("touchpoints[0].weight", "-1"),
        ("touchpoints[1].colour", "'blue'"),
        ("touchpoints[1].indicators[0].unit", "'fortnights'"),
        ("touchpoints[1].indicators[1].target", "'high'"),
        ("touchpoints[2].code", "'AD-01'"),
        ("care_rules[0].touchpoint", "'T-THANKS'"),
    ]:
        line = next(x for x in err.splitlines() if x.startswith(f"  - {path}: "))
        assert f"(value: {value}" in line
    assert "Traceback" not in err


def test_validate_json_file_and_syntax_error(capsys, tmp_path: Path) -> None:
    good = tmp_path / "shop.json"
    good.write_text(json.dumps(tomllib.loads(FULL.read_text(encoding="utf-8"))), encoding="utf-8")
    assert run(capsys, "validate", str(good))[0] == 0
    bad = tmp_path / "bad.toml"
    bad.write_text('name = "x"\ntitle = \n', encoding="utf-8")
    code, _, err = run(capsys, "validate", str(bad))
    assert code == 1 and "line 2, column 9" in err


def test_user_errors_exit_1_without_traceback(capsys, tmp_path: Path) -> None:
    code, out, err = run(capsys, "show", "no-such-template")
    assert code == 1 and out == ""
    assert err.startswith("touchpoint: error: no built-in template named 'no-such-template'")
    assert "car-dealership" in err and "Traceback" not in err
    code, _, err = run(capsys, "show", str(tmp_path / "missing.toml"))
    assert code == 1 and "cannot be read" in err and "missing.toml" in err


def test_usage_errors_exit_2(capsys) -> None:
    assert run(capsys, "frobnicate")[0] == 2
    assert run(capsys)[0] == 2
    assert run(capsys, "show")[0] == 2


def test_schema_to_stdout_and_file(capsys, tmp_path: Path) -> None:
    code, out, _ = run(capsys, "schema")
    assert code == 0 and json.loads(out) == blueprint_json_schema()
    target = tmp_path / "blueprint.schema.json"
    code, out, err = run(capsys, "schema", "--output", str(target))
    assert code == 0 and out == "" and str(target) in err
    assert json.loads(target.read_text(encoding="utf-8")) == blueprint_json_schema()


def test_help_lists_every_command(capsys) -> None:
    code, out, _ = run(capsys, "--help")
    assert code == 0
    for command in ("templates", "show", "validate", "schema"):
        assert command in out


def test_real_process_python_m_touchpoint() -> None:
    """The command as a user runs it, in a separate process."""
    done = subprocess.run(
        [sys.executable, "-m", "touchpoint", "validate", str(MISTAKES)],
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=60,
        check=False,
    )
    assert done.returncode == 1
    assert done.stderr.startswith(f"8 problems in {MISTAKES}:") and "Traceback" not in done.stderr
    done = subprocess.run(
        [sys.executable, "-m", "touchpoint", "show", "telecom-hall"],
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=60,
        check=False,
    )
    assert done.returncode == 0 and "MCP MATRIX" in done.stdout and "A102" in done.stdout
