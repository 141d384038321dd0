"""Run the code blocks of a Markdown page the way a reader would, in order.

A page is split into its fenced blocks. ``python`` blocks are executed, ``pycon`` blocks
are doctests (what they show is compared), and shell blocks (``bash``, ``console``) whose
commands are all ``touchpoint ...`` or ``python ...`` run through the shell with the
test's interpreter (``touchpoint`` commands through ``touchpoint.cli.main`` in this
process), and the output a
``console`` block shows after a ``$ `` command is compared with the command's standard
output (as a doctest's); shell blocks with any other command (``pip install``,
``sqlite3``...) are installation or outside tools, and are not run. All the blocks of a
page share one namespace and one working directory.

A ``python`` block that is one ``def`` line without a body is a signature, as a reference
page shows it: it is parsed as a stub (``def ...: ...``), not run.

A block preceded by the line ``<!-- docs-test: skip (reason) -->`` is not run; the
reason is required. A block of any language preceded by ``<!-- docs-test: write NAME -->``
(a CSV, a TOML blueprint the page goes on to use) is written to the file ``NAME`` when the
page reaches it.
"""

from __future__ import annotations

import ast
import contextlib
import doctest
import io
import re
import shlex
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

FENCE = re.compile(r"^(?P<indent>[ \t]*)(?P<fence>`{3,}|~{3,})(?P<info>[^`]*)$")
SKIP = re.compile(r"^\s*<!--\s*docs-test:\s*skip\b(?P<rest>.*?)-->\s*$")
SKIP_REASON = re.compile(r"^\s*\((?P<reason>[^)]*\S[^)]*)\)\s*$")
WRITE = re.compile(r"^\s*<!--\s*docs-test:\s*write\s+(?P<name>[^\s/]+)\s*-->\s*$")
SIGNATURE = re.compile(r"^def \w+\(.*\)( -> .+)?\n$")
SHELL = {"bash", "sh", "shell", "console"}
RUN = {"python", "pycon"} | SHELL
# the commands a shell block may hold for it to be run (the rest install things)
RUNNABLE_COMMANDS = {"touchpoint", "python"}
OPTIONS = doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE


@dataclass(frozen=True)
class Block:
    """One fenced block: its language, its code, the line of its first code line."""

    lang: str
    code: str
    line: int
    skip: str | None = None  # the reason, when the block is marked as skipped
    write: str | None = None  # the file to write the block to, when marked so


class DocsBlockError(AssertionError):
    """A block failed: the message names the page and the block's line."""


def blocks(path: Path) -> list[Block]:
    """The fenced blocks of a page in the languages run, with their skip markers.

    Raises ``DocsBlockError`` for a skip marker without a reason.
    """
    lines = path.read_text(encoding="utf-8").splitlines()
    found: list[Block] = []
    i = 0
    while i < len(lines):
        m = FENCE.match(lines[i])
        if not m or not m["info"].strip():
            i += 1
            continue
        indent, fence = m["indent"], m["fence"]
        lang = m["info"].strip().split()[0].lower()
        start = i + 1
        j = start
        while j < len(lines) and not lines[j].strip().startswith(fence):
            j += 1
        body = [line[len(indent) :] if line.startswith(indent) else line for line in lines[start:j]]
        skip = write = None
        k = i - 1
        while k >= 0 and not lines[k].strip():
            k -= 1
        if k >= 0 and (target := WRITE.match(lines[k])):
            write = target["name"]
        elif k >= 0 and (marker := SKIP.match(lines[k])):
            reason = SKIP_REASON.match(marker["rest"])
            if not reason:
                raise DocsBlockError(
                    f"{path}:{k + 1}: a docs-test skip marker needs a reason: "
                    "<!-- docs-test: skip (why) -->"
                )
            skip = reason["reason"].strip()
        if lang in RUN or write:
            found.append(Block(lang, "\n".join(body) + "\n", start + 1, skip, write))
        i = j + 1
    return found


def shell_commands(block: Block) -> list[tuple[str, str | None]]:
    """The commands of a shell block, each with the output the page shows after it.

    In a ``console`` block commands are the ``$ `` lines and the lines up to the next one
    are the command's output (``None`` when there are none); elsewhere every line is a
    command, shown without output.
    """
    commands: list[tuple[str, str | None]] = []
    shown: list[str] = []
    for line in block.code.splitlines():
        if block.lang == "console" and not line.startswith("$ "):
            shown.append(line)
            continue
        if commands and shown:
            commands[-1] = (commands[-1][0], "\n".join(shown) + "\n")
        shown = []
        line = line.removeprefix("$ ") if block.lang == "console" else line
        if line.strip() and not line.lstrip().startswith("#"):
            commands.append((line, None))
    if commands and shown:
        commands[-1] = (commands[-1][0], "\n".join(shown) + "\n")
    return commands


def runnable(block: Block) -> bool:
    """Whether a shell block only runs touchpoint and python (nothing installed)."""
    commands = shell_commands(block)
    return bool(commands) and all(
        shlex.split(c, comments=True)[0] in RUNNABLE_COMMANDS for c, _ in commands
    )


def run_page(path: Path, name: str, *, shell: bool = True) -> int:
    """Run the blocks of one page in the current directory; return how many ran.

    ``shell=False`` leaves the page's shell blocks out.
    """
    namespace: dict[str, object] = {"__name__": "__docs__"}
    ran = 0
    for block in blocks(path):
        if block.skip is not None:
            continue
        where = f"{name}, block at line {block.line}"
        if block.lang == "python" and SIGNATURE.match(block.code):
            ast.parse(block.code.rstrip() + ": ...", str(path))  # a SyntaxError fails here
        elif block.write:
            Path(block.write).write_text(block.code, encoding="utf-8")
        elif block.lang == "python":
            # pad so that a traceback's line numbers are the page's
            try:
                exec(compile("\n" * (block.line - 1) + block.code, str(path), "exec"), namespace)
            except Exception as exc:
                raise DocsBlockError(f"{where} raised {type(exc).__name__}: {exc}") from exc
        elif block.lang == "pycon":
            _run_pycon(block, namespace, path, where)
        elif shell and runnable(block):
            _run_shell(block, where)
        else:
            continue
        ran += 1
    return ran


def _run_pycon(block: Block, namespace: dict[str, object], path: Path, where: str) -> None:
    test = doctest.DocTestParser().get_doctest(block.code, namespace, where, str(path), 0)
    for example in test.examples:
        example.lineno += block.line - 1  # DocTestRunner adds 1
    out: list[str] = []
    runner = doctest.DocTestRunner(optionflags=OPTIONS, verbose=False)
    runner.run(test, out=out.append, clear_globs=False)
    namespace.update(test.globs)  # DocTest ran on a copy: later blocks see its names
    if runner.failures:
        raise DocsBlockError(f"{where}: shown output differs\n" + "".join(out))


def _run_shell(block: Block, where: str) -> None:
    for command, shown in shell_commands(block):
        words = shlex.split(command, comments=True)
        if words[0] == "touchpoint" and not set("<>|;&") & set(command):
            code, out, err = _run_cli(words[1:])  # in this process: no interpreter to start
        else:  # `python` is the test's interpreter
            done = subprocess.run(
                ["bash", "-c", f"set -eo pipefail; {_resolve(command)}"],
                capture_output=True,
                text=True,
                timeout=240,
            )
            code, out, err = done.returncode, done.stdout, done.stderr
        if code != 0:
            raise DocsBlockError(f"{where}: `{command}` exited with {code}\n{out}{err}")
        # what a console block shows after a command is its standard output
        if shown is not None and not doctest.OutputChecker().check_output(shown, out, OPTIONS):
            raise DocsBlockError(
                f"{where}: `{command}` printed\n{out}\nbut the page shows\n{shown}"
            )


def _run_cli(args: list[str]) -> tuple[int, str, str]:
    from touchpoint.cli import main

    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = main(args)
        except SystemExit as exc:  # argparse's usage errors
            code = exc.code if isinstance(exc.code, int) else 1
    return code, out.getvalue(), err.getvalue()


def _resolve(command: str) -> str:
    first, _, rest = command.partition(" ")
    if first == "python":
        return f"{shlex.quote(sys.executable)} {rest}"
    if first == "touchpoint":
        return f"{shlex.quote(sys.executable)} -m touchpoint {rest}"
    return command
