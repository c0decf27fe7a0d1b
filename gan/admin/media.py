"""Small HTML helpers for showing media files in admin pages (served by the staff-only view)."""
from django.urls import reverse
from django.utils.html import format_html


def media_url(path: str) -> str:
    return reverse("gan:staff-media", args=[path]) if path else ""


def thumbnail(path: str, size: int = 64) -> str:
    if not path:
        return "-"
    return format_html('<img src="{}" width="{}" height="{}" style="image-rendering:pixelated" alt="">',
                       media_url(path), size, size)


def image(path: str, width: int = 640) -> str:
    if not path:
        return "(not yet)"
    return format_html('<img src="{}" style="max-width:{}px;image-rendering:pixelated" alt="">',
                       media_url(path), width)


def audio_player(path: str) -> str:
    if not path:
        return "-"
    return format_html('<audio controls preload="none" src="{}"></audio>', media_url(path))
