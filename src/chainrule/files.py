"""Writing files safely: every file chainrule writes (models, metrics, pictures, reports) goes through
`write_atomically`, which writes a recognisable temporary in the target folder and renames it into place.

A crash or kill mid-write leaves the old file untouched and, at worst, one temporary named
`.NAME.PID.RANDOM.chainrule-tmp`; the next write into that folder removes such leftovers whose process is gone.
This module knows nothing about what is written (it imports only the standard library), except that text from a
file or a caller is made `printable` before it goes into an output: one rule for every writer.
"""
from __future__ import annotations

import os
import re
import stat
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

# Characters that text from a file or a caller may not carry into an output as they are: C0 controls but tab and
# newline (terminal escape sequences, which XML forbids too), DEL and C1 (0x9b is a one-byte CSI), bidirectional
# overrides (text that reads differently from what it is), line separators and lone surrogates (no UTF-8 for them).
_UNPRINTABLE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069\ud800-\udfff]")


def printable(text: object) -> str:
    """`text` with control characters made visible instead of obeyed: C0 characters (but tab and newline) become
    their Unicode control pictures (ESC → ␛), the rest above → �. Escaping for the format (HTML, Markdown, LaTeX,
    DOT) comes after this."""
    return _UNPRINTABLE.sub(lambda m: chr(0x2400 + ord(m.group())) if ord(m.group()) < 0x20 else "\ufffd", str(text))


TEMPORARY_SUFFIX = ".chainrule-tmp"
_TEMPORARY = re.compile(r"^\..+\.(\d+)\.[^.]+" + re.escape(TEMPORARY_SUFFIX) + "$")


def current_umask() -> int:
    """The process's umask (read by setting it and putting it back)."""
    current = os.umask(0)
    os.umask(current)
    return current


def _process_alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OSError):
        return True  # exists but belongs to someone else, or cannot tell: leave its file alone
    return True


def remove_stale_temporaries(folder: str | os.PathLike) -> list[Path]:
    """Delete temporaries left in `folder` by writes whose process no longer runs; return what was removed."""
    removed = []
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return removed
    for entry in entries:
        match = _TEMPORARY.match(entry.name)
        if match and entry.is_file(follow_symlinks=False) and not _process_alive(int(match.group(1))):
            try:
                os.unlink(entry.path)
                removed.append(Path(entry.path))
            except OSError:
                pass
    return removed


def _status(path: Path) -> os.stat_result | None:
    """os.stat of `path`, None if nothing is there; ValueError for a name the system refuses (too long, ...)."""
    try:
        return path.stat()
    except (FileNotFoundError, NotADirectoryError):
        return None
    except OSError as error:
        raise ValueError(f"cannot use {str(path)[:80]!r}{'...' if len(str(path)) > 80 else ''}: "
                         f"{error.strerror or error}") from None


def check_writable_target(path: str | os.PathLike) -> Path:
    """`path` as a Path if a regular file may be written there; ValueError naming the problem otherwise."""
    path = Path(path)
    status = _status(path)
    if status is not None and stat.S_ISDIR(status.st_mode):
        raise ValueError(f"{path} is a folder, not a file")
    if status is not None and not stat.S_ISREG(status.st_mode):
        raise ValueError(f"{path} exists and is not a regular file (a device, pipe or socket); choose a file name")
    return path


def write_atomically(path: str | os.PathLike, write: Callable[[IO[Any]], None] | str | bytes) -> Path:
    """Write `path` whole or not at all: `write(file)` (or the given text/bytes) fills a temporary, then rename.

    The parent folder is created if missing; the file gets the usual permissions (0666 less the umask).
    """
    path = check_writable_target(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        remove_stale_temporaries(path.parent)
        handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.{os.getpid()}.", suffix=TEMPORARY_SUFFIX,
                                             dir=path.parent)
    except OSError as error:  # name the file asked for, not the temporary or a parent
        reason = error.strerror or str(error)
        nearest = next(p for p in path.parents if p.exists())  # the root exists, so there is one
        if not nearest.is_dir():
            reason = f"{nearest} is a file, not a folder"
        raise OSError(error.errno, reason, str(path)) from None
    try:
        with os.fdopen(handle, "wb") as file:
            if isinstance(write, str):
                file.write(write.encode("utf-8"))
            elif isinstance(write, bytes):
                file.write(write)
            else:
                write(file)
            file.flush()
            os.fsync(file.fileno())
        os.chmod(temporary, 0o666 & ~current_umask())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return path


def check_output_folder(folder: str | os.PathLike, names: tuple[str, ...] = ()) -> Path:
    """Make sure files called `names` can be written into `folder` (which need not exist yet), before any work.

    Raises ValueError with one line naming the problem: a file where the folder should be, a folder or a
    device where one of the files should be, or a folder that cannot be created or written.
    """
    folder = Path(folder)
    status = _status(folder)
    if status is not None and not stat.S_ISDIR(status.st_mode):
        raise ValueError(f"{folder} exists and is not a folder")
    for name in names:
        check_writable_target(folder / name)
    try:
        _probe(folder)
    except OSError as error:
        raise ValueError(f"cannot write to {folder}: {error.strerror or error}") from None
    return folder


def _probe(folder: Path) -> None:
    """Write and delete a temporary in `folder` (OSError if that fails), leaving no trace: folders created for
    the probe are removed again, so a command refused after its checks leaves no empty folder behind (the
    writers create the folders they write into)."""
    missing = [f for f in (folder, *folder.parents) if _status(f) is None]  # deepest first
    try:
        folder.mkdir(parents=True, exist_ok=True)
        handle, probe = tempfile.mkstemp(prefix=f".probe.{os.getpid()}.", suffix=TEMPORARY_SUFFIX, dir=folder)
        os.close(handle)
        os.unlink(probe)
    finally:
        for created in missing:
            try:
                created.rmdir()
            except OSError:  # not created after all, or something was put there meanwhile: leave it
                break


def check_output_file(path: str | os.PathLike) -> Path:
    """Make sure a file can be written at `path` (its folder need not exist yet), before any work."""
    path = check_writable_target(path)
    status = _status(path.parent)
    if status is not None and not stat.S_ISDIR(status.st_mode):
        raise ValueError(f"cannot write {path}: {path.parent} is not a folder")
    try:
        _probe(path.parent)
    except OSError as error:
        raise ValueError(f"cannot write {path}: {error.strerror or error}") from None
    return path
