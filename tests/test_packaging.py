"""Installable as a package: the wheel, installed (not editable) into a fresh virtual environment, runs
``guichet init --demo`` and ``guichet serve`` with no GUICHET_SCHEMAS_DIR and no source checkout in sight; a CLI
failure is a French line and a non-zero exit, never a traceback. Offline: the wheel is built without build
isolation and the fresh environment borrows this one's dependencies (a path in a ``.pth``, so this checkout's own
editable install is not picked up)."""

from __future__ import annotations

import os
import site
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from tests.test_cli import env, free_port  # noqa: F401 - the env fixture

ROOT = Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The ``bin`` folder of a fresh venv holding the freshly built wheel."""
    base = tmp_path_factory.mktemp("wheel")
    subprocess.run([sys.executable, "-m", "pip", "wheel", str(ROOT), "--no-deps", "--no-build-isolation", "-q",
                    "-w", str(base / "dist")], check=True, capture_output=True, timeout=300, cwd=base)
    [wheel] = list((base / "dist").glob("guichet-*.whl"))
    venv = base / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=120)
    subprocess.run([sys.executable, "-m", "pip", "--python", str(venv / "bin" / "python"), "install", "-q",
                    "--no-deps", "--no-index", str(wheel)], check=True, capture_output=True, timeout=300)
    [packages] = list(venv.glob("lib/python*/site-packages"))
    (packages / "zz_dependencies.pth").write_text("\n".join(site.getsitepackages()) + "\n", "utf-8")
    return venv / "bin"


def clean(env: dict[str, str], cwd: Path) -> dict[str, str]:  # noqa: F811 - not the fixture
    out = {k: v for k, v in env.items() if k not in ("GUICHET_SCHEMAS_DIR", "PYTHONPATH", "VIRTUAL_ENV")}
    out["PATH"] = os.defpath
    return out


def test_wheel_ships_the_schemas_and_the_cli_works_without_the_checkout(
        installed: Path, env: dict[str, str], tmp_path: Path) -> None:  # noqa: F811
    where = tmp_path / "elsewhere"
    where.mkdir()
    environ = clean(env, where)
    found = subprocess.run([str(installed / "python"), "-c", "import hub, hub.config as c; "
                            "print(hub.__file__); print(c.DEFAULT_SCHEMAS)"],
                           env=environ, cwd=where, capture_output=True, text=True, timeout=60)
    module, schemas = found.stdout.split()
    assert module.startswith(str(installed.parent)) and schemas.startswith(str(installed.parent))
    assert (Path(schemas) / "openapi.json").is_file() and (Path(schemas) / "directory" / "employers.csv").is_file()

    init = subprocess.run([str(installed / "guichet"), "init", "--demo"], env=environ, cwd=where,
                          capture_output=True, text=True, timeout=300)
    assert init.returncode == 0, init.stderr
    assert "anne.legoff@spsti-demo.fr" in init.stdout

    port = free_port()
    serve = subprocess.Popen([str(installed / "guichet"), "serve"], cwd=where, stdout=subprocess.PIPE,
                             stderr=subprocess.STDOUT, text=True,
                             env={**environ, "GUICHET_HTTP_PORT": str(port), "GUICHET_SMTP_PORT": str(free_port())})
    try:
        deadline, pages = time.monotonic() + 60, {}
        while not pages:
            try:
                for path in ("/readyz", "/saisine-pdp", "/inbox/login", "/openapi.json"):
                    with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=5) as r:  # noqa: S310
                        pages[path] = (r.status, r.read())
            except OSError:
                pages = {}
                assert serve.poll() is None, serve.stdout.read() if serve.stdout else ""
                assert time.monotonic() < deadline, "the installed server did not answer"
                time.sleep(0.3)
    finally:
        serve.terminate()
        out, _ = serve.communicate(timeout=30)
    assert {path: status for path, (status, _) in pages.items()} == dict.fromkeys(pages, 200)
    assert b"<form" in pages["/saisine-pdp"][1] and b"openapi" in pages["/openapi.json"][1]
    assert serve.returncode == 0 and "Traceback" not in out


def test_cli_failures_are_french_lines_without_traceback(installed: Path, env: dict[str, str],  # noqa: F811
                                                         tmp_path: Path) -> None:
    environ = clean(env, tmp_path)
    for args in (["serve"], ["directory", "import", str(tmp_path / "absent")], ["users", "list"]):
        result = subprocess.run([str(installed / "guichet"), *args], env=environ, cwd=tmp_path,
                                capture_output=True, text=True, timeout=120)
        assert result.returncode != 0, args
        assert result.stderr.startswith("guichet : erreur") or "usage: guichet" in result.stderr, result.stderr
        assert "Traceback" not in result.stderr + result.stdout, args
