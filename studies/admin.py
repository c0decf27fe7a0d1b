"""Admin of the studies app: build a study from generated images, preview it as a rater, open and
close it, watch results arrive (charts refresh themselves), and export CSV."""
from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.db import models
from django.http import HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html

from gan.selectors.images import checkpoints_with_images
from gan.staff_access import admin_view_requiring

from .api.staff import csv_download, csv_response, wants_excel
from .charts import chart_context
from .errors import BuildError
from .export import table_to_csv_rows
from .models import Condition, Participant, Response, Study, StudyKind, StudyState
from .services.building import build_correlation_study, build_rating_study, close_study, open_study
from .services.building_kinds import build_pairwise_study, build_realism_study
from .selectors.export import export_csv
from .selectors.rater import rater_link
from .selectors.results_cache import cached_results
from .selectors.study_list import vote_progress
from .services.participants import preview_participant



class BuildStudyForm(forms.Form):
    kind = forms.ChoiceField(choices=StudyKind.choices)
    name = forms.CharField(max_length=200, help_text="For staff only; raters never see it.")
    checkpoints = forms.ModelMultipleChoiceField(
        queryset=checkpoints_with_images(),
        help_text="Rating, realism and pairwise studies: the conditions (rows, in variant order; pairwise: at least "
                  "two). Correlation study: exactly one.")
    sounds_per_class = forms.IntegerField(min_value=1, required=False, help_text="Empty: as many as every class has.")
    target_votes = forms.IntegerField(min_value=1, initial=10, help_text="Votes wanted per item.")
    trials_per_participant = forms.IntegerField(min_value=1, required=False,
                                                help_text="Main trials per rater; empty: all of them.")
    catch_trials = forms.IntegerField(min_value=0, initial=2)
    practice_trials = forms.IntegerField(min_value=0, initial=1)
    qualification_trials = forms.IntegerField(
        min_value=0, initial=0, required=False, help_text="Realism study: known items shown first (real training photos and "
                                          "scrambled images in turn); raters who fail them are screened out.")
    stopping_half_width = forms.FloatField(
        min_value=0.001, required=False, help_text="Realism and pairwise: close the study once every error / win-rate "
                                                   "interval is within +- this (fixed now, before it opens). Empty: no rule.")
    stopping_min_raters = forms.IntegerField(min_value=2, initial=5, required=False,
                                             help_text="The stopping rule never closes before this many raters.")
    require_full_playback = forms.BooleanField(required=False, initial=True)
    title = forms.CharField(max_length=200, initial="Listening study", help_text="Shown to raters.")
    instructions = forms.CharField(widget=forms.Textarea, required=False, help_text="Empty: the default text.")

    def clean(self):
        data = super().clean()
        if data.get("kind") == StudyKind.CORRELATION and len(data.get("checkpoints") or []) != 1:
            raise forms.ValidationError("A correlation study uses exactly one checkpoint.")
        if data.get("kind") == StudyKind.PAIRWISE and len(data.get("checkpoints") or []) < 2:
            raise forms.ValidationError("A pairwise study compares at least two checkpoints.")
        return data


class ConditionInline(admin.TabularInline):
    model = Condition
    extra = 0
    can_delete = False
    fields = ["position", "label", "checkpoint"]
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Study)
class StudyAdmin(admin.ModelAdmin):
    list_display = ["name", "kind", "state", "progress", "links", "created_at"]
    list_filter = ["kind", "state"]
    search_fields = ["name"]
    inlines = [ConditionInline]
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}
    actions = ["open_studies", "close_studies"]
    readonly_fields = ["public_key", "kind", "state", "build_params", "opened_at", "closed_at", "created_at",
                       "created_by", "rater_link_display"]
    fields = ["name", "title", "instructions", "consent_text", "kind", "state", "target_votes_per_item",
              "trials_per_participant", "require_full_playback", "assignment_ttl_minutes", "catch_max_rating",
              "min_catch_accuracy", "count_incomplete_raters", "completion_code", "per_rater_codes",
              "completion_redirect_url", "rater_link_display",
              "public_key", "build_params", "created_by", "created_at", "opened_at", "closed_at"]

    def has_add_permission(self, request):
        return False  # studies are built from generated images: see the "Build a study" page

    @admin.display(description="votes")
    def progress(self, study):
        votes, needed = vote_progress(study)
        return f"{votes} / {needed}"

    @admin.display(description="")
    def links(self, study):
        return format_html('<a href="{}">results</a> · <a href="{}">preview</a>',
                           reverse("admin:studies_study_results", args=[study.pk]),
                           reverse("admin:studies_study_preview", args=[study.pk]))

    @admin.display(description="Rater link")
    def rater_link_display(self, study):
        return rater_link(study)

    @admin.action(description="Open the selected studies")
    def open_studies(self, request, queryset):
        for study in queryset:
            try:
                open_study(study)
            except BuildError as error:
                self.message_user(request, str(error), messages.ERROR)

    @admin.action(description="Close the selected studies")
    def close_studies(self, request, queryset):
        for study in queryset:
            close_study(study)

    def get_urls(self):
        def needs(*perms):  # admin_view lets every staff account in; each page needs its permissions
            return lambda view: admin_view_requiring(self.admin_site, view, lambda request: request.user.has_perms(perms))

        building = needs("studies.add_study", "studies.change_study")  # a build makes a study and its stimuli
        previewing = needs("studies.change_study")  # a preview makes a (preview) rater
        results = needs("studies.view_study", "studies.view_response")
        export = needs("studies.view_study", "studies.view_response", "studies.view_participant")  # crowd ids
        return [
            path("build/", building(self.build_view), name="studies_study_build"),
            path("<int:pk>/preview/", previewing(self.preview_view), name="studies_study_preview"),
            path("<int:pk>/results/", results(self.results_view), name="studies_study_results"),
            path("<int:pk>/results/live/", results(self.results_live_view), name="studies_study_results_live"),
            path("<int:pk>/responses.csv", export(self.responses_csv_view), name="studies_study_responses_csv"),
            path("<int:pk>/table.csv", results(self.table_csv_view), name="studies_study_table_csv"),
            *super().get_urls(),
        ]

    def changelist_view(self, request, extra_context=None):
        extra = {"build_url": reverse("admin:studies_study_build"), **(extra_context or {})}
        return super().changelist_view(request, extra_context=extra)

    def build_view(self, request):
        if not self.has_change_permission(request):
            return HttpResponseRedirect(reverse("admin:index"))
        form = BuildStudyForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            data = form.cleaned_data
            common = {key: data[key] for key in ("sounds_per_class", "trials_per_participant", "catch_trials",
                                                  "practice_trials", "require_full_playback", "title",
                                                  "instructions")}
            try:
                stopping = ({"half_width": data["stopping_half_width"], "min_raters": data["stopping_min_raters"] or 5}
                            if data.get("stopping_half_width") else None)
                if data["kind"] == StudyKind.REALISM:
                    common.pop("practice_trials")
                    study = build_realism_study(data["name"], list(data["checkpoints"]), target_votes=data["target_votes"],
                                                qualification_trials=data["qualification_trials"] or 0,
                                                stopping=stopping, created_by=request.user, **common)
                elif data["kind"] == StudyKind.PAIRWISE:
                    study = build_pairwise_study(data["name"], list(data["checkpoints"]),
                                                 target_votes=data["target_votes"], stopping=stopping,
                                                 created_by=request.user, **common)
                elif data["kind"] == StudyKind.RATING:
                    study = build_rating_study(data["name"], list(data["checkpoints"]), target_votes=data["target_votes"],
                                               created_by=request.user, **common)
                else:
                    study = build_correlation_study(data["name"], data["checkpoints"][0],
                                                    target_votes=data["target_votes"], created_by=request.user, **common)
            except (BuildError, ValueError) as error:
                form.add_error(None, str(error))
            else:
                self.message_user(request, f"Built {study.name} ({study.trials.count()} trials). Preview it, then "
                                           f"open it from the list.", messages.SUCCESS)
                return HttpResponseRedirect(reverse("admin:studies_study_change", args=[study.pk]))
        context = {**self.admin_site.each_context(request), "title": "Build a study", "form": form,
                   "opts": self.model._meta}
        return TemplateResponse(request, "admin/studies/study/build.html", context)

    def preview_view(self, request, pk):
        study = get_object_or_404(Study, pk=pk)
        if study.state == StudyState.CLOSED:
            self.message_user(request, "A closed study cannot be previewed.", messages.WARNING)
            return HttpResponseRedirect(reverse("admin:studies_study_changelist"))
        participant = preview_participant(study)
        return HttpResponseRedirect(reverse("studies:rater", args=[participant.token]))

    def _results_context(self, request, study):
        return {**self.admin_site.each_context(request), "study": study, "opts": self.model._meta,
                "title": f"Results: {study.name}", **chart_context(cached_results(study))}

    def results_view(self, request, pk):
        study = get_object_or_404(Study, pk=pk)
        return TemplateResponse(request, "admin/studies/study/results.html", self._results_context(request, study))

    def results_live_view(self, request, pk):
        study = get_object_or_404(Study, pk=pk)
        return TemplateResponse(request, "admin/studies/study/results_body.html",
                                self._results_context(request, study))

    def responses_csv_view(self, request, pk):
        study = get_object_or_404(Study, pk=pk)
        return csv_download(export_csv(study, bom=wants_excel(request)), f"study-{study.pk}-responses.csv")

    def table_csv_view(self, request, pk):
        study = get_object_or_404(Study, pk=pk)
        results = cached_results(study, max_age=0)
        if results["table"] is None:
            self.message_user(request, results["table_note"], messages.WARNING)
            return HttpResponseRedirect(reverse("admin:studies_study_results", args=[pk]))
        return csv_response(*table_to_csv_rows(results["table"]), f"study-{study.pk}-table.csv",
                            excel=wants_excel(request))


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


class CompleteFilter(admin.SimpleListFilter):
    title = "complete"
    parameter_name = "complete"

    def lookups(self, request, model_admin):
        return [("yes", "Every trial answered"), ("no", "Not (yet)")]

    def queryset(self, request, queryset):
        if self.value() in ("yes", "no"):
            return queryset.filter(completed_at__isnull=self.value() == "no")
        return queryset


@admin.register(Participant)
class ParticipantAdmin(ReadOnlyAdmin):
    """Staff check a completion code a rater sends by searching for it here (each rater's own code
    is unique; the study-wide one names no rater)."""

    list_display = ["id", "study", "platform", "crowd_participant_id", "crowd_session_id", "completion_code",
                    "is_preview", "created_at", "completed_at"]
    list_filter = ["study", "platform", "is_preview", CompleteFilter]
    search_fields = ["=completion_code", "=crowd_participant_id", "=crowd_session_id"]


@admin.register(Response)
class ResponseAdmin(ReadOnlyAdmin):
    list_display = ["id", "participant", "trial", "rating", "choice", "chosen_role", "response_time_ms",
                    "play_count", "created_at"]
    list_filter = ["trial__study"]
