"""The demo: a synthetic customer base and (later) the ``touchpoint demo`` main job."""

from touchpoint.demo.synthetic import SyntheticBase, synthetic_base

__all__ = ["SyntheticBase", "synthetic_base"]
