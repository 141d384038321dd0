"""The demo: a synthetic customer base, and the ``touchpoint demo`` main job and its reports."""

from touchpoint._deprecation import moved_modules
from touchpoint.demo._blueprint import demo_blueprint, nps_touchpoints
from touchpoint.demo._html import html_report, section_html
from touchpoint.demo._report import text_report
from touchpoint.demo._run import (
    DemoResult,
    held_contacts,
    hold_out,
    read_experiment,
    run_demo,
    send_planned,
)
from touchpoint.demo._sections import (
    SECTION_TITLES,
    narrow,
    off_scale,
    report_sections,
    rows_of,
    touchpoint_mask,
)
from touchpoint.demo._synthetic import SyntheticBase, synthetic_base

__all__ = [
    "SECTION_TITLES",
    "DemoResult",
    "SyntheticBase",
    "demo_blueprint",
    "held_contacts",
    "hold_out",
    "html_report",
    "narrow",
    "nps_touchpoints",
    "off_scale",
    "read_experiment",
    "report_sections",
    "rows_of",
    "run_demo",
    "section_html",
    "send_planned",
    "synthetic_base",
    "text_report",
    "touchpoint_mask",
]

# Old paths, kept for one release: the implementation modules are private now.
__getattr__ = moved_modules(
    __name__,
    {
        module: (__name__, f"{__name__}._{module}")
        for module in ("html", "report", "run", "synthetic")
    },
)
