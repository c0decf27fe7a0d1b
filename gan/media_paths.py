"""Files under MEDIA_ROOT: rows store paths relative to it (so MEDIA_ROOT can move, e.g. to a shared
mount), code opens absolute ones. The one place that converts between the two."""
from __future__ import annotations

import os
from pathlib import Path

from django.conf import settings


def media_path(relative: str | os.PathLike) -> Path:
    """The absolute path of a file stored as `relative` (a row's FileField name or path column)."""
    return Path(settings.MEDIA_ROOT) / relative


def media_relative(path: str | os.PathLike) -> str:
    """What a row stores for an absolute path under MEDIA_ROOT; ValueError for a path outside it."""
    return str(Path(path).resolve().relative_to(Path(settings.MEDIA_ROOT).resolve()))
