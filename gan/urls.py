from django.urls import path

from . import try_sound_views, views

app_name = "gan"
urlpatterns = [
    path("media/<path:path>", views.staff_media, name="staff-media"),
    path("datasets/<int:dataset_id>/table1/", views.dataset_table1, name="dataset-table1"),
    path("try/", try_sound_views.try_page, name="try"),
    path("try/sounds/", try_sound_views.upload_sound, name="try-sounds"),
    path("try/images/", try_sound_views.try_images, name="try-images"),
]
