"""Results in the admin: the evaluations list, a results page per dataset and per suite (Tables 1-4,
Fig. 2 grids, Table 3 images, the ablation chart, downloads as CSV / Markdown / LaTeX / JSON), and
the form that launches the paper suite on a dataset."""
from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse, HttpResponseRedirect, JsonResponse
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse

from jobs.admin import progress_bar, status_badge
from jobs.models import Job

from ..models import Dataset, Evaluation
from ..reports import ReportError, dataset_report, ladder_chart, suite_report, suites_of
from ..reports.formats import to_csv, to_latex, to_markdown
from ..reports.tables import METRIC_TITLES, CountTable
from ..ml.variants import VARIANTS
from ..services.suite import CHILD_MODES, PRESETS, SuiteError, launch_suite
from .choices import CLASSIFIER_CHOICES, FEATURE_CHOICES
from .media import media_url

DOWNLOADS = {"csv": ("text/csv", "csv"), "md": ("text/markdown", "md"), "tex": ("application/x-tex", "tex"),
             "json": ("application/json", "json")}


class SuiteLaunchForm(forms.Form):
    dataset = forms.ModelChoiceField(queryset=Dataset.objects.all())
    preset = forms.ChoiceField(choices=[(k, f"{k}: {p.description}") for k, p in PRESETS.items()])
    children = forms.ChoiceField(choices=[("", "the preset's choice")] + [(m, m) for m in CHILD_MODES],
                                 required=False,
                                 help_text="inline: the suite runs its children itself (one worker is "
                                           "enough); dispatch: children go to the GPU workers")
    table4_feature = forms.ChoiceField(choices=[("", "SoundNet (the paper)")]
                                       + [c for c in FEATURE_CHOICES if c[0] != "soundnet"], required=False)
    variants = forms.MultipleChoiceField(
        choices=[(name, v.title) for name, v in VARIANTS.items()], required=False,
        help_text="Table 4 rows (none ticked: the paper's b-g); row h and its ablations are beyond the paper")
    table2_variant = forms.ChoiceField(
        choices=[(name, v.title) for name, v in VARIANTS.items()], initial="g", required=False,
        help_text="the model Table 2 trains with each feature: the paper's g, or e.g. h-cbn to ask whether "
                  "SoundNet still wins once the images depict their sound")
    classifier = forms.ChoiceField(choices=CLASSIFIER_CHOICES)
    splits = forms.IntegerField(min_value=1, max_value=100, initial=10)


def _report_response(report, fmt: str, filename: str):
    if fmt not in DOWNLOADS:
        raise Http404("unknown format")
    if fmt == "json":
        return JsonResponse(report.as_dict(), json_dumps_params={"indent": 2})
    body = {"csv": to_csv, "md": to_markdown, "tex": to_latex}[fmt](report)
    content_type, extension = DOWNLOADS[fmt]
    response = HttpResponse(body, content_type=f"{content_type}; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}.{extension}"'
    return response


def html_tables(report) -> list[dict]:
    """The report's tables as header + rows of text cells, for the template."""
    counts = report.table1
    tables = [{"title": CountTable.TITLE, "head": ["class", *counts.columns],
               "rows": [[name, *(counts.counts[name].get(c, 0) for c in counts.columns)] for name in counts.classes]
               + [["total", *counts.totals().values()]], "notes": []}]
    for table in report.tables:
        head = ["row"] + [h for m in table.metrics for h in (METRIC_TITLES[m], "n")] + ["from"]
        rows = []
        for row in table.rows:
            cells = [row.label]
            for metric in table.metrics:
                score = row.scores.get(metric)
                cells += [score.text(), score.n] if score else ["-", "-"]
            rows.append(cells + [row.source()])
        tables.append({"title": f"Table {table.number}. {table.title}", "head": head, "rows": rows,
                       "notes": table.conventions() + table.notes})
    consistency = {r.key: r for t in report.tables for r in t.rows if "class_consistency" in r.scores}
    if consistency:
        rows = []
        for row in consistency.values():
            per_class = row.scores["class_consistency"].per_class
            rows.append([row.label] + [f"{100 * per_class[c]['share']:.0f}% (n={per_class[c]['n']})"
                                       if per_class.get(c, {}).get("share") is not None else "-"
                                       for c in report.class_names])
        tables.append({"title": "Class consistency per class", "head": ["row", *report.class_names],
                       "rows": rows, "notes": []})
    return tables


@admin.register(Evaluation)
class EvaluationAdmin(admin.ModelAdmin):
    list_display = ("id", "metric", "score", "n_images", "classifier", "order", "splits", "target", "dataset",
                    "created_at")
    list_filter = ("metric", "source", "classifier", "order", "dataset")
    readonly_fields = [f.name for f in Evaluation._meta.fields]
    change_list_template = "admin/gan/evaluation/change_list.html"

    def has_add_permission(self, request):
        return False  # evaluations come from evaluate jobs only

    def has_change_permission(self, request, obj=None):
        return False

    @admin.display(description="score")
    def score(self, obj):
        return obj.label

    @admin.display(description="images")
    def target(self, obj):
        return f"checkpoint #{obj.checkpoint_id} (vol {obj.volume:g})" if obj.checkpoint_id else f"real {obj.split}"

    # -- the results pages

    def get_urls(self):
        def view(function):
            def checked(request, *args, **kwargs):
                # admin_view lets any staff member in; the results need the evaluations' view permission
                if not self.has_view_permission(request):
                    raise PermissionDenied
                return function(request, *args, **kwargs)
            return self.admin_site.admin_view(checked)

        return [
            path("results/", view(self.results_index), name="gan_results"),
            path("results/dataset/<int:dataset_id>/", view(self.dataset_results), name="gan_results_dataset"),
            path("results/dataset/<int:dataset_id>/chart.png", view(self.dataset_chart),
                 name="gan_results_dataset_chart"),
            path("results/dataset/<int:dataset_id>/download.<str:fmt>", view(self.dataset_download),
                 name="gan_results_dataset_download"),
            path("results/suite/<int:job_id>/", view(self.suite_results), name="gan_results_suite"),
            path("results/suite/<int:job_id>/chart.png", view(self.suite_chart), name="gan_results_suite_chart"),
            path("results/suite/<int:job_id>/download.<str:fmt>", view(self.suite_download),
                 name="gan_results_suite_download"),
        ] + super().get_urls()

    def _context(self, request, **extra):
        return {**self.admin_site.each_context(request), "opts": self.model._meta, **extra}

    def results_index(self, request):
        form = SuiteLaunchForm(request.POST or None)
        if request.method == "POST":
            if not request.user.has_perm("jobs.add_job"):
                self.message_user(request, "You may not launch jobs.", messages.ERROR)
            elif form.is_valid():
                d = form.cleaned_data
                options = {k: d[k] for k in ("preset", "children", "table4_feature", "variants", "table2_variant",
                                             "classifier", "splits")
                           if d.get(k) not in (None, "")}
                try:
                    job = launch_suite(d["dataset"], user=request.user, **options)
                except SuiteError as exc:
                    self.message_user(request, f"Suite not launched: {exc}", messages.ERROR)
                else:
                    self.message_user(request, f"Suite job #{job.pk} queued.", messages.SUCCESS)
                    return HttpResponseRedirect(reverse("admin:gan_results_suite", args=[job.pk]))
        datasets = [(d, list(suites_of(d)[:10])) for d in Dataset.objects.all()]
        return TemplateResponse(request, "admin/gan/results_index.html",
                                self._context(request, title="Results", form=form, datasets=datasets))

    def _page(self, request, report, *, title, chart_url, download_url, job=None):
        table4 = report.table("4")
        chart = chart_url if any(r.scores for r in table4.rows) else None
        figures = [(r.label, r.source(), media_url(r.images["class_grid"]))
                   for r in report.tables[0].rows + report.tables[1].rows if r.images.get("class_grid")]
        seen, unique_figures = set(), []
        for item in figures:
            if item[2] not in seen:
                seen.add(item[2])
                unique_figures.append(item)
        volumes = [(r.label, r.source(), media_url(r.images["volume_table"])) for r in report.volume_rows]
        volumes = list({v[2]: v for v in volumes}.values())
        return TemplateResponse(request, "admin/gan/results.html", self._context(
            request, title=title, report=report, chart_url=chart, figures=unique_figures, volumes=volumes,
            downloads=[(label, download_url(fmt)) for fmt, label in
                       (("csv", "CSV"), ("md", "Markdown"), ("tex", "LaTeX"), ("json", "JSON"))],
            tables=html_tables(report), job=job,
            progress=progress_bar(job) if job else "",
            status=status_badge(job) if job else ""))

    def dataset_results(self, request, dataset_id):
        dataset = get_object_or_404(Dataset, pk=dataset_id)
        return self._page(request, dataset_report(dataset), title=f"Results: {dataset.name}",
                          chart_url=reverse("admin:gan_results_dataset_chart", args=[dataset_id]),
                          download_url=lambda fmt: reverse("admin:gan_results_dataset_download",
                                                           args=[dataset_id, fmt]))

    def suite_results(self, request, job_id):
        job = get_object_or_404(Job, pk=job_id)
        try:
            report = suite_report(job)
        except ReportError as exc:
            raise Http404(str(exc))
        return self._page(request, report, title=f"Results of suite #{job.pk} ({report.dataset})",
                          chart_url=reverse("admin:gan_results_suite_chart", args=[job_id]),
                          download_url=lambda fmt: reverse("admin:gan_results_suite_download", args=[job_id, fmt]),
                          job=job)

    def _chart(self, report):
        try:
            return HttpResponse(ladder_chart(report.table("4")), content_type="image/png")
        except ValueError as exc:
            return HttpResponse(str(exc), status=404, content_type="text/plain")

    def dataset_chart(self, request, dataset_id):
        return self._chart(dataset_report(get_object_or_404(Dataset, pk=dataset_id)))

    def suite_chart(self, request, job_id):
        try:
            return self._chart(suite_report(get_object_or_404(Job, pk=job_id)))
        except ReportError as exc:
            raise Http404(str(exc))

    def dataset_download(self, request, dataset_id, fmt):
        dataset = get_object_or_404(Dataset, pk=dataset_id)
        return _report_response(dataset_report(dataset), fmt, f"results-{dataset.name}")

    def suite_download(self, request, job_id, fmt):
        try:
            report = suite_report(get_object_or_404(Job, pk=job_id))
        except ReportError as exc:
            raise Http404(str(exc))
        return _report_response(report, fmt, f"results-{report.dataset}-suite{job_id}")
