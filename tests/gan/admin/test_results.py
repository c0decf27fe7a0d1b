"""gan/admin/results.py: the admin's Results page launches a suite with the rows a user ticks,
and refuses what the service refuses without storing a job."""
import pytest
from django.urls import reverse

from jobs.models import Job
from tests.gan.trained_fixtures import tones  # noqa: F401 (fixture)

pytestmark = pytest.mark.django_db


def test_the_results_page_launches_a_suite_with_row_h_in_table_2_and_table_4(client, staff_user, tones):
    client.force_login(staff_user)
    url = reverse("admin:gan_results")
    assert "table2_variant" in client.get(url).content.decode()
    response = client.post(url, {"dataset": tones.pk, "preset": "quick", "classifier": "domain", "splits": 3,
                                 "table4_feature": "mfcc", "variants": ["g", "h-cbn"], "table2_variant": "h-cbn"})
    job = Job.objects.get(kind="suite")
    assert response.status_code == 302 and response["Location"] == reverse("admin:gan_results_suite", args=[job.pk])
    assert job.params["variants"] == ["g", "h-cbn"] and job.params["table2_variant"] == "h-cbn"
    assert job.params["table4_feature"] == "mfcc" and job.params["splits"] == 3


def test_an_unknown_row_or_a_refused_suite_stores_no_job(client, staff_user, tones):
    client.force_login(staff_user)
    url = reverse("admin:gan_results")
    base = {"dataset": tones.pk, "preset": "quick", "classifier": "domain", "splits": 3, "table4_feature": "mfcc"}
    response = client.post(url, {**base, "table2_variant": "z"})
    assert response.status_code == 200 and "Select a valid choice" in response.content.decode()
    tones.channels = 1
    tones.save()
    response = client.post(url, {**base, "table2_variant": "h-cbn"}, follow=True)
    assert "Suite not launched" in response.content.decode() and "grayscale" in response.content.decode()
    assert not Job.objects.exists()
