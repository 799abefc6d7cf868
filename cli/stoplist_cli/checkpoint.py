"""Where an import stands, so that an interrupted one resumes instead of starting over.

One small JSON file per (input file's SHA-256, target queue) in a state directory
(``$XDG_STATE_HOME/stoplist/imports``, else ``~/.local/state/stoplist/imports``), rewritten atomically after
each batch SQS fully accepted: ``done_through`` is the last line number of the last such batch. A changed
file has another hash, hence a fresh import.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path


def default_state_dir() -> Path:
    base = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(base) / "stoplist" / "imports"


@dataclass
class Progress:
    file: str
    file_sha256: str
    queue_url: str
    done_through: int = 0  # every valid line up to this line number was accepted by SQS
    sent: int = 0
    complete: bool = False


class Checkpoint:
    def __init__(self, state_dir: Path, file_hash: str, queue_url: str) -> None:
        target = hashlib.sha256(queue_url.encode()).hexdigest()[:12]
        self.path = state_dir / f"{file_hash}-{target}.json"

    def load(self) -> Progress | None:
        try:
            return Progress(**json.loads(self.path.read_text(encoding="utf-8")))
        except FileNotFoundError:
            return None

    def save(self, progress: Progress) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        temporary = self.path.with_suffix(".tmp")
        temporary.write_text(json.dumps(asdict(progress), indent=1), encoding="utf-8")
        os.replace(temporary, self.path)

    def clear(self) -> None:
        self.path.unlink(missing_ok=True)
