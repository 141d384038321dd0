"""The pure steps of attribution, for `touchpoint.scale` and for extensions.

`touchpoint.scale` runs `touchpoint.attribution.markov` on Dask by counting each partition's
journeys with `count_transitions` (into the touchpoints of the whole data, ordered as
`sorted_units` orders them), adding the counts up (`add_transitions`) and finishing with
`markov_frame`, the in-memory code. The helpers that work on `Journeys` directly
(`removal_effects`, `touch_weights`, `shapley_values`) and `relative_weights` live here too.

Examples
--------
>>> from touchpoint.attribution import journeys
>>> j = journeys({"customer": [1, 1, 2], "time": [1, 2, 1], "touchpoint": ["ad", "store", "ad"],
...               "converted": [False, True, False]}, until="customer")
>>> removal_effects(j).tolist()
[1.0, 1.0]
"""

from touchpoint.attribution._heuristics import touch_weights
from touchpoint.attribution._journeys import sorted_units
from touchpoint.attribution._key import relative_weights
from touchpoint.attribution._markov import (
    Transitions,
    add_transitions,
    check_order,
    check_state_bits,
    count_transitions,
    empty_transitions,
    markov_frame,
    removal_effects,
    solve_transitions,
)
from touchpoint.attribution._shapley import shapley_values

__all__ = [
    "Transitions",
    "add_transitions",
    "check_order",
    "check_state_bits",
    "count_transitions",
    "empty_transitions",
    "markov_frame",
    "relative_weights",
    "removal_effects",
    "shapley_values",
    "solve_transitions",
    "sorted_units",
    "touch_weights",
]
