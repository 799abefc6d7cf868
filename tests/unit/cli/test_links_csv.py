"""The link-minting command: columns found by header, delimiters kept, invalid numbers reported."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from stoplist.domain.links import open_token
from stoplist_cli.links_csv import MintReport, main, mint_csv

KEY = "campaign-key-0123456789abcdefghijklmnop"


def minted(text: str, column: str | None = None) -> tuple[list[str], MintReport]:
    out = io.StringIO()
    report = mint_csv(io.StringIO(text), out, "https://stop.example.fr", KEY, column)
    return out.getvalue().splitlines(), report


def test_header_semicolons_and_invalid_numbers() -> None:
    lines, report = minted("prenom;telephone;ville\nAnne;06 12 34 56 78;Lyon\nBob;3639;Paris\n")
    assert lines[0] == "prenom;telephone;ville;unsubscribe_url;error"
    anne = lines[1].split(";")
    assert anne[:3] == ["Anne", "06 12 34 56 78", "Lyon"]
    assert anne[3].startswith("https://stop.example.fr/u/")
    opened = open_token(anne[3].rsplit("/", 1)[1], [KEY])
    assert opened is not None
    assert opened.number == "+33612345678"
    assert lines[2].split(";")[3] == ""
    assert lines[2].split(";")[4]
    assert (report.rows, report.minted, report.invalid) == (2, 1, 1)


def test_headerless_and_named_column() -> None:
    lines, _ = minted("+33612345678\n0698765432\n")
    assert len(lines) == 2
    assert all("/u/" in line for line in lines)
    lines, _ = minted("id,mobile_fr\n1,0612345678\n", column="mobile_fr")
    assert "/u/" in lines[1]


def test_command_reads_the_key_from_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    source = tmp_path / "in.csv"
    source.write_text("phone\n0612345678\nnot a number\n", encoding="utf-8")
    monkeypatch.delenv("STOPLIST_LINK_KEY", raising=False)
    with pytest.raises(SystemExit):
        main(["--base-url", "https://x", str(source)])
    monkeypatch.setenv("STOPLIST_LINK_KEY", KEY)
    assert main(["--base-url", "https://x", str(source), "-o", str(tmp_path / "out.csv")]) == 0
    assert main(["--base-url", "https://x", str(source), "-o", str(tmp_path / "out.csv"), "--strict"]) == 1
    assert "1 links minted, 1 invalid numbers of 2 rows" in capsys.readouterr().err
    assert (tmp_path / "out.csv").read_text().count("/u/") == 1
