"""The stop-list table's items that are not numbers.

Their keys start with ``#``, which no E.164 number does, so that no lookup can hit one: the snapshot's scan,
the change publisher, the export and the local run's counts pass over every such key, whatever it is for.
"""

from __future__ import annotations

CONTROL_KEY_PREFIX = "#"
# The last successful snapshot's status (``SnapshotStore.write_status``; ``stoplist status`` reads it).
STATUS_KEY = "#snapshot-status"
# Held by the running snapshot, so that two never run at once (``stoplist.adapters.lease``).
SNAPSHOT_LEASE_KEY = "#snapshot-lease"


def is_control_key(key: str) -> bool:
    """True for the table's own items (status, lease), False for a phone number's."""
    return key.startswith(CONTROL_KEY_PREFIX)
