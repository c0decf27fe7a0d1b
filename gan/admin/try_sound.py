"""Sounds uploaded or recorded on the Try it page: listed (they are what its images were made from),
never added here; the changelist links to the page, and so the admin index does too."""
from django.contrib import admin

from ..models import TrySound
from .media import audio_player


@admin.register(TrySound)
class TrySoundAdmin(admin.ModelAdmin):
    list_display = ("id", "original_name", "audio_format", "duration_s", "player", "uploaded_by", "created_at")
    readonly_fields = ("sha256", "file", "original_name", "audio_format", "duration_s", "sample_rate",
                       "size_bytes", "uploaded_by", "created_at", "player")
    search_fields = ("original_name", "sha256")

    def has_add_permission(self, request):
        return False  # sounds come in through the Try it page (or generate --sound), which checks them

    def has_change_permission(self, request, obj=None):
        return False

    @admin.display(description="sound")
    def player(self, obj):
        return audio_player(obj.file.name)
