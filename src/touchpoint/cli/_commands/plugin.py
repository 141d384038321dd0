"""``touchpoint plugin new NAME``: write a plugin package to start from, like datasette's and llm's templates.

The package, ``touchpoint-NAME/``, holds a ``pyproject.toml`` (hatchling, a dependency on
``touchpoint-ctm``, the entry point in the ``touchpoint`` group), a working skeleton in
``src/touchpoint_NAME/__init__.py`` (``--kind channel``: a channel writing each message to
a file; ``storage``: the in-memory storage under the URL scheme ``NAME``; ``scorer``: a
vectorised score), ``tests/test_contract.py`` (touchpoint's contract suite for the kind,
and a check that the installed entry point registers the plugin), ``README.md``,
``.github/workflows/test.yml`` (install, then pytest) and ``.gitignore``. The templates
are package data in ``touchpoint/plugins/_template`` (`string.Template` files).

A bad name, or a target directory that exists already, is a `ValidationError` and nothing
is written; nothing is ever overwritten.

Follows the command-module convention of `touchpoint.cli._commands` (``NAME``, ``HELP``,
``configure(parser)``, ``run(args)``).

Examples
--------
>>> import tempfile
>>> where = tempfile.mkdtemp()
>>> root = new_plugin("sms-gateway", kind="channel", directory=where)
>>> root.name, sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file())
('touchpoint-sms-gateway', ['.github/workflows/test.yml', '.gitignore', 'README.md', 'pyproject.toml', 'src/touchpoint_sms_gateway/__init__.py', 'tests/test_contract.py'])
>>> new_plugin("sms-gateway", directory=where)
Traceback (most recent call last):
...
touchpoint.errors.ValidationError: 1 problem in touchpoint plugin new:
  - dir: touchpoint-sms-gateway exists already in that directory; nothing was written (value: 'touchpoint-sms-gateway')
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import re
import shutil
import string
from importlib import resources
from pathlib import Path

from touchpoint.errors import Problem, ValidationError

__all__ = ["KINDS", "new_plugin"]

NAME = "plugin"
HELP = "write a new plugin package (touchpoint plugin new NAME --kind channel|storage|scorer)"

#: The kinds of plugin the template writes, and what each skeleton registers.
KINDS = {
    "channel": "a channel writing each message as a JSON file into a directory",
    "storage": "a storage for NAME:// URLs (touchpoint's in-memory storage, to make your own)",
    "scorer": "a score computed over columns (interactions and mean rating per customer)",
}
_NAME = re.compile(r"[a-z][a-z0-9]*(?:-[a-z0-9]+)*")
_LONGEST = 40
_SOURCE = "touchpoint plugin new"
#: Template file -> where it goes in the package; {package} is the module's name.
_FILES = {
    "common/pyproject.toml.tmpl": "pyproject.toml",
    "common/README.md.tmpl": "README.md",
    "common/gitignore.tmpl": ".gitignore",
    "common/test.yml.tmpl": ".github/workflows/test.yml",
    "{kind}/plugin.py.tmpl": "src/{package}/__init__.py",
    "{kind}/test_contract.py.tmpl": "tests/test_contract.py",
}


def _check_name(name: str, kind: str) -> None:
    problems = []
    if kind not in KINDS:
        problems.append(Problem("kind", f"must be one of {', '.join(KINDS)}", kind))
    if not _NAME.fullmatch(name) or len(name) > _LONGEST:
        problems.append(
            Problem(
                "name",
                f"must be lowercase letters and digits, words joined by single hyphens, "
                f"starting with a letter, at most {_LONGEST} characters (e.g. 'sms-gateway')",
                name,
            )
        )
    elif name == "touchpoint" or name.startswith("touchpoint-"):
        problems.append(
            Problem(
                "name",
                "give the name without the touchpoint- prefix: 'touchpoint plugin new sms' "
                "writes the package touchpoint-sms",
                name,
            )
        )
    elif kind in KINDS:
        taken = _builtin_names(kind)
        registered = name.replace("-", "_") if kind == "scorer" else name
        if registered in taken:
            problems.append(
                Problem(
                    "name",
                    f"{registered!r} is a built-in {kind} name; a plugin registering it again "
                    "would be disabled as faulty. Choose another name",
                    name,
                )
            )
    if problems:
        raise ValidationError(problems, source=_SOURCE)


def _builtin_names(kind: str) -> set[str]:
    from touchpoint.plugins import Plugins

    plugins = Plugins(entry_points=False)
    found = {"channel": plugins.channels, "storage": plugins.storages, "scorer": plugins.scorers}
    return set(found[kind]())


def _values(name: str, kind: str) -> dict[str, str]:
    from touchpoint._version import __version__

    package = "touchpoint_" + name.replace("-", "_")
    cls = "".join(part.capitalize() for part in name.split("-"))
    func = name.replace("-", "_")
    env = f"TOUCHPOINT_{func.upper()}_DIR"
    about = {
        "channel": (
            f"A touchpoint channel, '{name}': delivers each message as a JSON file in a directory.",
            f'```python\nimport touchpoint\n\nws = touchpoint.open("sqlite:///shop.db")\n'
            f'ws.add_channel("{name}", kind="{name}", directory="outbox")\n```\n\n'
            f"The directory may also come from the `{env}` environment variable.",
            "touchpoint's channel contract (`touchpoint.testing.ChannelContract`)",
            "Replace the body of `send` with your provider's API call; test against a local "
            "server of the real protocol where you can.",
        ),
        "storage": (
            f"A touchpoint storage for {name}:// URLs.",
            f'```python\nimport touchpoint\n\nws = touchpoint.open("{name}://")\n```',
            "touchpoint's storage contract (`touchpoint.testing.StorageContract`)",
            "The skeleton is touchpoint's in-memory storage under your scheme; replace it "
            "method by method with your database (touchpoint's page 'Write a storage "
            "plugin' gives every method and a complete backend).",
        ),
        "scorer": (
            f"A touchpoint score, '{func}': interactions and mean rating per customer.",
            f"```python\nfrom touchpoint.plugins import Plugins\n\n"
            f'score = Plugins().scorers()["{func}"].obj\nresult = score(interactions)\n```\n\n'
            f"or from the command line: `touchpoint score {name} ...`.",
            "the score against a reference computed in plain Python",
            "Keep the score vectorised over columns and compare it with an independent "
            "reference in the tests.",
        ),
    }
    summary, usage, contract, develop = about[kind]
    return {
        "name": name,
        "kind": kind,
        "dist": f"touchpoint-{name}",
        "package": package,
        "cls": cls,
        "func": func,
        "env": env,
        "summary": summary,
        "usage": usage,
        "contract": contract,
        "develop": develop,
        "requires": f"touchpoint-ctm>={__version__}",
        "year": str(dt.date.today().year),
    }


def new_plugin(
    name: str, *, kind: str = "channel", directory: str | os.PathLike[str] = "."
) -> Path:
    """Write the package ``touchpoint-NAME/`` for a plugin of ``kind`` into ``directory``.

    Parameters
    ----------
    name:
        The plugin's name: lowercase words joined by hyphens (``sms-gateway``). It names
        the distribution (``touchpoint-sms-gateway``), the module (``touchpoint_sms_gateway``),
        the entry point and what the plugin registers (the channel kind, the URL scheme,
        or the score, with underscores: ``sms_gateway``).
    kind:
        ``"channel"``, ``"storage"`` or ``"scorer"``.
    directory:
        Where to write the package (created if missing).

    Returns
    -------
    Path
        The package's directory.

    Raises
    ------
    ValidationError
        A bad name or kind, or a package directory that exists already; nothing is written.
    """
    _check_name(name, kind)
    values = _values(name, kind)
    parent = Path(directory)
    root = parent / values["dist"]
    if root.exists() or root.is_symlink():
        raise ValidationError(
            [
                Problem(
                    "dir",
                    f"{values['dist']} exists already in that directory; nothing was written",
                    values["dist"],
                )
            ],
            source=_SOURCE,
        )
    templates = resources.files("touchpoint.plugins").joinpath("_template")
    rendered = {}
    for source, target in _FILES.items():
        text = templates.joinpath(source.format(kind=kind)).read_text(encoding="utf-8")
        rendered[target.format(package=values["package"])] = string.Template(text).substitute(
            values
        )
    parent.mkdir(parents=True, exist_ok=True)
    try:
        root.mkdir()  # fails if it appeared meanwhile: never write into someone else's
    except FileExistsError:
        raise ValidationError(
            [Problem("dir", "appeared while writing; nothing was written", values["dist"])],
            source=_SOURCE,
        ) from None
    try:
        for target, text in rendered.items():
            path = root / target
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
    except BaseException:
        shutil.rmtree(root, ignore_errors=True)  # ours, made above: leave nothing half written
        raise
    return root


def configure(parser: argparse.ArgumentParser) -> None:
    parser.description = (
        "Work on plugins. 'touchpoint plugin new NAME' writes a package to start a plugin "
        "from: pyproject.toml with the entry point, a working skeleton, a contract test, CI, "
        "a README. 'touchpoint plugins' lists the plugins in use."
    )
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    new = actions.add_parser(
        "new",
        help="write a new plugin package touchpoint-NAME/",
        description=(
            "Write the package touchpoint-NAME/ for a new plugin: pyproject.toml (hatchling, "
            "entry point in the 'touchpoint' group), src/touchpoint_NAME/__init__.py (a "
            "working skeleton), tests/test_contract.py (touchpoint's contract suite), "
            "README.md, .github/workflows/test.yml and .gitignore. Nothing is overwritten."
        ),
    )
    new.add_argument("name", help="the plugin's name: lowercase words joined by hyphens")
    new.add_argument(
        "--kind",
        choices=list(KINDS),
        default="channel",
        help="what the plugin provides (default: channel): "
        + "; ".join(f"{k}: {v}" for k, v in KINDS.items()),
    )
    new.add_argument(
        "--dir", default=".", metavar="DIR", help="where to write the package (default: .)"
    )


def run(args: argparse.Namespace) -> int:
    root = new_plugin(args.name, kind=args.kind, directory=args.dir)
    files = sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file())
    print(f"wrote {root} ({args.kind} plugin '{args.name}'):")
    for name in files:
        print(f"  {name}")
    print(
        f"\nnext:\n  cd {root}\n  python -m pip install -e '.[test]'\n  python -m pytest\n"
        "  touchpoint plugins"
    )
    return 0
