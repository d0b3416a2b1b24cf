"""Build step: the wheel carries the repository's ``schemas/`` (directory example, FHIR profiles, OpenAPI) as
``hub/schemas``, read with ``importlib.resources`` when no source checkout is around. ``schemas/`` stays the one
source; nothing is copied into the source tree. Everything else is in ``pyproject.toml``."""

from __future__ import annotations

import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

HERE = Path(__file__).resolve().parent


class BuildPyWithSchemas(build_py):
    def run(self) -> None:
        super().run()
        source, target = HERE / "schemas", Path(self.build_lib) / "hub" / "schemas"
        if source.is_dir():
            shutil.copytree(source, target, dirs_exist_ok=True)


setup(cmdclass={"build_py": BuildPyWithSchemas})
