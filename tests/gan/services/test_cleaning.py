"""Launching the cleaning (gan/services/cleaning.py): unknown class maps and bad parameters refused
before any job; the cleaning's Table 1 through the staff views, the admin and the API. The `clean` job
itself is tested in tests/gan/kinds/test_clean.py."""
import csv
import io

import pytest

from gan.ml.cleaning import UNMAPPED
from gan.models import ClassMap, Dataset, Pair
from gan.services.cleaning import launch_cleaning
from jobs.engine import JobError
from jobs.models import Job


@pytest.mark.django_db
def test_table1_json_and_csv_views_are_staff_only(client, staff_user, plain_user, media_root,
                                                 django_capture_on_commit_callbacks):
    dataset = Dataset.objects.create(name="t1", source="videos", root="datasets/t1")
    for i, (label, status) in enumerate([("dog", "kept"), ("dog", "discarded"), ("dog", "discarded"),
                                         ("drum", "kept"), (UNMAPPED, "discarded"), ("dog", "pending")]):
        Pair.objects.create(dataset=dataset, sound=f"s{i}.flac", image=f"i{i}.png", label=label, status=status)
    url = f"/gan/datasets/{dataset.pk}/table1/"
    from django.urls import reverse

    url = reverse("gan:dataset-table1", args=[dataset.pk])
    client.force_login(plain_user)
    assert client.get(url).status_code == 403
    client.force_login(staff_user)
    rows = {r["class"]: r for r in client.get(url).json()["rows"]}
    assert rows["dog"] == {"class": "dog", "kept": 1, "discarded": 2, "pending": 1, "pairs": 4, "discard_rate": 0.6667}
    assert rows["total"]["pairs"] == 6 and rows["total"]["discard_rate"] == 0.6
    response = client.get(url + "?as=csv")
    assert client.get(url + "?format=csv").content == response.content  # the old link still works
    assert response["Content-Type"].startswith("text/csv")
    table = list(csv.DictReader(io.StringIO(response.content.decode())))
    assert [r["class"] for r in table] == ["dog", "drum", UNMAPPED, "total"]
    assert table[0]["discarded"] == "2"
    # the admin page shows the same table and links to the discarded pairs
    page = client.get(reverse("admin:gan_dataset_change", args=[dataset.pk])).content.decode()
    assert "Table 1" in page and "66.7%" in page and "status__exact=discarded" in page
    assert client.get(reverse("admin:gan_dataset_clean", args=[dataset.pk])).status_code == 200
    for page_url in (reverse("admin:gan_dataset_import_videos"), reverse("admin:gan_dataset_import_manifest"),
                     reverse("admin:gan_dataset_split", args=[dataset.pk]), reverse("admin:gan_dataset_add"),
                     reverse("admin:gan_dataset_changelist"), reverse("admin:gan_importrecord_changelist"),
                     reverse("admin:gan_classmap_add")):
        assert client.get(page_url).status_code == 200, page_url
    assert "Import videos" in client.get(reverse("admin:gan_dataset_changelist")).content.decode()
    with django_capture_on_commit_callbacks(execute=False):
        response = client.post(reverse("admin:gan_dataset_clean", args=[dataset.pk]),
                               {"class_map": "paper", "top_k": 5, "image_classifier": "efficientnet-lite0"})
    job = Job.objects.get(kind="clean")
    assert response.status_code == 302 and job.params["top_k"] == 5 and job.params["dataset_id"] == dataset.pk
    for action, kind in (("clean_top1", "clean"), ("split_default", "split_dataset")):
        with django_capture_on_commit_callbacks(execute=False):
            client.post(reverse("admin:gan_dataset_changelist"), {"action": action, "_selected_action": [dataset.pk]})
        assert Job.objects.filter(kind=kind).latest("id").params["dataset_id"] == dataset.pk
    pairs_page = client.get(reverse("admin:gan_pair_changelist") + f"?dataset__id__exact={dataset.pk}&status__exact=discarded")
    assert pairs_page.status_code == 200 and "<audio" in pairs_page.content.decode()


@pytest.mark.django_db
def test_unknown_class_map_and_bad_params_are_refused(media_root):
    dataset = Dataset.objects.create(name="c", source="videos", root="datasets/c")
    with pytest.raises(JobError, match="unknown class map 'nine'"):
        launch_cleaning(dataset, class_map="nine", enqueue=False)
    with pytest.raises(JobError, match="top_k"):
        launch_cleaning(dataset, top_k=0, enqueue=False)
    with pytest.raises(JobError, match="Inception-v3 weights file not found: /nowhere/inception.pth"):
        launch_cleaning(dataset, image_classifier="inception-v3", inception_weights="/nowhere/inception.pth",
                        enqueue=False)
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError, match="not an ImageNet class name"):
        ClassMap(name="bad", classes={"dog": ["dogg"]}).full_clean()


@pytest.mark.django_db
def test_ingest_api_serves_table1_and_import_records(client, staff_user, plain_user, media_root):
    from django.urls import reverse

    from gan.models import ImportRecord

    dataset = Dataset.objects.create(name="api", source="videos", root="datasets/api",
                                     info={"cleaning": {"class_map": "paper", "top_k": 5}})
    for i, status in enumerate(["kept", "discarded", "discarded"]):
        Pair.objects.create(dataset=dataset, sound=f"s{i}.flac", image=f"i{i}.png", label="dog", status=status)
    ImportRecord.objects.create(dataset=dataset, source="a.mp4", status="imported", pairs=4)
    ImportRecord.objects.create(dataset=dataset, source="b.mp4", status="failed", code="no_audio",
                                reason="b.mp4: has no audio track")
    detail = reverse("gan-api:dataset-detail", args=[dataset.pk])
    client.force_login(plain_user)
    assert client.get(detail).status_code == 403
    client.force_login(staff_user)
    body = client.get(detail).json()
    assert body["table1"][0] == {"class": "dog", "kept": 1, "discarded": 2, "pending": 0, "pairs": 3,
                                 "discard_rate": 0.6667}
    assert body["cleaning"]["top_k"] == 5
    csv_text = client.get(reverse("gan-api:dataset-table1", args=[dataset.pk]) + "?as=csv").content.decode()
    assert csv_text.splitlines()[0] == "class,pairs,kept,discarded,pending,discard_rate"
    failed = client.get(reverse("gan-api:dataset-imports", args=[dataset.pk]) + "?status=failed").json()
    assert [(r["source"], r["code"]) for r in failed] == [("b.mp4", "no_audio")]
    assert client.get(reverse("gan-api:dataset-imports", args=[dataset.pk]) + "?status=odd").status_code == 400
