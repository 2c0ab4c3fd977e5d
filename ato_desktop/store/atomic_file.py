"""Files written whole or not at all: a temporary file beside the target, renamed into place.

The temporary file is `.NAME.XXXXXXXX.part` beside the target, locked (an OS file lock) for as
long as it is written. A process killed mid-write leaves it behind unlocked: the kernel drops the
lock with the process. The next write of the same target removes such leftovers
(`remove_stale_parts`), as does a sweep of a whole folder (`remove_stale_parts_in`, run on the
data directory at start-up); a part file whose writer still runs keeps its lock and is left alone.
"""

from __future__ import annotations

import contextlib
import errno
import os
import re
from collections.abc import Iterator
from pathlib import Path

from ato_desktop.store.database import DiskFullError, disk_full_error
from ato_desktop.store.process_lease import try_lock

TYPE_CHECKING = False  # typing is not loaded at run time (a CLI command's start)
if TYPE_CHECKING:
    from typing import IO

PART_SUFFIX = ".part"
# What tempfile.mkstemp(prefix=".NAME.", suffix=".part") makes: 8 random characters.
_PART_NAME = re.compile(r"^\.(?P<name>.+)\.[a-z0-9_]{8}\.part$")


@contextlib.contextmanager
def atomic_text_file(target: Path, *, newline: str | None = None) -> Iterator[IO[str]]:
    """Write target through the yielded handle; it appears only if the block completes.

    The temporary file is flushed to disk before the rename, so a crash leaves the old file or
    the new one, never half of one; an exception (or a cancel) removes the temporary file, and a
    kill leaves it for the next write of target to remove. A full disk is a DiskFullError that
    says so.
    """
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        remove_stale_parts(target)
        import tempfile  # here: a process that writes no file never loads it (nor random)

        fd, tmp_name = tempfile.mkstemp(
            prefix=f".{target.name}.", suffix=PART_SUFFIX, dir=target.parent
        )
    except OSError as exc:
        raise disk_full_or(exc, target) from exc
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline=newline) as handle:
            # Held until the handle closes (or the process dies): "someone is writing this".
            try_lock(handle)
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp_name, target)
    except BaseException as exc:
        with contextlib.suppress(OSError):
            os.unlink(tmp_name)
        if isinstance(exc, OSError):
            raise disk_full_or(exc, target) from exc
        raise


def disk_full_or(exc: OSError, target: Path) -> OSError | DiskFullError:
    """A DiskFullError naming target's folder when exc is a full disk (or quota); else exc."""
    if exc.errno in (errno.ENOSPC, getattr(errno, "EDQUOT", errno.ENOSPC)):
        return disk_full_error(target.parent, f"could not write {target.name}")
    return exc


def remove_stale_parts(target: Path) -> list[Path]:
    """Remove the temporary files of earlier writes of target whose writer is gone; returns them."""
    return _sweep(target.parent, target.name)


def remove_stale_parts_in(folder: Path) -> list[Path]:
    """Remove every stale temporary file of an atomic write in folder; returns them."""
    return _sweep(folder, None)


def _sweep(folder: Path, name: str | None) -> list[Path]:
    removed: list[Path] = []
    prefix = f".{name}." if name is not None else "."
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return removed
    for entry in entries:
        if not (entry.name.startswith(prefix) and entry.name.endswith(PART_SUFFIX)):
            continue
        match = _PART_NAME.match(entry.name)
        if match is None or (name is not None and match["name"] != name):
            continue
        path = Path(entry.path)
        with contextlib.suppress(OSError):
            if not entry.is_file(follow_symlinks=False):
                continue
            with path.open("rb+") as handle:
                if not try_lock(handle):
                    continue  # its writer is still at work
            path.unlink()
            removed.append(path)
    return removed
