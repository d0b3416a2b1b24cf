"""Shared pieces of the sub-commands: settings, opening the hub, running a coroutine, French errors."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Awaitable, Callable
from typing import TypeVar

from hub.config import Settings, load_settings
from hub.core import Hub
from hub.crypto.keystore import KeyStoreError
from hub.rights import RightsConfigError

T = TypeVar("T")


def settings() -> Settings:
    return load_settings()


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
