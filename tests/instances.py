"""Helpers of the multi-instance and fault tests: real ``guichet serve`` processes on one database, a relay sink,
a relay that never answers, free ports. Every process listens on 127.0.0.1 only and is killed at the end."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp

from hub.config import Settings, load_settings
from hub.core import Hub
from hub.crypto.keystore import KeyStore
from hub.demo import EXAMPLE_DIRECTORY
from hub.directory.importer import import_directory
from hub.store.migrate import upgrade

ROOT = Path(__file__).resolve().parent.parent
PUBLIC_URL = "http://guichet-test.invalid"  # one installation URL: the issuer and audience of every token
ADDRESS = "guichet@spsti-scale.fr"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def wait_http(url: str, patience: float = 40.0, status: int | None = 200) -> None:
    deadline = time.monotonic() + patience
    async with aiohttp.ClientSession() as http:
        while True:
            try:
                async with http.get(url, timeout=aiohttp.ClientTimeout(total=5)) as r:
                    if status is None or r.status == status:
                        return
            except (aiohttp.ClientError, TimeoutError):
                pass
            if time.monotonic() > deadline:
                raise AssertionError(f"{url} did not answer {status} in {patience} s")
            await asyncio.sleep(0.1)


@dataclass
class Instance:
    name: str
    proc: subprocess.Popen[bytes]
    http_port: int
    smtp_port: int

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.http_port}"


@dataclass
class Cluster:
    """One installation: a data dir, a key store and a database shared by every instance started from it."""

    home: Path
    env: dict[str, str]
    settings: Settings
    instances: dict[str, Instance] = field(default_factory=dict)

    @classmethod
    async def create(cls, tmp: Path, url: str, schema: str | None, toml: Mapping[str, object] = (),  # type: ignore[assignment]
                     directory: bool = True) -> Cluster:
        home = tmp / "home"
        home.mkdir(parents=True, exist_ok=True)
        config = home / "guichet.toml"
        config.write_text("".join(f"{k} = {_toml(v)}\n" for k, v in dict(toml).items()), encoding="utf-8")
        env = {"GUICHET_HOME": str(home), "GUICHET_KEYS_DIR": str(tmp / "keys"), "GUICHET_DATABASE_URL": url,
               "GUICHET_CONFIG": str(config), "GUICHET_ADDRESS": ADDRESS, "GUICHET_PUBLIC_URL": PUBLIC_URL}
        if schema:
            env["GUICHET_DATABASE_SCHEMA"] = schema
        settings = load_settings(env)
        KeyStore(settings.keys_dir).initialise()
        hub = Hub.open(settings)
        try:
            await upgrade(hub.db)
            if directory:
                report = await import_directory(hub, EXAMPLE_DIRECTORY, progress=False)
                assert not report.errors
        finally:
            await hub.close()
        return cls(home, env, settings)

    def hub(self) -> Hub:
        return Hub.open(self.settings)

    async def start(self, name: str, roles: str = "api,smtp,worker", relay: str | None = None,
                    extra_env: Mapping[str, str] = (), ready: bool = True) -> Instance:  # type: ignore[assignment]
        http_port, smtp_port = free_port(), free_port()
        env = {**os.environ, **self.env, "GUICHET_HTTP_PORT": str(http_port), "GUICHET_SMTP_PORT": str(smtp_port),
               "GUICHET_HTTP_HOST": "127.0.0.1", "GUICHET_SMTP_HOST": "127.0.0.1", **dict(extra_env)}
        if relay:
            env["GUICHET_SMTP_RELAY"] = relay
        log = (self.home / f"{name}.log").open("ab")
        proc = subprocess.Popen([sys.executable, "-m", "hub.cli", "serve", "--role", roles],  # noqa: ASYNC220
                                env=env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)
        log.close()
        instance = Instance(name, proc, http_port, smtp_port)
        self.instances[name] = instance
        if ready and "api" in roles:
            await wait_http(instance.url + "/readyz")
        elif ready and "smtp" in roles:
            await wait_port(smtp_port)
        return instance

    def kill(self, name: str) -> None:
        proc = self.instances[name].proc
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(10)

    async def stop_all(self) -> None:
        for instance in self.instances.values():
            if instance.proc.poll() is None:
                instance.proc.send_signal(signal.SIGTERM)
        for instance in self.instances.values():
            try:
                await asyncio.to_thread(instance.proc.wait, 20)
            except subprocess.TimeoutExpired:
                instance.proc.kill()
                instance.proc.wait(5)

    def log(self, name: str) -> str:
        return (self.home / f"{name}.log").read_text(encoding="utf-8", errors="replace")


async def wait_port(port: int, patience: float = 40.0) -> None:
    deadline = time.monotonic() + patience
    while True:
        try:
            _, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.close()
            return
        except OSError:
            if time.monotonic() > deadline:
                raise AssertionError(f"nothing listens on {port} after {patience} s") from None
            await asyncio.sleep(0.1)


class BlackHole:
    """A 'relay' that accepts connections and never says a word: a worker delivering to it stays busy."""

    def __init__(self) -> None:
        self.connections = 0
        self.server: asyncio.Server | None = None
        self._writers: list[asyncio.StreamWriter] = []

    async def start(self) -> int:
        async def accept(_reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            self.connections += 1
            self._writers.append(writer)

        self.server = await asyncio.start_server(accept, "127.0.0.1", 0)
        return int(self.server.sockets[0].getsockname()[1])

    async def stop(self) -> None:
        for writer in self._writers:
            writer.close()
        if self.server is not None:
            self.server.close()


def _toml(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    return '"' + str(value).replace("\\", "\\\\").replace('"', '\\"') + '"'


class PrivatePostgres:
    """A throw-away PostgreSQL cluster of this test alone (``initdb`` + ``pg_ctl`` as the ``postgres`` user, in a
    temporary directory, on a free port of 127.0.0.1), so that a test may stop and restart *its* server without
    touching the shared one."""

    def __init__(self) -> None:
        bins = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"))
        if not bins or os.geteuid() != 0 or not Path("/usr/sbin/runuser").exists():
            raise RuntimeError("needs root, runuser and the PostgreSQL server binaries")
        self.bin = bins[-1].parent
        self.port = free_port()
        import tempfile

        self.dir = Path(tempfile.mkdtemp(prefix="guichet-pg-"))
        self.data = self.dir / "data"

    @property
    def url(self) -> str:
        return f"postgresql+asyncpg://postgres@127.0.0.1:{self.port}/postgres"

    def _as_postgres(self, *args: str) -> None:
        subprocess.run(["/usr/sbin/runuser", "-u", "postgres", "--", *args], check=True, capture_output=True,
                       timeout=120)

    def init(self) -> None:
        subprocess.run(["chown", "postgres:postgres", str(self.dir)], check=True)
        self._as_postgres(str(self.bin / "initdb"), "-D", str(self.data), "-A", "trust", "-U", "postgres",
                          "--no-sync", "-E", "UTF8")
        self.start()

    def start(self) -> None:
        options = (f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1 -c fsync=off "
                   "-c max_connections=60")
        self._as_postgres(str(self.bin / "pg_ctl"), "-D", str(self.data), "-o", options, "-l",
                          str(self.dir / "server.log"), "-w", "-t", "60", "start")

    def stop(self, mode: str = "fast") -> None:
        self._as_postgres(str(self.bin / "pg_ctl"), "-D", str(self.data), "-m", mode, "-w", "-t", "60", "stop")

    def destroy(self) -> None:
        import shutil

        try:
            self.stop("immediate")
        except subprocess.CalledProcessError:
            pass
        shutil.rmtree(self.dir, ignore_errors=True)
