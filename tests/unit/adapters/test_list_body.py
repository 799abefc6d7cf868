from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from stoplist.adapters.list_body import HEAD_FIELDS, BodyError, ListBody, stop_entry

JSON_SCALARS = (
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=20)
)
JSON_VALUES = st.recursive(
    JSON_SCALARS,
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=5), children, max_size=3),
    max_leaves=8,
)
ENTRY_OBJECTS = st.fixed_dictionaries(
    {},
    optional={
        "id": JSON_VALUES,
        "phoneNumber": JSON_VALUES | st.from_regex(r"\+?[0-9]{8,15}", fullmatch=True),
        "createdAt": JSON_VALUES,
        "other": JSON_VALUES,
    },
)
ENTRIES = st.lists(ENTRY_OBJECTS | JSON_VALUES, max_size=30)
TOP_FIELDS = st.fixed_dictionaries(
    {},
    optional={"success": JSON_SCALARS, "code": JSON_SCALARS, "nbData": JSON_SCALARS, "message": JSON_VALUES},
)


def chunked(body: bytes, size: int) -> list[bytes]:
    return [body[start : start + size] for start in range(0, len(body), size)]


def read(body: bytes, chunk_size: int) -> tuple[list[Any], dict[str, Any]]:
    reader = ListBody(chunked(body, chunk_size))
    reader.open()
    return list(reader.entries()), reader.fields


@settings(max_examples=200, deadline=None)
@given(ENTRIES, TOP_FIELDS, TOP_FIELDS, st.integers(min_value=1, max_value=64))
def test_the_stream_reads_what_json_loads_reads(
    data: list[object], before: dict[str, Any], after: dict[str, Any], chunk_size: int
) -> None:
    """Any entries, any top-level fields before and after ``data``, cut into chunks anywhere."""
    document = {**before, "data": data, **{key: value for key, value in after.items() if key not in before}}
    body = json.dumps(document, ensure_ascii=False).encode()
    loaded = json.loads(body)

    entries, fields = read(body, chunk_size)

    assert entries == [stop_entry(item) for item in loaded["data"]]
    scalars = {key: value for key, value in loaded.items() if key != "data" and not isinstance(value, dict | list)}
    if before.keys() >= HEAD_FIELDS:  # the provider's order: what follows data is not looked at
        scalars = {key: value for key, value in scalars.items() if key in before}
    assert fields == scalars


@settings(max_examples=100, deadline=None)
@given(ENTRIES, st.integers(min_value=1, max_value=64), st.data())
def test_a_body_cut_anywhere_is_an_error_never_a_shorter_list(
    data: list[object], chunk_size: int, draw: st.DataObject
) -> None:
    body = json.dumps({"success": True, "code": 200, "data": data}).encode()
    cut = draw.draw(st.integers(min_value=0, max_value=len(body) - 1))
    with pytest.raises(BodyError):
        read(body[:cut], chunk_size)


def test_the_fields_before_data_are_known_at_the_first_entry() -> None:
    body = b'{"success": true, "code": 200, "nbData": 2, "data": [{"id": 1}, {"id": 2}], "late": 1}'
    reader = ListBody(chunked(body, 8))
    reader.open()
    assert reader.head == {"success": True, "code": 200, "nbData": 2}
    assert not reader.complete
    assert [entry.stop_id for entry in reader.entries()] == [1, 2]
    assert reader.complete
