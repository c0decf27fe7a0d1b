"""The paper suite's rows in the admin, read-only (the suite job writes them): one line per cell
(row, seed, status, run, checkpoint, children), filterable by suite, row and status."""
from django.contrib import admin

from ..models import SuiteCell


@admin.register(SuiteCell)
class SuiteCellAdmin(admin.ModelAdmin):
    list_display = ("suite", "key", "seed", "status", "run", "checkpoint", "step", "iterations", "elapsed_s")
    list_filter = ("status", "variant", "feature")
    search_fields = ("=suite__id",)
    list_select_related = ("suite", "run", "checkpoint__run")
    readonly_fields = [f.name for f in SuiteCell._meta.fields]

    def has_add_permission(self, request):
        return False   # cells come from suite jobs only

    def has_change_permission(self, request, obj=None):
        return False
