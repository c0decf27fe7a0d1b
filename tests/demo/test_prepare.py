"""What `make demo` prints: every link leads to a page that exists (the jobs admin moved apps)."""
import pytest

from demo.prepare import demo_links
from studies.services import build_rating_study, open_study
from tests.studies.conftest import make_world


@pytest.mark.django_db
def test_every_demo_link_opens(client, staff_user, media_root):
    study = build_rating_study("Demo: rating", make_world()["checkpoints"])
    open_study(study)
    links = dict(demo_links())
    assert links["Jobs"] == "/admin/jobs/job/"
    assert links["Rater link: Demo: rating"] == f"/s/{study.public_key}/"
    client.force_login(staff_user)
    for label, path in links.items():
        assert client.get(path).status_code == 200, (label, path)
