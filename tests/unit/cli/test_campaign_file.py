from __future__ import annotations

import io

import pytest
from stoplist_cli.campaign_file import CampaignFile, CampaignFileError, CampaignWriter
from stoplist_cli.phone_columns import has_header, phone_column, sniff_dialect

FRENCH = (
    "\ufeffNom;Prénom;Téléphone;Commentaire\r\n"
    '"Dupont";Jean;06 12 34 56 78;"dit ""Jeannot""; client fidèle"\r\n'
    "\r\n"
    'Martin;Léa;612345679;"ligne\r\nsur deux lignes"\r\n'
    "Durand;Paul;+33 6 12 34 56 80;sans fin de ligne"
)


def read(text: str, encoding: str = "utf-8", column: str | None = None) -> CampaignFile:
    return CampaignFile(io.BytesIO(text.encode(encoding)), column)


def written(source: CampaignFile, rows: list[tuple[int, str]], with_reason: bool) -> bytes:
    records = list(source.records())
    sink = io.BytesIO()
    writer = CampaignWriter(sink, source, with_reason)
    for index, reason in rows:
        writer.write(records[index], reason)
    writer.close()
    return sink.getvalue()


def test_a_french_spreadsheet_is_read_with_its_header_delimiter_and_bom() -> None:
    campaign = read(FRENCH, "utf-8")
    assert campaign.bom
    assert campaign.delimiter == ";"
    assert campaign.header is not None
    assert campaign.header.cells == ["Nom", "Prénom", "Téléphone", "Commentaire"]
    assert campaign.phone_index == 2
    records = list(campaign.records())
    assert [campaign.number(record) for record in records] == ["06 12 34 56 78", "612345679", "+33 6 12 34 56 80"]
    assert records[0].cells[3] == 'dit "Jeannot"; client fidèle'
    assert records[1].text == 'Martin;Léa;612345679;"ligne\r\nsur deux lignes"\r\n'  # the blank line is no record


def test_kept_rows_are_written_byte_for_byte() -> None:
    campaign = read(FRENCH)
    out = written(campaign, [(0, ""), (1, ""), (2, "")], with_reason=False)
    assert out == FRENCH.replace("\r\n\r\n", "\r\n").encode("utf-8")  # all of it, less the blank line

    campaign = read(FRENCH)
    out = written(campaign, [(2, "")], with_reason=False)
    assert out == ("\ufeffNom;Prénom;Téléphone;Commentaire\r\nDurand;Paul;+33 6 12 34 56 80;sans fin de ligne").encode()


def test_rejects_get_a_last_column_reason_in_the_files_own_delimiter_and_line_ending() -> None:
    out = written(read(FRENCH), [(1, "opted-out"), (2, "duplicate")], with_reason=True).decode("utf-8")
    assert out == (
        "\ufeffNom;Prénom;Téléphone;Commentaire;reason\r\n"
        'Martin;Léa;612345679;"ligne\r\nsur deux lignes";opted-out\r\n'
        "Durand;Paul;+33 6 12 34 56 80;sans fin de ligne;duplicate\r\n"
    )


def test_a_comma_file_with_quoted_commas() -> None:
    text = 'name,phone,city\n"Dupont, Jean",0612345678,"Paris, 75011"\n'
    campaign = read(text)
    assert not campaign.bom
    assert campaign.delimiter == ","
    (record,) = campaign.records()
    assert record.cells == ["Dupont, Jean", "0612345678", "Paris, 75011"]
    assert written(read(text), [(0, "invalid-number")], with_reason=True).decode() == (
        'name,phone,city,reason\n"Dupont, Jean",0612345678,"Paris, 75011",invalid-number\n'
    )


def test_one_number_a_line() -> None:
    campaign = read("06 12 34 56 78\n0612345679\n\n+33612345680\n")
    assert campaign.header is None
    assert [campaign.number(record) for record in campaign.records()] == [
        "06 12 34 56 78",
        "0612345679",
        "+33612345680",
    ]
    assert written(read("0612345678\n"), [(0, "opted-out")], with_reason=True) == b"0612345678,opted-out\n"


def test_windows_1252_from_a_plain_excel_export() -> None:
    text = "Nom;Téléphone\r\nHélène;0612345678\r\n"
    campaign = read(text, "cp1252")
    assert campaign.encoding == "cp1252"
    assert campaign.phone_index == 1
    assert written(read(text, "cp1252"), [(0, "")], with_reason=False) == text.encode("cp1252")


def test_the_phone_column_by_name_or_refused() -> None:
    text = "Client;Contact GSM perso;Ville\nA;0612345678;Paris\n"
    with pytest.raises(CampaignFileError, match="names no phone column"):
        read(text)
    assert read(text, column="contact gsm perso").phone_index == 1
    with pytest.raises(CampaignFileError, match="no column 'Fax'"):
        read(text, column="Fax")
    with pytest.raises(CampaignFileError, match="no header"):
        read("0612345678\n", column="phone")


def test_a_short_row_has_an_empty_number() -> None:
    campaign = read("name;phone\nonly a name\n")
    (record,) = campaign.records()
    assert campaign.number(record) == ""


def test_the_shared_column_rules() -> None:
    assert phone_column(["Nom", "N° de Tél."]) is None
    assert phone_column(["Nom", "Tél."]) == 1
    assert phone_column(["Nom", "Phone_Number"]) == 1
    assert phone_column(["Nom", "Mobile"], wanted="nom") == 0
    assert has_header("Nom;Téléphone")
    assert not has_header("06 12 34 56 78")
    assert sniff_dialect("a;b\n1;2\n").delimiter == ";"
    assert sniff_dialect("0612345678\n").delimiter == ","
