"""Check the import-linter contracts of pyproject.toml on the package as it is installed.

The repository keeps `cli/` and `projections/` beside `src/learningloop/` and ships them as
`learningloop.cli` and `learningloop.projections`; import-linter reads packages from one
directory, so this assembles that layout in a temporary directory first.

Usage: python .ci/lint_imports.py [REPOSITORY]   (exit code: lint-imports')
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path


def assemble(repository: Path, target: Path) -> Path:
    """Copy the package, its cli and its projections into `target` as installed."""
    package = target / "learningloop"
    shutil.copytree(repository / "src" / "learningloop", package)
    shutil.copytree(repository / "cli", package / "cli")
    shutil.copytree(repository / "projections", package / "projections")
    shutil.copy(repository / "pyproject.toml", target)  # lint-imports reads it from its cwd
    return target


def main(argv: list[str]) -> int:
    repository = Path(argv[0] if argv else Path(__file__).resolve().parent.parent).resolve()
    lint_imports = Path(sys.executable).with_name("lint-imports")
    with tempfile.TemporaryDirectory(prefix="learningloop-layers-") as scratch:
        assemble(repository, Path(scratch))
        env = os.environ | {"PYTHONPATH": scratch}
        return subprocess.run([str(lint_imports)], cwd=scratch, env=env, check=False).returncode


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
