"""``stop-sms/list``'s body read as a stream: its entries one at a time, in memory that does not grow with the list.

The body is read once, in the chunks the connection delivers, by two parsers of ijson's C backend (yajl2_c) that
see each chunk as it arrives: ``ijson.items`` builds the entries of ``data`` (1,000,000 entries in 0.8 s on the
bench machine, where the same parser's event stream walked in Python takes 2.5 s), and a push parser reads the
top-level fields (``success``, ``code``, ``nbData``, ``message``). The provider writes them before ``data``:
when ``data`` begins with ``success``, ``code`` and ``nbData`` known, the push parser stops there. A body that
puts any of them after ``data`` is read right all the same, at the cost of that parser reading the whole body.

Entries are kept as the provider wrote them, odd ones included (see :func:`stop_entry`); what the body is
(an error document, a truncated list) is the client's to judge (``stoplist.adapters.provider``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from decimal import Decimal
from typing import Any

import ijson  # type: ignore[import-untyped]

from stoplist.domain.ports import StopEntry

# The fields whose presence when ``data`` begins ends the top-level parser's work.
HEAD_FIELDS = frozenset({"success", "code", "nbData"})
_SCALAR_EVENTS = frozenset({"null", "boolean", "integer", "double", "number", "string"})
_NOTHING = object()


class BodyError(ValueError):
    """The body is cut, is not JSON, or is not an object with a ``data`` list. The message never quotes the
    body (ijson's own messages do: the key or a number could ride along)."""


class ListBody:
    """One body: :meth:`open` reads up to its first entry, :meth:`entries` the rest."""

    def __init__(self, chunks: Iterable[bytes]) -> None:
        self._top = _TopLevelFields()
        self._items: Iterator[object] = ijson.items(_ChunkReader(iter(chunks), self._top.feed), "data.item")
        self._first: object = _NOTHING
        self.complete = False

    @property
    def fields(self) -> dict[str, Any]:
        """The top-level scalars seen so far (all of them once :attr:`complete`)."""
        return self._top.fields

    @property
    def head(self) -> dict[str, Any]:
        """The top-level scalars written before ``data`` (all of them when there is none)."""
        return self._top.head if self._top.head is not None else self._top.fields

    def open(self) -> None:
        """Read up to the first entry, or to the end of a body that has none (an error document)."""
        self._first = self._next()
        if self._first is _NOTHING:
            self._finish()
        elif self._top.data_event != "start_array":
            raise BodyError("a data member that is not a list")

    @property
    def has_data_list(self) -> bool:
        return self._top.data_event == "start_array"

    def entries(self) -> Iterator[StopEntry]:
        """The entries after :meth:`open`, as read; at the end, the fields written after ``data`` are known."""
        item = self._first
        self._first = _NOTHING
        while item is not _NOTHING:
            yield stop_entry(item)
            item = self._next()
        if not self.complete:
            self._finish()

    def _next(self) -> object:
        try:
            return next(self._items, _NOTHING)
        except ijson.JSONError:
            raise BodyError("a body cut short or not JSON") from None

    def _finish(self) -> None:
        try:
            self._top.close()
        except ijson.JSONError:
            raise BodyError("a body cut short or not JSON") from None
        if self._top.top_event != "start_map":
            raise BodyError("a body that is not a JSON object")
        self.complete = True


class _ChunkReader:
    """The file ``ijson.items`` reads: the response's chunks, each shown to ``watch`` on its way."""

    def __init__(self, chunks: Iterator[bytes], watch: Callable[[bytes], None]) -> None:
        self._chunks = chunks
        self._watch = watch

    def read(self, size: int = -1) -> bytes:
        if size == 0:
            return b""  # ijson asks for nothing first, to learn whether the file gives bytes or text
        for chunk in self._chunks:
            if chunk:
                self._watch(chunk)
                return chunk
        return b""


class _TopLevelFields:
    """A push parser that records the top-level scalars and how ``data`` starts (see the module's docstring for
    when it stops)."""

    def __init__(self) -> None:
        self.fields: dict[str, Any] = {}
        self.top_event: str | None = None
        self.data_event: str | None = None
        self.head: dict[str, Any] | None = None  # the fields as ``data`` began
        self._events: list[tuple[str, str, Any]] = ijson.sendable_list()
        self._parser = ijson.parse_coro(self._events)
        self._watching = True

    def feed(self, chunk: bytes) -> None:
        if self._watching:
            self._parser.send(chunk)
            self._take_events()

    def close(self) -> None:
        """At the end of the body: whatever the parser held back (a last number) is read."""
        if self._watching:
            self._watching = False
            self._parser.close()
            self._take_events()

    def _take_events(self) -> None:
        for prefix, event, value in self._events:
            if self.top_event is None:
                self.top_event = event
            if prefix == "data" and self.data_event is None:
                self.data_event = event
                self.head = dict(self.fields)
                if self.head.keys() >= HEAD_FIELDS:
                    self._watching = False  # the provider's order: nothing more to learn from this parser
                    break
            if event in _SCALAR_EVENTS and prefix and "." not in prefix:
                self.fields[prefix] = float(value) if isinstance(value, Decimal) else value  # as json.loads
        del self._events[:]


def stop_entry(item: object) -> StopEntry:
    """One list entry; an odd one is kept (and later counted invalid) rather than failing the whole list."""
    if not isinstance(item, dict):
        return StopEntry(stop_id=None, phone_number=None, created_at=None)
    stop_id = item.get("id")
    phone_number = item.get("phoneNumber")
    created_at = item.get("createdAt")
    if type(stop_id) is int and type(phone_number) is str and type(created_at) is str:
        return StopEntry(stop_id, phone_number, created_at)  # the usual entry, a million times: no more checks
    return StopEntry(
        stop_id=stop_id if isinstance(stop_id, int) and not isinstance(stop_id, bool) else None,
        phone_number=_number_text(phone_number),
        created_at=created_at if isinstance(created_at, str) else None,
    )


def _number_text(value: object) -> str | None:
    """A list entry's ``phoneNumber`` as text: a JSON number (``33612345678``) is read as its digits.

    ijson gives a number with a fraction or an exponent as a ``Decimal``: it is read as ``json.loads`` reads
    it (a float), so ``612345679.0`` is ``612345679`` and ``1e400`` (infinite as a float) is no number at all.
    """
    if isinstance(value, Decimal):
        value = float(value)
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float) and value.is_integer() and value >= 0:
        return str(int(value))
    return None
