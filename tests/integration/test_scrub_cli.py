"""`stoplist scrub` over DynamoDB Local, with files as spreadsheets and CRMs write them.

The command reaches DynamoDB Local through AWS_ENDPOINT_URL_DYNAMODB (the local_aws fixture) and names the
table with `--table`, as an operator would. Each test gets a table of its own with the template's key.
"""

from __future__ import annotations

import itertools
import json
from pathlib import Path
from typing import Any

import boto3
import pytest
from click.testing import CliRunner, Result
from stoplist_cli.app import main

from devkit.services import LocalAws

pytestmark = pytest.mark.integration

_tables = itertools.count(1)
TUESDAY_EVENING = "2026-06-02T20:00:00+02:00"  # 20:00 in Paris, 14:00 in Martinique, 22:00 in Réunion
OPTED_OUT = ["+33611111111", "+33622222222", "+596696201234"]


@pytest.fixture
def table(local_aws: LocalAws) -> str:
    """A stop-list table (the template's key) holding OPTED_OUT."""
    name = f"scrub-{next(_tables)}"
    dynamodb: Any = boto3.client("dynamodb")
    dynamodb.create_table(
        TableName=name,
        KeySchema=[{"AttributeName": "phoneNumber", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "phoneNumber", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    for number in OPTED_OUT:
        dynamodb.put_item(TableName=name, Item={"phoneNumber": {"S": number}, "source": {"S": "sms-reply"}})
    return name


def scrub(table: str, *args: str, stdin: bytes | None = None) -> Result:
    return CliRunner().invoke(main, ["--table", table, "scrub", *args], input=stdin, catch_exceptions=False)


def items(table: str) -> list[dict[str, Any]]:
    return list(boto3.client("dynamodb").scan(TableName=table)["Items"])


def test_a_french_spreadsheet(table: str, tmp_path: Path) -> None:
    """Semicolons, a byte-order mark, accented headers, CRLF, quoted delimiters, a number whose leading zero
    the spreadsheet dropped, and every reason."""
    rows = [
        "\ufeffNom;Prénom;Téléphone;Adresse",
        '"Dupont";"Jean";06 12 34 56 78;"3 rue de la Paix; Paris"',  # kept
        "Martin;Léa;611111111;Lyon",  # leading zero dropped, opted out
        "Durand;Paul;06 XX;Nantes",  # invalid
        "Dupont;Jean (bis);+33 6 12 34 56 78;Paris",  # the first row again
        "Fort;Éloïse;0596 30 12 34;Fort-de-France",  # Martinique: 14:00 there, kept
        "Payet;Rémi;0262 16 12 34;Saint-Denis",  # Réunion: 22:00 there
        "Meyer;Anne;06 22 22 22 22;Strasbourg",  # opted out
    ]
    source = tmp_path / "campagne.csv"
    source.write_bytes("\r\n".join(rows).encode("utf-8") + b"\r\n")
    kept, rejects = tmp_path / "envoi.csv", tmp_path / "refus.csv"
    before = items(table)

    result = scrub(table, str(source), "--output", str(kept), "--rejects", str(rejects), "--at", TUESDAY_EVENING)

    assert result.exit_code == 0, result.output
    assert kept.read_bytes() == "\r\n".join([rows[0], rows[1], rows[5]]).encode("utf-8") + b"\r\n"
    assert rejects.read_bytes().decode("utf-8").split("\r\n") == [
        "\ufeffNom;Prénom;Téléphone;Adresse;reason",
        "Martin;Léa;611111111;Lyon;opted-out",
        "Durand;Paul;06 XX;Nantes;invalid-number",
        "Dupont;Jean (bis);+33 6 12 34 56 78;Paris;duplicate",
        "Payet;Rémi;0262 16 12 34;Saint-Denis;outside-sending-hours",
        "Meyer;Anne;06 22 22 22 22;Strasbourg;opted-out",
        "",
    ]
    assert "scrubbed 7 rows" in result.stderr
    assert "2 kept, 5 rejected (1 invalid-number, 2 opted-out, 1 duplicate, 1 outside-sending-hours)" in result.stderr
    assert items(table) == before  # a scrub only reads
    assert not list(tmp_path.glob(".*.partial"))


def test_json_summary_and_the_hours_left_unchecked(table: str, tmp_path: Path) -> None:
    source = tmp_path / "crm.csv"
    source.write_text(
        'id,"Full name, as typed",Mobile\n1,"Dupont, Jean",0612345678\n2,"Martin, Léa",0611111111\n'
        '3,"Payet, Rémi",0262161234\n',
        encoding="utf-8",
    )
    kept = tmp_path / "kept.csv"

    result = scrub(table, str(source), "--output", str(kept), "--json")

    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert {key: summary[key] for key in ("read", "kept", "rejected", "at")} == {
        "read": 3,
        "kept": 2,
        "rejected": {"invalid-number": 0, "opted-out": 1, "duplicate": 0, "outside-sending-hours": 0},
        "at": None,
    }
    assert summary["seconds"] >= 0
    assert kept.read_text(encoding="utf-8") == (
        'id,"Full name, as typed",Mobile\n1,"Dupont, Jean",0612345678\n3,"Payet, Rémi",0262161234\n'
    )


def test_one_number_a_line_from_stdin_to_stdout(table: str) -> None:
    result = scrub(table, "-", "--at", "2026-06-07T12:00:00+02:00", stdin=b"0612345678\n0622222222\n+32470123456\n")

    assert result.exit_code == 0, result.output
    assert result.stdout == ""  # a Sunday in Paris and in Brussels
    result = scrub(
        table, "-", "--allow-sundays-and-holidays", "--at", "2026-06-07T12:00:00+02:00", stdin=b"0612345678\n"
    )
    assert result.stdout == "0612345678\n"


def test_a_column_named_by_the_operator_and_a_narrower_window(table: str, tmp_path: Path) -> None:
    source = tmp_path / "export.csv"
    source.write_text("Client;Contact GSM\nA;0612345678\nB;0612345679\n", encoding="utf-8")

    missing = scrub(table, str(source))
    assert missing.exit_code == 2
    assert "names no phone column" in missing.stderr

    early = "2026-06-02T08:30:00+02:00"
    result = scrub(table, str(source), "--column", "contact gsm", "--at", early)
    assert result.stdout == "Client;Contact GSM\nA;0612345678\nB;0612345679\n"
    narrow = scrub(table, str(source), "--column", "contact gsm", "--at", early, "--hours", "09:00-20:00")
    assert narrow.stdout == "Client;Contact GSM\n"


def test_a_windows_1252_file_comes_back_in_windows_1252(table: str, tmp_path: Path) -> None:
    source = tmp_path / "excel.csv"
    source.write_bytes("Nom;Téléphone\r\nHélène;0612345678\r\nAndré;0611111111\r\n".encode("cp1252"))
    kept = tmp_path / "kept.csv"

    result = scrub(table, str(source), "-o", str(kept))

    assert result.exit_code == 0, result.output
    assert kept.read_bytes() == "Nom;Téléphone\r\nHélène;0612345678\r\n".encode("cp1252")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["missing.csv"], "No such file"),
        (["{source}", "--json"], "--json prints the summary on stdout"),
        (["{source}", "--at", "2026-06-02 10:00"], "has no UTC offset"),
        (["{source}", "--at", "tomorrow"], "not ISO 8601"),
        (["{source}", "--hours", "20:00-09:00"], "end before they start"),
    ],
)
def test_usage_errors_exit_2(table: str, tmp_path: Path, args: list[str], message: str) -> None:
    source = tmp_path / "in.csv"
    source.write_text("0612345678\n", encoding="utf-8")

    result = scrub(table, *(arg.format(source=source) for arg in args))

    assert result.exit_code == 2
    assert message in result.stderr


def test_a_table_that_is_not_there_exits_3_and_leaves_no_file(local_aws: LocalAws, tmp_path: Path) -> None:
    source = tmp_path / "in.csv"
    source.write_text("0612345678\n", encoding="utf-8")
    kept = tmp_path / "kept.csv"

    result = CliRunner().invoke(main, ["--table", "no-such-table", "scrub", str(source), "-o", str(kept)])

    assert result.exit_code == 3
    assert "ResourceNotFoundException" in result.stderr
    assert list(tmp_path.iterdir()) == [source]
