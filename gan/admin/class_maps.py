"""Class maps in the admin: the form says what an entry may be and links to a search of the ImageNet
class names and groups, so a researcher never has to guess a name (or list 118 dog breeds)."""
from django import forms
from django.contrib import admin
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html

from ..ml.imagenet_classes import GROUP_PREFIX, groups_of, imagenet_class_names, search
from ..models import ClassMap
from ..staff_access import admin_view_requiring

SEARCH_LIMIT = 300  # rows shown per search; "dog" finds 10 names, "" all 1000


class ClassMapForm(forms.ModelForm):
    class Meta:
        model = ClassMap
        fields = ["name", "description", "classes"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        url = reverse("admin:gan_classmap_class_names")
        self.fields["classes"].help_text = format_html(
            'A JSON object: dataset class &rarr; list of ImageNet entries. An entry is an index (207), an exact '
            'class name ("golden retriever"), a range ("151-268") or a group ("group:dog-breeds"). Example: '
            '<code>{{"dog": ["group:dog-breeds"], "cat": ["group:domestic-cats"], "violin": ["violin"]}}</code>. '
            '<a href="{}" target="_blank">Search the ImageNet class names and groups</a> '
            '(SoundNet\'s object head uses the same 1000 classes).', url)


@admin.register(ClassMap)
class ClassMapAdmin(admin.ModelAdmin):
    form = ClassMapForm
    list_display = ("name", "classes_summary", "created_at")
    search_fields = ("name",)

    def get_urls(self):
        view = admin_view_requiring(self.admin_site, self.class_names_view, self.has_view_permission)
        return [path("class-names/", view, name="gan_classmap_class_names")] + super().get_urls()

    @admin.display(description="classes")
    def classes_summary(self, class_map):
        classes = class_map.classes if isinstance(class_map.classes, dict) else {}
        return ", ".join(f"{name} ({len(members) if isinstance(members, list) else 1})"
                         for name, members in classes.items())

    def class_names_view(self, request):
        text = request.GET.get("q", "")[:100]
        classes, groups = search(imagenet_class_names(), text)
        context = dict(self.admin_site.each_context(request), opts=self.model._meta, title="ImageNet class names",
                       q=text, groups=[(GROUP_PREFIX + g.name, len(g.indices), g.span, g.description) for g in groups],
                       classes=[(i, n, ", ".join(groups_of(i))) for i, n in classes[:SEARCH_LIMIT]],
                       found=len(classes), limit=SEARCH_LIMIT)
        return TemplateResponse(request, "admin/gan/classmap/class_names.html", context)
