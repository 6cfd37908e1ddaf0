"""Reading files that a submission controls, with the instructor's rights, without being fooled.

A submission's folder (as handed in) and its scratch folder (after its notebook ran) may hold
symbolic links, FIFOs, devices or huge files in place of what the grader expects. Everything the
grader reads from them goes through :func:`read_regular`: it never follows a link (in any part of
the path), never blocks on a FIFO, reads only regular files, and never more than a stated number
of bytes.
"""

from __future__ import annotations

import contextlib
import os
import stat
from pathlib import Path, PurePosixPath


class UnsafeFileError(OSError):
    """A file the grader will not read: a link, not a regular file, or too large."""


_FILE_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC
_DIR_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_DIRECTORY | os.O_CLOEXEC


def read_regular(root: Path, relative: str | PurePosixPath, limit: int) -> bytes:
    """The bytes of ``root/relative``, a regular file of at most ``limit`` bytes.

    Each folder on the way below ``root`` is opened without following links, so a link anywhere
    in ``relative`` (a ``homework_output`` that points elsewhere) is refused, as is a FIFO, a
    device or a folder at the end. Raises :class:`UnsafeFileError` (or ``FileNotFoundError``).
    """
    parts = PurePosixPath(relative).parts
    if not parts or any(p in ("", ".", "..") or "/" in p for p in parts):
        raise UnsafeFileError(f"not a plain relative path: {relative}")
    fds = [os.open(root, _DIR_FLAGS)]
    try:
        for part in parts[:-1]:
            try:
                fds.append(os.open(part, _DIR_FLAGS, dir_fd=fds[-1]))
            except NotADirectoryError:
                raise UnsafeFileError(f"{part} is not a folder") from None
            except OSError as err:
                if err.errno == 40:  # ELOOP: a link
                    raise UnsafeFileError(f"{part} is a link") from None
                raise
        try:
            fd = os.open(parts[-1], _FILE_FLAGS, dir_fd=fds[-1])
        except OSError as err:
            if err.errno == 40:
                raise UnsafeFileError(f"{relative} is a link") from None
            raise
        fds.append(fd)
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise UnsafeFileError(f"{relative} is not a regular file")
        if info.st_size > limit:
            raise UnsafeFileError(f"{relative} is larger than {limit:,} bytes")
        chunks, size = [], 0
        while size <= limit:
            chunk = os.read(fd, min(1 << 20, limit + 1 - size))
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
        if size > limit:  # it grew while being read
            raise UnsafeFileError(f"{relative} is larger than {limit:,} bytes")
        return b"".join(chunks)
    finally:
        for opened in reversed(fds):
            with contextlib.suppress(OSError):
                os.close(opened)


def tree_size(root: Path, limit: int) -> int:
    """Bytes held by the regular files under ``root`` (links not followed); stops counting once
    past ``limit``. Used to watch a scratch folder while a submission runs."""
    total = 0
    stack = [root]
    while stack and total <= limit:
        try:
            with os.scandir(stack.pop()) as entries:
                for entry in entries:
                    try:
                        if entry.is_dir(follow_symlinks=False):
                            stack.append(Path(entry.path))
                        elif entry.is_file(follow_symlinks=False):
                            total += entry.stat(follow_symlinks=False).st_blocks * 512
                    except OSError:
                        continue
        except OSError:
            continue
    return total
