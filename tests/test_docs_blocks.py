"""Every code block of the docs and the README runs as written and shows what it says.

One test per page: its ``python`` blocks are executed and its ``pycon`` blocks checked as
doctests, in order, in one namespace, in a fresh working directory; its shell blocks of
``touchpoint``/``python`` commands run there too (see ``tests/_docs_runner.py``). A
failure names the page and the line of the block.
"""

from pathlib import Path

import pytest

from _docs_runner import DocsBlockError, blocks, run_page

ROOT = Path(__file__).resolve().parent.parent
PAGES = sorted(
    [ROOT / "README.md", *(ROOT / "docs").rglob("*.md")], key=lambda p: p.relative_to(ROOT)
)


# The shell blocks of the command-line reference run on the reader's own files (visits.csv,
# shop.db, my-shop.toml): its Python blocks run here, its commands in tests/cli/.
NO_SHELL = {"docs/cli.md"}
# Pages that run the full demo, start a Dask cluster or fit Pareto/NBD several times: a
# minute or so each on a busy machine (they run in the full suite, not in -m "not slow").
SLOW = {"docs/demo.md", "docs/scaling-out.md", "docs/clv.md"}


def _name(path: Path) -> str:
    return path.relative_to(ROOT).as_posix()


@pytest.mark.parametrize(
    "page",
    [pytest.param(p, marks=[pytest.mark.slow] if _name(p) in SLOW else []) for p in PAGES],
    ids=_name,
)
def test_page_blocks_run(page, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    run_page(page, _name(page), shell=_name(page) not in NO_SHELL)


def test_skip_markers_are_few_and_give_a_reason():
    skipped = [(_name(p), b.line, b.skip) for p in PAGES for b in blocks(p) if b.skip]
    assert all(reason for _, _, reason in skipped)
    assert len(skipped) <= 5, skipped


def test_a_skip_marker_without_a_reason_fails(tmp_path):
    page = tmp_path / "page.md"
    page.write_text("<!-- docs-test: skip -->\n```python\nraise SystemExit\n```\n")
    with pytest.raises(DocsBlockError, match="needs a reason"):
        blocks(page)


def test_a_marked_block_is_written_to_its_file(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    page = tmp_path / "page.md"
    page.write_text(
        "<!-- docs-test: write data.csv -->\n```csv\na,b\n1,2\n```\n\n"
        "```pycon\n>>> open('data.csv').read().split()\n['a,b', '1,2']\n```\n"
    )
    assert run_page(page, "page.md") == 2


def test_a_console_block_shows_what_the_command_prints(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    page = tmp_path / "page.md"
    page.write_text('```console\n$ python -c "print(6 * 7)"\n42\n```\n')
    assert run_page(page, "page.md") == 1
    page.write_text('```console\n$ python -c "print(6 * 7)"\n41\n```\n')
    with pytest.raises(DocsBlockError, match="but the page shows"):
        run_page(page, "page.md")


def test_a_failing_block_names_its_page_and_line(tmp_path):
    page = tmp_path / "page.md"
    page.write_text(
        "Text.\n\n```python\nx = 1\n```\n\n```pycon\n>>> x + 1\n3\n```\n"
        "\n```python\nundefined_name\n```\n"
    )
    with pytest.raises(DocsBlockError, match=r"page\.md, block at line 8: shown output differs"):
        run_page(page, "page.md")
    page.write_text(page.read_text().replace("3\n", "2\n"))
    with pytest.raises(DocsBlockError, match=r"block at line 13 raised NameError"):
        run_page(page, "page.md")
