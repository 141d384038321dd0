"""Customer journeys and attribution: which touchpoints win the conversions.

`journeys` builds ordered journeys from one row per touch; `markov` attributes
conversions by exact Markov-chain removal effects; `heuristic` applies first touch,
last touch, linear, time decay or position-based rules; `shapley` splits conversions by
Shapley value; `key_touchpoints` ranks touchpoints by attribution share and by how much
their ratings drive overall satisfaction.

Examples
--------
>>> from touchpoint.attribution import markov
>>> data = {"customer": [1, 1, 2], "time": ["2024-01-01", "2024-01-02", "2024-01-01"],
...         "touchpoint": ["ad", "store", "ad"], "converted": [False, True, False]}
>>> markov(data)["share"].tolist()
[0.5, 0.5]
"""

from touchpoint._deprecation import moved_modules
from touchpoint.attribution._heuristics import MODELS, heuristic
from touchpoint.attribution._journeys import Journeys, journeys
from touchpoint.attribution._key import key_touchpoints
from touchpoint.attribution._markov import markov
from touchpoint.attribution._shapley import shapley

__all__ = [
    "MODELS",
    "Journeys",
    "heuristic",
    "journeys",
    "key_touchpoints",
    "markov",
    "shapley",
]

# Kept for one release: the helpers that work on Journeys live in .parts now.
__getattr__ = moved_modules(
    __name__,
    {},
    {
        name: f"{__name__}.parts"
        for name in ("relative_weights", "removal_effects", "shapley_values", "touch_weights")
    },
)
