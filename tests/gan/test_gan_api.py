"""Staff API for evaluations and reports, and the admin results pages (rows only, no training)."""
import csv
import io

import pytest
from django.urls import reverse

from jobs.models import Job
from tests.gan.report_rows import make_suite_rows

pytestmark = pytest.mark.django_db


@pytest.fixture
def rows():
    return make_suite_rows()


@pytest.fixture
def staff(client, staff_user):
    client.force_login(staff_user)
    return client


def test_only_staff_may_read(client, plain_user, rows):
    assert client.get("/api/gan/evaluations/").status_code == 403
    client.force_login(plain_user)
    assert client.get("/api/gan/evaluations/").status_code == 403
    assert client.get(f"/api/gan/suites/{rows[1].pk}/report/").status_code == 403
    assert client.get(reverse("admin:gan_results")).status_code == 302  # to the admin login
    plain_user.is_staff = True  # staff, but without permission to view evaluations
    plain_user.save()
    assert client.get(reverse("admin:gan_results_suite_chart", args=[rows[1].pk])).status_code == 403


def test_evaluations_list_and_filters(staff, rows):
    everything = staff.get("/api/gan/evaluations/").json()
    assert len(everything) == 8
    scores = staff.get("/api/gan/evaluations/", {"metric": "inception_score", "source": "generated"}).json()
    assert sorted(e["value"] for e in scores) == [1.2, 1.5, 2.1]
    one = next(e for e in scores if e["value"] == 1.5)
    assert one["variant"] == "g" and one["feature"] == "mfcc" and one["n_images"] == 20
    assert one["order"] == "paper" and one["splits"] == 10 and one["classifier"] == "domain-cnn (pets)"
    assert staff.get("/api/gan/evaluations/", {"checkpoint": "x"}).status_code == 400
    assert staff.get(f"/api/gan/evaluations/{one['id']}/").json()["std"] == 0.2


def test_suite_report_as_json_and_csv(staff, rows):
    dataset, suite = rows
    listing = staff.get("/api/gan/suites/").json()
    assert [s["id"] for s in listing] == [suite.pk] and listing[0]["dataset_id"] == dataset.pk
    report = staff.get(f"/api/gan/suites/{suite.pk}/report/").json()
    table4 = next(t for t in report["tables"] if t["number"] == "4")
    assert [r["key"] for r in table4["rows"]] == ["real", "f/mfcc", "g/mfcc"]
    assert table4["rows"][2]["scores"]["class_consistency"]["value"] == 0.4
    response = staff.get(f"/api/gan/suites/{suite.pk}/report/", {"as": "csv"})
    assert response["Content-Type"].startswith("text/csv")
    lines = list(csv.DictReader(io.StringIO(response.content.decode())))
    assert any(line["row"] == "real" and line["metric"] == "inception_score" for line in lines)
    assert staff.get(f"/api/gan/suites/{suite.pk}/report/", {"as": "pdf"}).status_code == 400
    other = Job.objects.create(kind="train")
    assert staff.get(f"/api/gan/suites/{other.pk}/report/").status_code == 404
    dataset_md = staff.get(f"/api/gan/dataset-reports/{dataset.pk}/", {"as": "md"})
    assert b"## Table 4." in dataset_md.content


def test_admin_results_pages_show_tables_figures_and_downloads(staff, rows):
    dataset, suite = rows
    index = staff.get(reverse("admin:gan_results"))
    assert index.status_code == 200 and f"#{suite.pk} quick".encode() in index.content
    page = staff.get(reverse("admin:gan_results_suite", args=[suite.pk]))
    html = page.content.decode()
    assert page.status_code == 200
    assert "Table 2. Scores of different kinds of sound features" in html and "1.50 ± 0.20" in html
    assert "(a) Upper bound (real images)" in html and "Class consistency per class" in html
    assert "generated/g/mfcc/grid.png" in html and "generated/f/mfcc/volumes.png" in html
    assert reverse("admin:gan_results_suite_chart", args=[suite.pk]) in html
    chart = staff.get(reverse("admin:gan_results_suite_chart", args=[suite.pk]))
    assert chart["Content-Type"] == "image/png" and chart.content[:4] == b"\x89PNG"
    for fmt, marker in (("csv", b"dataset,suite_job,table"), ("md", b"# Results: pets"),
                        ("tex", b"\\begin{tabular}"), ("json", b'"tables"')):
        download = staff.get(reverse("admin:gan_results_suite_download", args=[suite.pk, fmt]))
        assert download.status_code == 200 and marker in download.content, fmt
    assert staff.get(reverse("admin:gan_results_suite_download", args=[suite.pk, "exe"])).status_code == 404
    dataset_page = staff.get(reverse("admin:gan_results_dataset", args=[dataset.pk]))
    assert dataset_page.status_code == 200 and "MFCCs" in dataset_page.content.decode()
    assert staff.get(reverse("admin:gan_evaluation_changelist")).status_code == 200


def test_admin_suite_form_refuses_bad_requests_and_stores_nothing(staff, rows, settings, tmp_path):
    dataset, _ = rows
    before = Job.objects.count()
    response = staff.post(reverse("admin:gan_results"), {"dataset": dataset.pk, "preset": "quick",
                                                          "classifier": "domain", "splits": 10}, follow=True)
    assert "Suite not launched" in response.content.decode()
    assert "fewer than the 10" in response.content.decode()
    assert Job.objects.count() == before
