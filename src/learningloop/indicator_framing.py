"""The framing of the indicator cache's files, without pyarrow: MAGIC, the sections, a JSON
footer, its length, MAGIC. indicator_files writes and maps them with pyarrow; indicator_warm
reads them with the standard library alone (a warm call must not load pyarrow), and both take
the footer and their temporary names from here."""

from __future__ import annotations

import json
import os
import uuid
from pathlib import Path
from typing import Any

MAGIC = b"LLINDIC1"
FOOTER_LENGTH = 8


def file_identity(found: os.stat_result) -> tuple[int, int, int]:
    """What tells a cache file from the one a rename put in its place: device, inode, size (a
    cache file is never written again where it lies; a merge touches its base's modification
    time, so that is left out). An overlay names its base by it, and a warm entry its files."""
    return found.st_dev, found.st_ino, found.st_size


def parsed_footer(data: memoryview) -> tuple[dict[str, Any], int, int]:
    """A cache file's footer, the offset where its length lies (`end`) and that length;
    ValueError when the bytes are not a whole cache file."""
    size = len(data)
    if size < 2 * len(MAGIC) + FOOTER_LENGTH:
        raise ValueError("not an indicator cache file")
    end = size - len(MAGIC) - FOOTER_LENGTH
    # as bytes: a view of a pyarrow buffer has signed items, which never equal bytes past 127
    if bytes(data[: len(MAGIC)]) != MAGIC or bytes(data[end + FOOTER_LENGTH :]) != MAGIC:
        raise ValueError("not an indicator cache file")
    length = int.from_bytes(data[end : end + FOOTER_LENGTH], "little")
    if not 0 < length <= end - len(MAGIC):
        raise ValueError("a damaged footer")
    found = json.loads(bytes(data[end - length : end]))
    if not isinstance(found, dict):
        raise ValueError("a damaged footer")
    return found, end, length


def new_temporary(directory: Path, private: bool) -> Path:
    """A new empty file in `directory`, 0600 when `private`, else as the umask allows (a
    killed process's leftovers are pruned by their `.indicators-*.tmp` name)."""
    directory.mkdir(mode=0o700 if private else 0o777, exist_ok=True)
    if private:
        directory.chmod(directory.stat().st_mode & 0o700)
    path = directory / f".indicators-{uuid.uuid4().hex}.tmp"
    os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600 if private else 0o666))
    return path
