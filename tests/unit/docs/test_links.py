"""Every relative link of the docs leads somewhere: the file exists, and an ``#anchor`` names a heading of the
page it points to (GitHub's heading slugs). Checked over README.md, docs/*.md and bench/README.md; links to
other sites are left alone (no network in a unit test)."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]

_FENCE = re.compile(r"^\s*(```|~~~)")
_HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$")
_INLINE_CODE = re.compile(r"`[^`]*`")
# [text](target) and ![alt](target); the target ends at whitespace (a title may follow) or at ")".
_LINK = re.compile(r"!?\[(?:[^\]\[]|\[[^\]]*\])*\]\(\s*<?([^)\s>]*)>?(?:\s+\"[^\"]*\")?\s*\)")
_MARKDOWN_LINK_TEXT = re.compile(r"\[([^\]]*)\]\([^)]*\)")


def pages() -> list[Path]:
    """The pages a reader of the repository lands on."""
    return [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md")), ROOT / "bench" / "README.md"]


def slug(heading: str) -> str:
    """GitHub's anchor for a heading: its text (links reduced to their text), lower case, every character but
    letters, digits, spaces, ``-`` and ``_`` dropped, spaces turned into ``-``."""
    text = _MARKDOWN_LINK_TEXT.sub(r"\1", heading).lower()
    return re.sub(r"[^\w\- ]", "", text).replace(" ", "-")


def _prose_lines(text: str) -> list[tuple[int, str]]:
    """(line number, line) outside fenced code blocks: a ``# comment`` in a shell block is not a heading."""
    lines: list[tuple[int, str]] = []
    fenced = False
    for number, line in enumerate(text.splitlines(), start=1):
        if _FENCE.match(line):
            fenced = not fenced
            continue
        if not fenced:
            lines.append((number, line))
    return lines


def anchors(page: Path) -> set[str]:
    """The anchors of a page's headings; a repeated heading gets ``-1``, ``-2``... as on GitHub."""
    found: set[str] = set()
    seen: dict[str, int] = {}
    for _, line in _prose_lines(page.read_text(encoding="utf-8")):
        heading = _HEADING.match(line)
        if heading is None:
            continue
        base = slug(heading.group(2))
        repeats = seen.get(base, 0)
        seen[base] = repeats + 1
        found.add(base if repeats == 0 else f"{base}-{repeats}")
    return found


def links(page: Path) -> list[tuple[int, str]]:
    """(line number, target) of every link of a page, outside code blocks and inline code."""
    found: list[tuple[int, str]] = []
    for number, line in _prose_lines(page.read_text(encoding="utf-8")):
        for link in _LINK.finditer(_INLINE_CODE.sub("", line)):
            found.append((number, link.group(1)))
    return found


def _shown(page: Path) -> str:
    return str(page.relative_to(ROOT)) if page.is_relative_to(ROOT) else page.name


def broken_links(checked: list[Path]) -> list[str]:
    """One line per link that leads nowhere: ``page:line: target (why)``."""
    problems: list[str] = []
    for page in checked:
        for number, target in links(page):
            if re.match(r"^[a-z][a-z0-9+.-]*:", target, re.IGNORECASE):
                continue  # https:, mailto:...: another site
            path_part, _, anchor = target.partition("#")
            where = f"{_shown(page)}:{number}: {target}"
            destination = (page.parent / path_part).resolve() if path_part else page
            if not path_part and not anchor:
                problems.append(f"{where} (empty link)")
            elif not destination.exists():
                problems.append(f"{where} (no such file)")
            elif anchor and destination.suffix == ".md" and anchor not in anchors(destination):
                problems.append(f"{where} (no heading with this anchor in {destination.name})")
            elif anchor and destination.suffix != ".md":
                problems.append(f"{where} (an anchor into a file that is not a Markdown page)")
    return problems


def test_every_relative_link_and_anchor_of_the_docs_leads_somewhere() -> None:
    checked = pages()
    assert all(page.exists() for page in checked)
    assert sum(len(links(page)) for page in checked) > 50  # the pages link to one another: the check has work
    assert broken_links(checked) == []


def test_slugs_follow_github() -> None:
    assert slug("The provider's limits") == "the-providers-limits"
    assert slug("SMS replies (the replies webhook)") == "sms-replies-the-replies-webhook"
    assert slug("`check NUMBER...`") == "check-number"
    assert slug("`--json`") == "--json"
    assert slug("`link`: unsubscribe links") == "link-unsubscribe-links"
    assert slug("Runtime (the layer)") == "runtime-the-layer"
    assert slug("snake_case and Été") == "snake_case-and-été"


def test_the_checker_finds_broken_links(tmp_path: Path) -> None:
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "other.md").write_text("# Other\n\n## The `stoplist` command\n\n## Twice\n\n## Twice\n")
    (tmp_path / "data.txt").write_text("not a page\n")
    page = tmp_path / "README.md"
    page.write_text(
        "# Title\n\n## A section\n\n"
        "[fine](#a-section) [fine](docs/other.md#the-stoplist-command) [fine](docs/other.md#twice-1)\n"
        "[fine](docs/other.md) ![fine](data.txt) [site](https://example.com/#nowhere) `[code](missing.md)`\n"
        "[missing file](docs/missing.md)\n"
        "[missing anchor](#no-such-section)\n"
        "[missing anchor elsewhere](docs/other.md#the-stoplist-commands)\n"
        "[third of a repeated heading](docs/other.md#twice-2)\n"
        "[anchor into a text file](data.txt#top)\n"
        "```bash\n# a shell comment, not a heading\n[in a code block](nowhere.md)\n```\n"
        "[heading in a code block](#a-shell-comment-not-a-heading)\n"
    )
    problems = broken_links([page])
    assert [problem.split(": ", 1)[1] for problem in problems] == [
        "docs/missing.md (no such file)",
        "#no-such-section (no heading with this anchor in README.md)",
        "docs/other.md#the-stoplist-commands (no heading with this anchor in other.md)",
        "docs/other.md#twice-2 (no heading with this anchor in other.md)",
        "data.txt#top (an anchor into a file that is not a Markdown page)",
        "#a-shell-comment-not-a-heading (no heading with this anchor in README.md)",
    ]
    assert [problem.split(":", 2)[1] for problem in problems] == ["7", "8", "9", "10", "11", "16"]
