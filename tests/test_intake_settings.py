"""Connector settings are typed and checked once, at start-up: a bad value stops ``guichet serve`` with a French
message naming the setting, before anything listens; CLI failures are a French line, never a traceback."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from hub.config import load_settings
from hub.plugins import check_connector_settings, load_connectors
from hub.settings_check import SettingError
from tests.test_cli import env, free_port, guichet  # noqa: F401 - the env fixture

BAD = [("forms_max_files", '"beaucoup"'), ("token_rate", '"vite"'), ("smtp_relay_tls_verify", '"peut-être"'),
       ("smtp_relay_cafile", '"/nonexistent/ca.pem"')]


@pytest.mark.parametrize(("name", "value"), BAD)
def test_every_connector_checks_its_settings(tmp_path: Path, name: str, value: str) -> None:
    config = tmp_path / "guichet.toml"
    config.write_text(f"{name} = {value}\n", "utf-8")
    settings = load_settings({"GUICHET_HOME": str(tmp_path), "GUICHET_CONFIG": str(config)})
    with pytest.raises(SettingError) as error:
        check_connector_settings(load_connectors(), settings)
    assert f"« {name} »" in str(error.value)


def test_good_settings_pass(tmp_path: Path) -> None:
    config = tmp_path / "guichet.toml"
    config.write_text('forms_max_files = 2\ntrusted_proxies = ["10.0.0.1"]\ntoken_rate = 5\n', "utf-8")
    check_connector_settings(load_connectors(),
                             load_settings({"GUICHET_HOME": str(tmp_path), "GUICHET_CONFIG": str(config)}))


def test_serve_stops_on_a_bad_setting_before_listening(env: dict[str, str], tmp_path: Path) -> None:  # noqa: F811
    assert guichet(env, "init").returncode == 0
    config = tmp_path / "guichet.toml"
    config.write_text('forms_max_file_mb = "dix"\n', "utf-8")
    port = free_port()
    result = guichet({**env, "GUICHET_CONFIG": str(config), "GUICHET_HTTP_PORT": str(port),
                      "GUICHET_SMTP_PORT": str(free_port())}, "serve")
    assert result.returncode == 1
    assert "« forms_max_file_mb »" in result.stderr and "Traceback" not in result.stderr
    assert "Guichet : interface web" not in result.stdout
    with socket.socket() as s:  # nothing was left listening on the port
        s.bind(("127.0.0.1", port))


def test_bad_environment_value_is_named_without_traceback(env: dict[str, str]) -> None:  # noqa: F811
    result = guichet({**env, "GUICHET_SMTP_PORT": "vingt-cinq"}, "serve")
    assert result.returncode == 1 and "« smtp_port »" in result.stderr and "Traceback" not in result.stderr
