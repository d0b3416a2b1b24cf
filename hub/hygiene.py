"""Process hygiene for health data: private files and logs that never carry content, identities or secrets.

Contract:
- ``private_files()`` sets the process umask to 077: every file and directory the process creates (database,
  WAL, checkpoints, exports, keys) is readable by its owner only. ``guichet`` calls it first thing.
- ``private_dir(path)`` creates ``path`` mode 0700 (and tightens an existing one); ``private_sqlite(url)`` does
  the same for the directory of a SQLite database and creates or tightens the file to 0600 (SQLite gives the WAL
  and shared-memory files the database file's mode).
- ``configure_logging(verbose)``: INFO for everything; ``-v`` adds DEBUG for the hub's own loggers (``hub``,
  ``connectors``) only — the libraries that log protocol lines, statements and their parameters at DEBUG
  (aiosmtpd's ``mail.log``, aiosqlite, asyncpg, SQLAlchemy, aiosmtplib, aiohttp) stay at INFO. Every line goes
  through :class:`RedactingFormatter`, which masks email addresses, SQL parameter lists and bearer tokens, in
  messages and tracebacks alike. Engines are built with ``hide_parameters=True`` (``hub.store.db``).
"""

from __future__ import annotations

import logging
import os
import re
from pathlib import Path

from sqlalchemy.engine import make_url

OWN_LOGGERS = ("hub", "connectors")
EMAIL = re.compile(r"[\w.!#$%&'*+/=?^`{|}~-]+@[\w-]+(?:\.[\w-]+)+")
SQL_PARAMETERS = re.compile(r"\[parameters: .*?\](?=\s*(?:\(Background|\n|$))", re.S)
BEARER = re.compile(r"(?i)(bearer\s+|token=|t=|guichet_session=)[\w.~+/=-]{8,}")


def private_files() -> None:
    os.umask(0o077)


def private_dir(path: Path) -> None:
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    if path.stat().st_mode & 0o077:
        path.chmod(0o700)


def private_sqlite(url: str) -> None:
    database = make_url(url).database
    if not url.startswith("sqlite") or not database or database == ":memory:" or database.startswith("file:"):
        return
    path = Path(database)
    if not path.parent.exists():
        private_dir(path.parent)
    for candidate in (path, Path(f"{path}-wal"), Path(f"{path}-shm")):
        if candidate == path and not path.exists():
            os.close(os.open(path, os.O_WRONLY | os.O_CREAT, 0o600))
        if candidate.exists() and candidate.stat().st_mode & 0o077:
            candidate.chmod(0o600)


def redact(text: str) -> str:
    text = SQL_PARAMETERS.sub("[parameters: masqués]", text)
    text = EMAIL.sub("<adresse masquée>", text)
    return BEARER.sub(lambda m: m.group(1) + "<masqué>", text)


class RedactingFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        return redact(super().format(record))


def configure_logging(verbose: bool) -> None:
    root = logging.getLogger()
    if not root.handlers:  # like basicConfig: a host that already logs (a test runner) keeps its handlers
        handler = logging.StreamHandler()
        handler.setFormatter(RedactingFormatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        root.addHandler(handler)
    root.setLevel(logging.INFO)
    for name in OWN_LOGGERS:
        logging.getLogger(name).setLevel(logging.DEBUG if verbose else logging.INFO)
