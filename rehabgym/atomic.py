"""Files written whole or not at all: into a temporary file beside the target, then renamed.

A kill while writing leaves the previous file (or none), never a half-written one: the rename
(`os.replace`) is atomic on POSIX and Windows when both names are in one folder.
"""

from __future__ import annotations

import os
import re
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path
from typing import IO


@lru_cache(maxsize=1)
def _umask() -> int:
    """The process's umask (from /proc where there is one: setting it to read it back would
    race with other threads creating files)."""
    status = Path("/proc/self/status")
    if status.is_file():
        for line in status.read_text().splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


@contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """A temporary path to write `path`'s new content to; renamed onto `path` when the block
    ends without an exception, removed otherwise. The folder is created."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=path.suffix)
    os.close(fd)
    try:
        os.chmod(tmp, 0o666 & ~_umask())  # as `open` would create it (mkstemp makes it 0600)
        yield Path(tmp)
        with open(tmp, "rb") as f:  # on disk before the name points at it
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


@contextmanager
def atomic_open(path: str | Path, mode: str = "w", **kwargs) -> Iterator[IO]:
    """`open(path, mode)` for writing, atomically (see `atomic_path`)."""
    with atomic_path(path) as tmp, open(tmp, mode, **kwargs) as f:
        yield f


def write_text(path: str | Path, text: str) -> None:
    """Replace `path`'s content with `text`, atomically."""
    with atomic_open(path, "w", encoding="utf-8") as f:
        f.write(text)


def append_line(path: str | Path, line: str) -> None:
    """Add `line` at the end of the text file `path` (the whole file rewritten atomically)."""
    path = Path(path)
    old = path.read_text(encoding="utf-8") if path.is_file() else ""
    write_text(path, old + line.rstrip("\n") + "\n")


#: a temporary name of `atomic_path`: `.<target name>.<8 random characters><target suffix>`
_LEFTOVER = re.compile(r"^\.(?P<target>.+)\.[a-z0-9_]{8}(\.[A-Za-z0-9]+)?$")


def remove_leftovers(folder: str | Path) -> list[Path]:
    """Delete the temporary files a killed write left in `folder` (never a finished file);
    returns them."""
    folder = Path(folder)
    gone = [p for p in folder.glob(".*") if p.is_file() and _LEFTOVER.match(p.name)]
    for p in gone:
        p.unlink(missing_ok=True)
    return gone
