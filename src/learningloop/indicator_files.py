"""The indicator cache's files: written whole under a temporary name, then read back mapped,
with a footer naming their key, their sections and a CRC of the bytes before it."""

from __future__ import annotations

import json
import os
import uuid
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import Any, BinaryIO

import pyarrow as pa

MAGIC = b"LLINDIC1"
FOOTER_LENGTH = 8
ERRORS = (OSError, ValueError, KeyError, IndexError, TypeError, pa.ArrowException)


def written(
    directory: Path,
    private: bool,
    key: str,
    sections: Callable[[Summed], list[dict[str, Any]]],
) -> Path:
    """A new temporary file in `directory`: MAGIC, the sections, then a footer naming the key,
    the sections and the CRC of their bytes. OSError when it cannot be written."""
    temporary = new_temporary(directory, private)
    try:
        with temporary.open("wb") as file:
            file.write(MAGIC)
            sink = Summed(file)
            parts = sections(sink)
            footer = json.dumps({"key": key, "sections": parts, "crc": sink.crc}).encode()
            file.write(footer + len(footer).to_bytes(FOOTER_LENGTH, "little") + MAGIC)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    return temporary


class Summed:
    """A file being written, and the CRC of the bytes written through this (summed on the
    way: reading the file back for it cost a second pass over tens of MiB)."""

    def __init__(self, file: BinaryIO) -> None:
        self.file, self.crc, self.closed = file, 0, False

    def write(self, data: Any) -> int:
        self.crc = zlib.crc32(data, self.crc)
        return self.file.write(data)

    def tell(self) -> int:
        return self.file.tell()

    def flush(self) -> None:
        self.file.flush()


def opened(
    path: Path, key: str, *, check: bool = True
) -> tuple[pa.Buffer, list[dict[str, Any]]] | None:
    """A cache file's bytes (mapped, not read) and its sections, when it is whole and was
    written for `key`."""
    found = read_footer(path)
    if found is None or found["key"] != key:
        return None
    data, end, length = found["data"], found["end"], found["length"]
    body = data.slice(len(MAGIC), end - length - len(MAGIC))
    if check and zlib.crc32(body) != found.get("crc"):
        return None
    return data, list(found.get("sections", []))


def read_footer(path: Path) -> dict[str, Any] | None:
    """A cache file's footer (its key, sections, CRC) and where it lies in the mapped bytes
    (`data`, `end`, `length`); None when the file is not one."""
    try:
        with pa.memory_map(str(path), "r") as source:
            data = source.read_buffer(source.size())
        if data.size < len(MAGIC) * 2 + FOOTER_LENGTH:
            return None
        end = data.size - len(MAGIC) - FOOTER_LENGTH
        if data.slice(0, len(MAGIC)).to_pybytes() != MAGIC or (
            data.slice(end + FOOTER_LENGTH).to_pybytes() != MAGIC
        ):
            return None
        length = int.from_bytes(data.slice(end, FOOTER_LENGTH).to_pybytes(), "little")
        if not 0 < length <= end - len(MAGIC):
            return None
        footer = json.loads(data.slice(end - length, length).to_pybytes())
        if not isinstance(footer, dict) or not isinstance(footer.get("key"), str):
            return None
        return {**footer, "data": data, "end": end, "length": length}
    except ERRORS:
        return None


def new_temporary(directory: Path, private: bool) -> Path:
    """A new empty file in `directory`, 0600 when `private`, else as the umask allows."""
    directory.mkdir(mode=0o700 if private else 0o777, exist_ok=True)
    if private:
        directory.chmod(directory.stat().st_mode & 0o700)
    path = directory / f".indicators-{uuid.uuid4().hex}.tmp"
    os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600 if private else 0o666))
    return path
