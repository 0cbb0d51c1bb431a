"""The indicator cache's files: written whole under a temporary name, then read back mapped,
with a footer naming their key, their sections and a CRC of the bytes before it."""

from __future__ import annotations

import json
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import Any, BinaryIO

import pyarrow as pa

from learningloop.indicator_framing import FOOTER_LENGTH, MAGIC, new_temporary, parsed_footer

ERRORS = (OSError, ValueError, KeyError, IndexError, TypeError, pa.ArrowException)


def written(
    directory: Path,
    private: bool,
    key: str,
    sections: Callable[[Summed], list[dict[str, Any]]],
    *,
    base: dict[str, Any] | None = None,
) -> Path:
    """A new temporary file in `directory`: MAGIC, the sections, then a footer naming the key,
    the sections, the CRC of their bytes and, for an overlay, its `base` (the file whose bytes
    its pieces also name). OSError when it cannot be written."""
    temporary = new_temporary(directory, private)
    try:
        with temporary.open("wb") as file:
            file.write(MAGIC)
            sink = Summed(file)
            parts = sections(sink)
            found = {"key": key, "sections": parts, "crc": sink.crc}
            footer = json.dumps(found if base is None else {**found, "base": base}).encode()
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
        with memoryview(data) as view:
            found, end, length = parsed_footer(view)
        if not isinstance(found.get("key"), str):
            return None
        return {**found, "data": data, "end": end, "length": length}
    except ERRORS:
        return None
