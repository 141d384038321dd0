"""The demo: a synthetic customer base, and the ``touchpoint demo`` main job and its reports."""

from touchpoint._deprecation import moved_modules
from touchpoint.demo._html import html_report
from touchpoint.demo._report import text_report
from touchpoint.demo._run import DemoResult, run_demo, send_planned
from touchpoint.demo._synthetic import SyntheticBase, synthetic_base

__all__ = [
    "DemoResult",
    "SyntheticBase",
    "html_report",
    "run_demo",
    "send_planned",
    "synthetic_base",
    "text_report",
]

# Old paths, kept for one release: the implementation modules are private now.
__getattr__ = moved_modules(
    __name__,
    {
        module: (__name__, f"{__name__}._{module}")
        for module in ("html", "report", "run", "synthetic")
    },
)
