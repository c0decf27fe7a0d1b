"""The jobs admin and the progress endpoint: who may do what, and bad input never breaks anything."""
import json

import pytest
from django.urls import reverse

from jobs import engine
from jobs.engine import claim_job, create_job, execute_job
from jobs.models import Job, JobStatus

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def no_broker(monkeypatch):
    monkeypatch.setattr(engine, "dispatch", lambda job_id, queue: None)


def test_job_list_and_detail_render_with_progress_bars(client, staff_user):
    done = create_job("selfcheck", {"steps": 2, "step_seconds": 0})
    execute_job(done.pk, "w")
    failed = create_job("selfcheck", {"steps": 3, "step_seconds": 0, "fail_at_step": 1})
    execute_job(failed.pk, "w")
    client.force_login(staff_user)
    page = client.get(reverse("admin:jobs_job_changelist"))
    assert page.status_code == 200
    html = page.content.decode()
    assert f'data-job-id="{done.pk}"' in html and "job_progress.js" in html
    detail = client.get(reverse("admin:jobs_job_change", args=[failed.pk])).content.decode()
    assert "deliberate failure at step 1" in detail and "Traceback" in detail
    assert "relative_error" in client.get(reverse("admin:jobs_job_change", args=[done.pk])).content.decode()


def test_launch_form_creates_a_job_and_bad_params_create_nothing(client, staff_user):
    client.force_login(staff_user)
    url = reverse("admin:jobs_job_add")
    ok = client.post(url, {"kind": "selfcheck", "queue_override": "", "params_json": '{"steps": 4}'})
    assert ok.status_code == 302
    job = Job.objects.get()
    assert job.params["steps"] == 4 and job.launched_by == staff_user
    for bad in ['{"steps": "x"}', "{not json", '{"nope": 1}']:
        resp = client.post(url, {"kind": "selfcheck", "queue_override": "", "params_json": bad},
                           follow=True)
        assert resp.status_code == 200
        assert Job.objects.count() == 1
        text = resp.content.decode()
        assert "not valid JSON" in text or "Job not created" in text


def test_cancel_and_retry_actions(client, staff_user):
    client.force_login(staff_user)
    running = create_job("selfcheck", {"steps": 3})
    claim_job(running.pk, "w")
    finished = create_job("selfcheck", {"steps": 1, "step_seconds": 0})
    execute_job(finished.pk, "w")
    url = reverse("admin:jobs_job_changelist")
    resp = client.post(url, {"action": "cancel_selected", "_selected_action": [running.pk, finished.pk]},
                       follow=True)
    assert resp.status_code == 200
    assert Job.objects.get(pk=running.pk).cancel_requested is True
    assert Job.objects.get(pk=finished.pk).status == JobStatus.SUCCEEDED  # refused, unchanged
    assert "already finished" in resp.content.decode()
    Job.objects.filter(pk=running.pk).update(status=JobStatus.CANCELLED)
    client.post(url, {"action": "retry_selected", "_selected_action": [running.pk]})
    assert Job.objects.get(pk=running.pk).status == JobStatus.QUEUED


def test_non_staff_cannot_use_admin_actions(client, plain_user):
    job = create_job("selfcheck", {"steps": 3})
    client.force_login(plain_user)
    resp = client.post(reverse("admin:jobs_job_changelist"),
                       {"action": "cancel_selected", "_selected_action": [job.pk]})
    assert resp.status_code == 302 and "/admin/login/" in resp["Location"]
    assert Job.objects.get(pk=job.pk).status == JobStatus.QUEUED


def test_progress_endpoint(client, staff_user, plain_user):
    job = create_job("selfcheck", {"steps": 4})
    url = reverse("jobs:job-progress")
    assert client.get(url, {"ids": job.pk}).status_code == 403  # anonymous
    client.force_login(plain_user)
    resp = client.get(url, {"ids": job.pk})
    assert resp.status_code == 403 and resp.json() == {"error": "staff login required"}
    client.force_login(staff_user)
    data = client.get(url, {"ids": f"{job.pk},999999"}).json()
    assert data["jobs"] == [{"id": job.pk, "status": "queued", "progress": 0.0, "step": 0,
                             "total": 0, "message": "", "attempts": 0, "duration_s": None,
                             "finished": False}]
    bad = client.get(url, {"ids": "1,drop table"})
    assert bad.status_code == 400 and "comma-separated" in bad.json()["error"]
    assert client.get(url, {"ids": ",".join(str(i) for i in range(300))}).status_code == 400
    assert client.post(url, {"ids": job.pk}).status_code == 405
