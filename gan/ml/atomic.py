"""Atomic file writes, optionally fenced by the caller.

A file is written to a temporary name in its own directory, flushed, and renamed over the target
(``os.replace`` is atomic on POSIX), so a crash or a full disk never leaves a half-written file under
the real name. A caller that may lose the right to write (a job whose run was handed to another
worker) installs a fence with ``fenced_writes``: every rename then happens inside ``fence()``, a
context manager that raises when the caller no longer owns the output and holds that ownership
until the rename is done. This module stays free of Django; the job engine supplies the fence.
"""
from __future__ import annotations

import contextlib
import contextvars
import os
import tempfile
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from pathlib import Path

_FENCE: contextvars.ContextVar[Callable[[], AbstractContextManager] | None] = contextvars.ContextVar(
    "atomic_write_fence", default=None)


@contextlib.contextmanager
def fenced_writes(fence: Callable[[], AbstractContextManager] | None) -> Iterator[None]:
    """Within this block (this thread), every commit() renames inside ``fence()``."""
    token = _FENCE.set(fence)
    try:
        yield
    finally:
        _FENCE.reset(token)


def commit(temporary: str | os.PathLike, target: str | os.PathLike) -> None:
    """Rename a finished temporary file over ``target``, under the fence if one is installed;
    on any failure (the fence refusing included) the temporary file is removed."""
    fence = _FENCE.get()
    try:
        if fence is None:
            os.replace(temporary, target)
        else:
            with fence():
                os.replace(temporary, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)
        raise


def temporary_beside(path: Path) -> tuple[int, str]:
    """A new temporary file in ``path``'s directory (so the rename stays on one filesystem)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    return tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)


def write_with(path: str | os.PathLike, write: Callable[[object], None], *, sync: bool = True) -> Path:
    """Atomically create ``path`` from ``write(binary_file)``. sync=True flushes it to disk before
    the rename (a checkpoint must survive a power cut); files cheap to remake may skip that."""
    path = Path(path)
    fd, tmp_name = temporary_beside(path)
    try:
        with os.fdopen(fd, "wb") as handle:
            write(handle)
            if sync:
                handle.flush()
                os.fsync(handle.fileno())
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp_name)
        raise
    commit(tmp_name, path)
    return path


def write_bytes(path: str | os.PathLike, data: bytes, *, sync: bool = True) -> Path:
    return write_with(path, lambda handle: handle.write(data), sync=sync)
