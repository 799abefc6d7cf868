"""Protocols for the domain's collaborators, so that adapters and unit-test fakes are checked alike."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Protocol


class OptOutPublisher(Protocol):
    """Where the HTTP doors send an opt-out event (the contract's object): OptOutQueue."""

    def publish(self, event: Mapping[str, str]) -> None: ...


class SigningKeys(Protocol):
    """The unsubscribe links' keys: current first, then the previous one while it is accepted."""

    def versions(self) -> list[str]: ...

    def reread_if_older_than(self, seconds: float) -> bool: ...
