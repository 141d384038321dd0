"""Markov removal effects and heuristic models agree with ChannelAttribution 2.2.5.

ChannelAttribution runs in its own virtual environment (benchmarks/peers/make_peer_envs.sh);
the test fails, not skips, when it is missing. ChannelAttribution estimates removal
effects by simulating walks: with its default ``max_step`` it stops walks early, which
biases journeys that loop; with a long ``max_step`` and many simulations it converges to
the exact values computed here, within its simulation error.
"""

import numpy as np
import pytest

from touchpoint.attribution import heuristic, journeys, markov

pytestmark = pytest.mark.slow  # compares with a peer library in its own environment

CA_SCRIPT = r"""
import json, sys, warnings, io, contextlib
warnings.simplefilter("ignore")
import pandas as pd
with contextlib.redirect_stdout(io.StringIO()):
    import ChannelAttribution as ca
payload = json.load(sys.stdin)
df = pd.DataFrame({"path": [" > ".join(p) for p in payload["paths"]],
                   "conv": payload["conv"], "null": payload["null"]})
with contextlib.redirect_stdout(io.StringIO()):
    m = ca.markov_model(df, "path", "conv", var_null="null", out_more=True, verbose=0,
                        max_step=1000, nsim_start=payload["nsim"], seed=1)
    h = ca.heuristic_models(df, "path", "conv")
re = dict(zip(m["removal_effects"]["channel_name"], m["removal_effects"]["removal_effect"]))
print(json.dumps({"removal_effects": re, "heuristics": {
    c: dict(zip(h["channel_name"], h[c])) for c in ["first_touch", "last_touch", "linear_touch"]}}))
"""


def simulated_journeys(n, seed):
    """Journeys walked on a chain with loops (so that order and revisits matter)."""
    rng = np.random.default_rng(seed)
    channels = np.array(["display", "email", "search", "social", "store"])
    start = np.array([0.3, 0.1, 0.3, 0.2, 0.1])
    step = rng.dirichlet(np.ones(7), size=5)  # to 5 channels, conversion, null
    step[:, 5] *= np.array([0.2, 0.6, 0.8, 0.3, 2.0])
    step /= step.sum(axis=1, keepdims=True)
    paths, conv = [], []
    for _ in range(n):  # building test data, not library code
        state, path = rng.choice(5, p=start), []
        while True:
            path.append(channels[state])
            nxt = rng.choice(7, p=step[state])
            if nxt >= 5 or len(path) >= 12:
                paths.append(path)
                conv.append(nxt == 5)
                break
            state = nxt
    return paths, conv


@pytest.fixture(scope="module")
def case(run_channelattribution, to_rows):
    paths, conv = simulated_journeys(4000, seed=7)
    data = to_rows(paths, conv, shuffle_seed=2)
    agg_paths, agg_conv, agg_null = journeys(data, until="customer").aggregate()
    peer = run_channelattribution(
        CA_SCRIPT,
        {
            "paths": [list(p) for p in agg_paths],
            "conv": agg_conv.tolist(),
            "null": agg_null.tolist(),
            "nsim": 2_000_000,
        },
    )
    return data, peer


def test_removal_effects_match_channelattribution(case):
    data, peer = case
    ours = markov(data)
    theirs = np.array([peer["removal_effects"][t] for t in ours["touchpoint"]])
    # ChannelAttribution simulates: agreement to its Monte Carlo error
    np.testing.assert_allclose(ours["removal_effect"], theirs, atol=0.005)
    order_ours = np.argsort(-ours["removal_effect"])
    assert list(order_ours[:2]) == list(np.argsort(-theirs)[:2])


@pytest.mark.parametrize(
    ("model", "theirs"),
    [("first_touch", "first_touch"), ("last_touch", "last_touch"), ("linear", "linear_touch")],
)
def test_heuristics_match_channelattribution(case, model, theirs):
    data, peer = case
    ours = heuristic(data, model=model)
    expected = [peer["heuristics"][theirs][t] for t in ours["touchpoint"]]
    np.testing.assert_allclose(ours["conversions"], expected, rtol=1e-9)
