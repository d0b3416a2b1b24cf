"""A real Dovecot IMAP server for the MSSanté tests: started from a temporary folder as ``nobody``, IMAPS (and
STARTTLS on a second port) with client-certificate authentication under the test CA of ``tests/mssante_pki.py``.

``Dovecot(pki).start()`` writes the configuration, starts ``/usr/sbin/dovecot -F`` and waits for its ports;
``deliver(raw)`` drops a message into the BAL's ``Maildir/new`` (as the operator's MTA would);
``flags()`` reads the flags Dovecot keeps for each message; ``stop()`` ends the process it started.
Login: the username comes from the client certificate's CN (``auth_ssl_username_from_cert``); SASL EXTERNAL is
accepted (``nopassword``) and so is LOGIN with the password ``PASSWORD`` (for ``GUICHET_MSSANTE_AUTH=login``).
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
import uuid
from pathlib import Path

from tests.mssante_pki import BAL, Pki

DOVECOT = "/usr/sbin/dovecot"
PASSWORD = "secret-de-test"
NOBODY, NOGROUP = 65534, 65534


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def available() -> bool:
    return Path(DOVECOT).exists() and os.geteuid() == 0


CONF = """
base_dir = {root}/run
state_dir = {root}/state
log_path = {root}/dovecot.log
instance_name = guichet-test-{tag}
protocols = imap
listen = 127.0.0.1
ssl = required
ssl_cert = <{root}/server.pem
ssl_key = <{root}/server.key
ssl_ca = <{root}/ca.pem
ssl_verify_client_cert = yes
ssl_require_crl = no
ssl_min_protocol = TLSv1.2
auth_ssl_require_client_cert = yes
auth_ssl_username_from_cert = yes
ssl_cert_username_field = commonName
auth_mechanisms = external plain login
disable_plaintext_auth = no
default_login_user = nobody
default_internal_user = nobody
default_internal_group = nogroup
mail_location = maildir:{root}/mail/%u/Maildir
mail_uid = nobody
mail_gid = nogroup
first_valid_uid = 1
first_valid_gid = 1
passdb {{
  driver = passwd-file
  mechanisms = external
  args = username_format=%u {root}/passwd-external
}}
passdb {{
  driver = passwd-file
  mechanisms = plain login
  args = scheme=PLAIN username_format=%u {root}/passwd
}}
userdb {{
  driver = static
  args = uid=nobody gid=nogroup home={root}/mail/%u
}}
service imap-login {{
  chroot =
  inet_listener imap {{
    address = 127.0.0.1
    port = {starttls_port}
  }}
  inet_listener imaps {{
    address = 127.0.0.1
    port = {port}
    ssl = yes
  }}
}}
service anvil {{
  chroot =
}}
service stats {{
  chroot =
}}
"""


class Dovecot:
    def __init__(self, pki: Pki, user: str = BAL) -> None:
        self.pki, self.user = pki, user
        self.root = Path(tempfile.mkdtemp(prefix="guichet-dovecot-"))
        self.port, self.starttls_port = free_port(), free_port()
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def maildir(self) -> Path:
        return self.root / "mail" / self.user / "Maildir"

    def _write(self) -> Path:
        root = self.root
        for sub in ("run", "state", "mail"):
            (root / sub).mkdir()
        shutil.copy(self.pki.server.cert, root / "server.pem")
        shutil.copy(self.pki.server.key, root / "server.key")
        shutil.copy(self.pki.ca.path, root / "ca.pem")
        (root / "passwd").write_text(f"{self.user}:{{PLAIN}}{PASSWORD}::::::\n")
        (root / "passwd-external").write_text(f"{self.user}:::::::nopassword\n")
        for sub in ("new", "cur", "tmp"):
            (self.maildir / sub).mkdir(parents=True)
        conf = root / "dovecot.conf"
        conf.write_text(CONF.format(root=root, tag=uuid.uuid4().hex[:8], port=self.port,
                                    starttls_port=self.starttls_port))
        os.chmod(root, 0o755)  # noqa: S103 - Dovecot runs as nobody and must enter its folder
        for path in [root, *root.rglob("*")]:
            os.chown(path, NOBODY, NOGROUP)
        return conf

    def start(self) -> Dovecot:
        conf = self._write()
        self.process = subprocess.Popen(
            ["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups", DOVECOT, "-F", "-c", str(conf)],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"dovecot exited: {self.log()}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                    return self
            except OSError:
                time.sleep(0.05)
        raise RuntimeError(f"dovecot did not listen: {self.log()}")

    def log(self) -> str:
        path = self.root / "dovecot.log"
        err = self.process.stderr.read().decode() if self.process and self.process.stderr and \
            self.process.poll() is not None else ""
        return (path.read_text() if path.exists() else "") + err

    def deliver(self, raw: bytes) -> str:
        """Write ``raw`` into ``Maildir/new`` the way an MTA does (tmp, then rename); returns its file name."""
        name = f"{time.time_ns()}.{uuid.uuid4().hex}.test"
        tmp = self.maildir / "tmp" / name
        tmp.write_bytes(raw.replace(b"\r\n", b"\n"))
        os.chown(tmp, NOBODY, NOGROUP)
        os.rename(tmp, self.maildir / "new" / name)
        return name

    def flags(self) -> list[str]:
        """The Maildir flag letters of every message Dovecot has moved to ``cur`` (``S`` = \\Seen)."""
        return sorted(p.name.rpartition(":2,")[2] for p in (self.maildir / "cur").iterdir())

    def keywords(self) -> str:
        path = self.maildir / "dovecot-keywords"
        return path.read_text() if path.exists() else ""

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        shutil.rmtree(self.root, ignore_errors=True)
