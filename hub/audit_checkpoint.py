"""Checkpoints of the audit chain kept outside the database, to detect a truncated or rewritten chain.

Contract:
- ``CheckpointStore(paths, keys)``: ``write(seq, hash, first_hash)`` records, in each path (the data dir's
  ``audit-checkpoint.json`` and an optional copy in a second directory), the chain's length, its last hash and
  its first hash, signed with the audit key; it never moves a checkpoint backwards (a lock file serialises the
  processes of one machine) and writes atomically (temporary file, then rename), mode 0600.
- ``read()`` returns one :class:`Reading` per path: the checkpoint, or ``None`` when the file is absent, or a
  problem (unreadable, or its signature does not match: forged).
"""

from __future__ import annotations

import fcntl
import json
import os
from dataclasses import dataclass
from pathlib import Path

from hub.audit_keys import AuditKeys
from hub.store.models import utcnow

FILENAME = "audit-checkpoint.json"


@dataclass(frozen=True)
class Checkpoint:
    seq: int
    hash: str
    first_hash: str
    at: str

    def text(self) -> str:
        return f"{self.seq}|{self.hash}|{self.first_hash}|{self.at}"


@dataclass(frozen=True)
class Reading:
    path: Path
    checkpoint: Checkpoint | None
    problem: str | None = None


class CheckpointStore:
    def __init__(self, directories: list[Path], keys: AuditKeys) -> None:
        self.paths = [d / FILENAME for d in directories]
        self.keys = keys

    def write(self, seq: int, last_hash: str, first_hash: str) -> None:
        point = Checkpoint(seq, last_hash, first_hash, utcnow().isoformat())
        body = json.dumps({"seq": point.seq, "hash": point.hash, "first_hash": point.first_hash, "at": point.at,
                           "mac": self.keys.sign(point.text())}, indent=1)
        for path in self.paths:
            path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            lock_fd = os.open(path.with_suffix(".lock"), os.O_WRONLY | os.O_CREAT, 0o600)
            try:
                fcntl.flock(lock_fd, fcntl.LOCK_EX)
                current = self._read(path).checkpoint
                if current is not None and current.seq >= seq:
                    continue
                tmp = path.with_suffix(".tmp")
                fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
                with os.fdopen(fd, "w") as fh:
                    fh.write(body)
                    fh.flush()
                    os.fsync(fh.fileno())
                tmp.replace(path)
            finally:
                os.close(lock_fd)

    def read(self) -> list[Reading]:
        return [self._read(path) for path in self.paths]

    def _read(self, path: Path) -> Reading:
        try:
            data = json.loads(path.read_text())
            point = Checkpoint(int(data["seq"]), str(data["hash"]), str(data["first_hash"]), str(data["at"]))
            mac = str(data["mac"])
        except FileNotFoundError:
            return Reading(path, None)
        except (OSError, ValueError, KeyError, TypeError):
            return Reading(path, None, f"checkpoint {path} is unreadable")
        if not self.keys.signed(point.text(), mac):
            return Reading(path, None, f"checkpoint {path} is forged (its signature does not match)")
        return Reading(path, point)
