"""Jobs in the admin: a live list, a detail page with params/metrics/log/error, cancel and retry,
and a generic launch form (kind + params JSON) for any registered kind."""
import json

from django import forms
from django.contrib import admin, messages
from django.http import HttpResponseRedirect
from django.urls import reverse
from django.utils.html import format_html

from .engine import cancel_job, create_job, retry_job
from .errors import JobError
from .models import Job, Queue
from .registry import KINDS


class JobLaunchForm(forms.ModelForm):
    kind = forms.ChoiceField(choices=())
    queue_override = forms.ChoiceField(
        choices=[("", "the kind's own queue")] + list(Queue.choices), required=False,
        label="Queue",
    )
    params_json = forms.CharField(
        label="Params (JSON)", widget=forms.Textarea(attrs={"rows": 6, "cols": 60}),
        initial="{}", required=False,
        help_text="Unknown keys and wrong types are refused; omitted keys take their defaults.",
    )

    class Meta:
        model = Job
        fields = []

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["kind"].choices = [(k, spec.label) for k, spec in sorted(KINDS.items())]

    def clean(self):
        data = super().clean()
        try:
            data["params"] = json.loads(data.get("params_json") or "{}")
        except json.JSONDecodeError as exc:
            raise forms.ValidationError(f"params are not valid JSON: {exc}") from exc
        return data


# Pages of other apps that show a job's status or progress bar use these two and PROGRESS_MEDIA.
PROGRESS_MEDIA = {"css": {"all": ["jobs/job_progress.css"]}, "js": ["jobs/job_progress.js"]}


def status_badge(job) -> str:
    return format_html('<span class="job-status job-status-{}" data-job-status="{}">{}</span>',
                       job.status, job.pk, job.get_status_display())


def progress_bar(job) -> str:
    """A bar that jobs/job_progress.js keeps live by polling the progress endpoint."""
    pct = round(100 * job.progress, 1)
    return format_html(
        '<div class="job-progress" data-job-id="{}" data-url="{}" title="{}">'
        '<div class="job-progress-fill" style="width:{}%"></div>'
        '<span class="job-progress-text">{}% {}</span></div>',
        job.pk, reverse("jobs:job-progress"), job.message, pct, pct,
        f"({job.step}/{job.total})" if job.total else "",
    )


def _pretty(value) -> str:
    return format_html("<pre style='white-space:pre-wrap'>{}</pre>", json.dumps(value, indent=2))


@admin.register(Job)
class JobAdmin(admin.ModelAdmin):
    list_display = ("id", "kind", "status_badge", "progress_bar", "queue", "attempts",
                    "duration_display", "launched_by", "created_at")
    list_filter = ("status", "kind", "queue")
    search_fields = ("=id", "kind", "message", "worker")
    actions = ["cancel_selected", "retry_selected"]
    readonly_fields = ("kind", "status", "queue", "params_pretty", "progress_bar", "step", "total",
                       "message", "metrics_pretty", "log_tail_pre", "error_pre", "attempts",
                       "cancel_requested", "worker", "launched_by", "created_at", "started_at",
                       "heartbeat_at", "finished_at", "duration_display")
    fieldsets = (
        (None, {"fields": ("kind", "status", "progress_bar", "message", "queue", "attempts",
                           "cancel_requested", "worker", "launched_by")}),
        ("Params and metrics", {"fields": ("params_pretty", "step", "total", "metrics_pretty")}),
        ("Log and error", {"fields": ("log_tail_pre", "error_pre")}),
        ("Times", {"fields": ("created_at", "started_at", "heartbeat_at", "finished_at",
                              "duration_display")}),
    )

    class Media:
        css = PROGRESS_MEDIA["css"]
        js = PROGRESS_MEDIA["js"]

    # -- launching

    def get_form(self, request, obj=None, **kwargs):
        if obj is None:
            kwargs["form"] = JobLaunchForm
        return super().get_form(request, obj, **kwargs)

    def get_fieldsets(self, request, obj=None):
        if obj is None:
            return ((None, {"fields": ("kind", "queue_override", "params_json")}),)
        return self.fieldsets

    def get_readonly_fields(self, request, obj=None):
        return () if obj is None else self.readonly_fields

    def save_model(self, request, obj, form, change):
        # The engine creates the row (and dispatches it after commit); the admin only asks.
        job = create_job(form.cleaned_data["kind"], form.cleaned_data["params"],
                         user=request.user, queue=form.cleaned_data.get("queue_override") or None)
        obj.pk = job.pk

    def add_view(self, request, form_url="", extra_context=None):
        try:
            return super().add_view(request, form_url, extra_context)
        except JobError as exc:  # invalid params: say so, create nothing
            self.message_user(request, f"Job not created: {exc}", messages.ERROR)
            return HttpResponseRedirect(request.get_full_path())

    def has_change_permission(self, request, obj=None):
        return obj is None and super().has_change_permission(request, obj)

    # -- columns

    @admin.display(description="status", ordering="status")
    def status_badge(self, job):
        return status_badge(job)

    @admin.display(description="progress")
    def progress_bar(self, job):
        return progress_bar(job)

    @admin.display(description="duration")
    def duration_display(self, job):
        duration = job.duration
        return "" if duration is None else str(duration).split(".")[0]

    @admin.display(description="params")
    def params_pretty(self, job):
        return _pretty(job.params)

    @admin.display(description="metrics")
    def metrics_pretty(self, job):
        return _pretty(job.metrics)

    @admin.display(description="log tail")
    def log_tail_pre(self, job):
        return format_html("<pre class='job-log'>{}</pre>", job.log_tail or "(nothing yet)")

    @admin.display(description="error")
    def error_pre(self, job):
        return format_html("<pre class='job-log'>{}</pre>", job.error or "(none)")

    # -- actions

    def _apply(self, request, queryset, operation, verb):
        done, refused = 0, []
        for job in queryset:
            try:
                operation(job.pk)
                done += 1
            except JobError as exc:
                refused.append(str(exc))
        if done:
            self.message_user(request, f"{verb} {done} job(s).", messages.SUCCESS)
        for reason in refused:
            self.message_user(request, reason, messages.WARNING)

    @admin.action(description="Cancel selected jobs", permissions=["cancel"])
    def cancel_selected(self, request, queryset):
        self._apply(request, queryset, cancel_job, "Cancelled (or asked to stop)")

    @admin.action(description="Retry selected failed/cancelled jobs", permissions=["cancel"])
    def retry_selected(self, request, queryset):
        self._apply(request, queryset, retry_job, "Requeued")

    def has_cancel_permission(self, request):
        return request.user.is_active and request.user.is_staff and request.user.has_perm("jobs.change_job")
