"""Shared pieces of the sub-commands: settings, opening the hub, running a coroutine, French errors."""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import Awaitable, Callable
from typing import TypeVar

from hub.config import Settings, load_settings
from hub.core import Hub
from hub.crypto.keystore import KeyStoreError
from hub.rights import RightsConfigError
from hub.settings_check import SettingError

T = TypeVar("T")


INTEGER_SETTINGS = ("http_port", "smtp_port", "smtp_max_size", "outbox_max_attempts")


def settings() -> Settings:
    """The settings; a value that does not parse raises ``SettingError`` naming it (French)."""
    try:
        return load_settings()
    except ValueError:
        for name in INTEGER_SETTINGS:
            value = os.environ.get(f"GUICHET_{name.upper()}", "")
            if value and not value.strip().isdigit():
                raise SettingError(name, f"un nombre entier est attendu, pas « {value[:40]} »") from None
        raise


def fail(message: str, code: int = 1) -> int:
    print(f"guichet : erreur : {message}", file=sys.stderr)
    return code


def with_hub(body: Callable[[Hub], Awaitable[int]]) -> int:
    """Open the hub, run ``body``, close; a missing key store becomes a clear message."""

    async def run() -> int:
        try:
            hub = Hub.open(settings())
        except KeyStoreError as exc:
            return fail(f"{exc} (lancez d'abord `guichet init`)")
        except RightsConfigError as exc:
            return fail(str(exc), 2)
        try:
            return await body(hub)
        finally:
            await hub.close()

    return asyncio.run(run())
