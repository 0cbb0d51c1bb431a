"""The framing of the indicator cache's files, without pyarrow: MAGIC, the sections, a JSON
footer, its length, MAGIC. indicator_files writes and maps them with pyarrow; indicator_warm
reads them with the standard library alone (a warm call must not load pyarrow), and both take
the footer and their temporary names from here."""

from __future__ import annotations

import contextlib
import errno
import json
import mmap
import os
import stat
import time
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import IO, Any

MAGIC = b"LLINDIC1"
FOOTER_LENGTH = 8
CACHE_DIRECTORY = "cache"  # beside the projection file
KEEP = 8  # files kept (rows and CSV lines): a few D or formats asked in turn stay warm
_STALE_TEMPORARY_SECONDS = 3600  # a temporary file this old was left by a killed process


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


def prune(directory: Path) -> None:
    """Keep the KEEP newest cache files, and no temporary file a killed process left."""
    with contextlib.suppress(OSError):
        files = []
        for entry in os.scandir(directory):
            with contextlib.suppress(OSError):
                modified = entry.stat().st_mtime
                if entry.name.startswith("indicators-"):
                    files.append((modified, entry.path))
                elif entry.name.startswith(".indicators-") and (
                    time.time() - modified > _STALE_TEMPORARY_SECONDS
                ):
                    os.unlink(entry.path)
        for _, old in sorted(files, reverse=True)[KEEP:]:
            with contextlib.suppress(OSError):
                os.unlink(old)


def write_sections(
    out: IO[bytes], header: bytes, files: Sequence[tuple[int, mmap.mmap]], sections: list[list[int]]
) -> None:
    """`header`, then each section ([file, offset, length] of `files`: descriptor and mapped
    bytes) in turn. Into a file or a pipe the kernel copies them (sendfile: no pass through
    this process); into anything else (a terminal, a buffer in memory) they are written."""
    out.write(header)
    target = _kernel_target(out)
    if target is not None:
        out.flush()
    for file, offset, length in sections:
        descriptor, data = files[file]
        sent = 0
        if target is not None:
            try:
                while sent < length:
                    done = os.sendfile(target, descriptor, offset + sent, length - sent)
                    if done == 0:
                        break  # the file is shorter than the section said: written below
                    sent += done
            except OSError as error:
                if error.errno not in (errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP) or sent:
                    raise
                target = None  # not a target sendfile takes after all: written from now on
        if sent < length:
            with memoryview(data) as view:
                out.write(view[offset + sent : offset + length])
    out.flush()


def _kernel_target(out: IO[bytes]) -> int | None:
    """The descriptor behind `out` when it is a file or a pipe, else None."""
    try:
        descriptor = out.fileno()
        mode = os.fstat(descriptor).st_mode
    except (OSError, ValueError):  # io.UnsupportedOperation is both
        return None
    return descriptor if stat.S_ISREG(mode) or stat.S_ISFIFO(mode) else None
