"""Checks of output folders, shared by the command-line tools."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path


class OutputDirError(ValueError):
    """An output folder that cannot be created or written to."""


def prepare_output_dir(path: str | os.PathLike, fix: str) -> list[Path]:
    """Create an output folder if needed and check that files can be written in it.

    Call it before any long work, so that a bad folder fails in a second
    instead of after the work is done.

    Parameters
    ----------
    path : str or os.PathLike
        The folder. Missing parent folders are created too.
    fix : str
        What the user can do instead, appended to the message, for example
        ``"choose another --out"``.

    Returns
    -------
    list of Path
        The folders this call created, outermost first. Pass them to
        ``remove_created_dirs`` if the work fails later.

    Raises
    ------
    OutputDirError
        If ``path`` or one of its parents is a file, a folder cannot be
        created, or a file cannot be written in ``path``. The message is
        ``"cannot write to PATH: REASON; FIX"``. Folders created before the
        failure are removed again.
    """
    path = Path(path).expanduser()
    blocker = _file_in_the_way(path)
    if blocker is not None:
        reason = (
            "it is a file, not a folder"
            if blocker == path
            else f"{blocker} is a file, not a folder"
        )
        raise OutputDirError(f"cannot write to {path}: {reason}; {fix}")
    created = [
        folder for folder in (*reversed(path.parents), path) if not folder.exists()
    ]
    try:
        path.mkdir(parents=True, exist_ok=True)
        # Write a probe file, because only a real write matches the later
        # writes (os.access checks the real user id, not the effective one).
        handle, probe = tempfile.mkstemp(prefix=".write-test-", dir=path)
        os.close(handle)
        os.remove(probe)
    except OSError as error:
        remove_created_dirs(created)
        reason = error.strerror or str(error)
        raise OutputDirError(f"cannot write to {path}: {reason}; {fix}") from error
    return created


def remove_created_dirs(created: list[Path]) -> None:
    """Remove the folders ``prepare_output_dir`` created, if they are still empty.

    A folder that is not empty, or that cannot be removed, is left as it is.
    """
    for folder in reversed(created):
        try:
            folder.rmdir()
        except OSError:
            return


def _file_in_the_way(path: Path) -> Path | None:
    """Return ``path`` or its nearest existing parent if that is not a folder."""
    for candidate in (path, *path.parents):
        if candidate.exists():
            return None if candidate.is_dir() else candidate
    return None
