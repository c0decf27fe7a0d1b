from django.urls import path

from . import views

app_name = "gan"
urlpatterns = [
    path("media/<path:path>", views.staff_media, name="staff-media"),
    path("datasets/<int:dataset_id>/table1/", views.dataset_table1, name="dataset-table1"),
]
