"""The example plugin under examples/, installed into a throwaway environment, is found and used.

A separate virtual environment sees this environment's packages (touchpoint, pytest,
hatchling) through a ``.pth`` file; the example is installed there with pip (no network,
no build isolation), and only there.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import textwrap
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow  # builds a virtual environment and pip-installs the example plugin

EXAMPLE = Path(__file__).parents[2] / "examples" / "touchpoint-example-sms"

DRIVER = textwrap.dedent(
    """
    import argparse, json, sys
    from touchpoint.cli._commands import plugins as command
    from touchpoint.channels import Message
    from touchpoint.workspace import open_workspace

    parser = argparse.ArgumentParser()
    command.add_parser(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["plugins", "--json"])
    command.run(args)
    if sys.argv[1] == "send":
        ws = open_workspace(sys.argv[2])
        delivery = ws.send(Message("c-1", "C001", "+8613800138000", "您的爱车已保养完毕"), channel="sms-spool")
        too_long = ws.send(Message("c-2", "C001", "+8613800138000", "x" * 71), channel="sms-spool")
        print(json.dumps({"status": delivery.status.value, "too_long": too_long.status.value,
                          "log": [(c["contact_id"], c["status"]) for c in ws.storage.contacts()]}))
    """
)


@pytest.fixture(scope="module")
def plugin_env(tmp_path_factory, make_venv):
    root = tmp_path_factory.mktemp("example-env")
    python = make_venv(root)
    source = root / "touchpoint-example-sms"
    shutil.copytree(EXAMPLE, source)  # the build writes next to the sources: keep the repo clean
    subprocess.run(
        [
            python,
            "-m",
            "pip",
            "install",
            "--no-deps",
            "--no-build-isolation",
            "--no-index",
            "-q",
            str(source),
        ],
        check=True,
        capture_output=True,
        text=True,
    )
    return python, source, root


def _run(python, *args, env=None):
    out = subprocess.run(
        [python, "-c", DRIVER, *args],
        check=True,
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
    )
    lines = out.stdout.strip().splitlines()
    end = lines.index("}") + 1  # the JSON of `touchpoint plugins --json` comes first
    return json.loads("\n".join(lines[:end])), lines[end:]


def test_installed_plugin_is_listed_and_its_channel_used(plugin_env):
    python, _, root = plugin_env
    spool = root / "spool"
    listing, rest = _run(
        python,
        "send",
        f"sqlite:///{root / 'app.db'}",
        env={"TOUCHPOINT_SMS_SPOOL": str(spool), "TOUCHPOINT_DISABLE_PLUGINS": ""},
    )
    [info] = [p for p in listing["plugins"] if p["name"] == "example-sms"]
    assert info["version"] == "0.1.0" and not info["builtin"]
    assert info["registers"] == {"channels": ["sms-spool"]} and info["hooks"] == [
        "register_channels"
    ]
    result = json.loads(rest[-1])
    assert result["status"] == "sent" and result["too_long"] == "failed"
    assert result["log"] == [["c-1", "sent"], ["c-2", "failed"]]
    [spooled] = list(spool.glob("*.json"))
    assert json.loads(spooled.read_text()) == {"to": "+8613800138000", "text": "您的爱车已保养完毕"}


def test_installed_plugin_can_be_disabled_by_environment(plugin_env):
    python, _, _ = plugin_env
    listing, _ = _run(python, "list", env={"TOUCHPOINT_DISABLE_PLUGINS": "example-sms"})
    assert "example-sms" not in {p["name"] for p in listing["plugins"]}


def test_not_installed_here(plugin_env):
    import importlib.util

    assert importlib.util.find_spec("touchpoint_example_sms") is None  # only in the throwaway env


def test_example_passes_the_channel_contract_in_its_environment(plugin_env):
    python, source, _ = plugin_env
    out = subprocess.run(
        [python, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(source / "tests")],
        capture_output=True,
        text=True,
        cwd=source,
    )
    assert out.returncode == 0, out.stdout + out.stderr
    assert "5 passed" in out.stdout
