"""The bundled reference programme (2012–2014) and the summary `demo` prints."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

DEMO_FILE = "programme-2012-2014.yaml"


def demo_path() -> Path:
    """Path of the bundled YAML file (it imports like any other file)."""
    return Path(str(resources.files("learningloop.data").joinpath(DEMO_FILE)))
