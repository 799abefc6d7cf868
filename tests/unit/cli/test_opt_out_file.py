"""Reading opt-out lists for `stoplist import`: formats, columns, dates, invalid lines, deterministic ids."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from stoplist.domain.events import parse_sqs_body
from stoplist_cli.opt_out_file import FileFormatError, event_id, file_sha256, normalise_date, read_lines

HASH = "ab" * 32


def write(tmp_path: Path, text: str, name: str = "list.csv") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def bodies(path: Path) -> list[dict[str, str]]:
    return [json.loads(line.body) for line in read_lines(path, HASH, "FR") if line.valid]


def test_one_number_per_line_without_header(tmp_path: Path) -> None:
    path = write(tmp_path, "06 12 34 56 78\n\n+33 7 55 44 33 22\n0033 6 00 00 00 42\n")

    lines = list(read_lines(path, HASH, "FR"))

    assert [line.number for line in lines] == [1, 3, 4]  # the blank line is skipped, numbering is the file's
    assert [json.loads(line.body)["phoneNumber"] for line in lines] == ["+33612345678", "+33755443322", "+33600000042"]
    assert {json.loads(line.body)["source"] for line in lines} == {"import"}


def test_csv_with_header_finds_columns_by_name_and_sniffs_semicolons(tmp_path: Path) -> None:
    path = write(tmp_path, "Date;Numéro de mobile;Source\n01/02/2024;06 12 34 56 78;crm\n", "fr.csv")
    with pytest.raises(FileFormatError):  # "Numéro de mobile" is no known phone column
        list(read_lines(path, HASH, "FR"))

    path = write(tmp_path, "Date;Phone_Number;Source;Motif\n01/02/2024;06 12 34 56 78;crm;STOP SMS\n", "fr.csv")
    assert bodies(path) == [
        {
            "phoneNumber": "+33612345678",
            "source": "crm",
            "eventId": event_id(HASH, 2),
            "occurredAt": "2024-02-01",
            "reason": "STOP SMS",
        }
    ]


def test_csv_country_column_reads_national_numbers_and_blank_source_defaults(tmp_path: Path) -> None:
    path = write(tmp_path, "phoneNumber,country,source\n01512 3456789,DE,\n")

    assert bodies(path) == [{"phoneNumber": "+4915123456789", "source": "import", "eventId": event_id(HASH, 2)}]


def test_invalid_lines_carry_their_line_number_and_reason_and_no_body(tmp_path: Path) -> None:
    path = write(tmp_path, "phone,date\n3639,\n06 12 34 56 78,31/02/2024\n06 12 34 56 78,2024-03-01T10:00:00Z\n,\n")

    lines = list(read_lines(path, HASH, "FR"))

    assert [(line.number, line.valid) for line in lines] == [(2, False), (3, False), (4, True)]
    assert lines[0].error == "not a valid phone number for its country"
    assert "date" in lines[1].error
    assert all(not line.body for line in lines if not line.valid)


@pytest.mark.parametrize(
    ("text", "iso"),
    [
        ("2024-03-01", "2024-03-01"),
        ("2024-03-01 10:19:45", "2024-03-01T10:19:45"),
        ("2024-03-01T10:19:45Z", "2024-03-01T10:19:45+00:00"),
        ("01/03/2024", "2024-03-01"),
        ("1/3/2024 9:05", "2024-03-01T09:05:00"),
    ],
)
def test_dates(text: str, iso: str) -> None:
    assert normalise_date(text) == iso


@pytest.mark.parametrize("text", ["2024-13-01", "32/01/2024", "yesterday", "01-03-2024"])
def test_bad_dates(text: str) -> None:
    with pytest.raises(ValueError):  # noqa: PT011 - datetime's own error, message varies
        normalise_date(text)


def test_event_ids_depend_on_file_and_line_only(tmp_path: Path) -> None:
    first = write(tmp_path, "0612345678\n0698765432\n", "a.txt")
    second = write(tmp_path, "0612345678\n0698765433\n", "b.txt")

    assert file_sha256(first) != file_sha256(second)
    ids = [json.loads(line.body)["eventId"] for line in read_lines(first, file_sha256(first), "FR")]
    again = [json.loads(line.body)["eventId"] for line in read_lines(first, file_sha256(first), "FR")]
    assert ids == again
    assert len(set(ids)) == 2


@given(st.lists(st.text(alphabet='0123456789 +.()-abc;,\t"', max_size=25), max_size=12))
def test_any_line_is_either_a_contract_body_or_an_error(rows: list[str]) -> None:
    import tempfile

    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / "any.txt"
        path.write_text("0612345678\n" + "\n".join(row.replace("\n", " ") for row in rows), encoding="utf-8")
        for line in read_lines(path, HASH, "FR"):
            if line.valid:
                request = parse_sqs_body(line.body, "x")  # what the SQS handler will do with it
                assert request.phone_number.startswith("+")
                assert request.event_id == event_id(HASH, line.number)
            else:
                assert line.error
                assert not line.body
