"""Staff endpoints check model permissions, not only is_staff: a staff account without the permissions
(one made to manage users, say) is refused the staff media, Table 1, Try it, the staff API, the
studies' results, exports and build pages, and the dataset import pages; given the permissions, it
is let in. Over HTTP with a logged-in session, as a browser or script would call them."""
import pytest
from django.contrib.auth.models import Permission

from gan.models import Dataset
from studies.services import build_rating_study

from tests.studies.conftest import make_world

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(media_root):
    return make_world()


@pytest.fixture
def study(world):
    return build_rating_study("perm", world["checkpoints"], target_votes=5, catch_trials=0, require_full_playback=False)


@pytest.fixture
def bare_staff(django_user_model, client):
    user = django_user_model.objects.create_user("helpdesk", "h@example.org", "helpdesk-pass-123", is_staff=True)
    client.force_login(user)
    return user


def endpoints(world, study):
    image = world["images"][0].image.name
    dataset = world["dataset"]
    return [  # (url, the permissions that let it in)
        (f"/gan/media/{image}", ["gan.view_generatedimage"]),
        (f"/gan/datasets/{dataset.pk}/table1/", ["gan.view_dataset", "gan.view_pair"]),
        ("/gan/try/", ["gan.add_trysound"]),
        ("/api/gan/evaluations/", ["gan.view_evaluation"]),
        (f"/api/gan/datasets/{dataset.pk}/", ["gan.view_dataset"]),
        (f"/api/gan/datasets/{dataset.pk}/imports/", ["gan.view_dataset", "gan.view_importrecord"]),
        ("/api/studies/", ["studies.view_study"]),
        (f"/api/studies/{study.pk}/results/", ["studies.view_study", "studies.view_response"]),
        (f"/api/studies/{study.pk}/responses.csv/", ["studies.view_study", "studies.view_response",
                                                     "studies.view_participant"]),
        (f"/admin/studies/study/{study.pk}/results/", ["studies.view_study", "studies.view_response"]),
        (f"/admin/studies/study/{study.pk}/responses.csv", ["studies.view_study", "studies.view_response",
                                                            "studies.view_participant"]),
        ("/admin/studies/study/build/", ["studies.add_study", "studies.change_study"]),
        ("/admin/gan/dataset/import-videos/", ["gan.add_dataset"]),
        (f"/admin/gan/dataset/{dataset.pk}/split/", ["gan.change_dataset"]),
        ("/admin/gan/classmap/class-names/", ["gan.view_classmap"]),
    ]


def grant(user, perms):
    for perm in perms:
        app, codename = perm.split(".")
        user.user_permissions.add(Permission.objects.get(content_type__app_label=app, codename=codename))


def test_staff_without_the_permissions_is_refused_and_with_them_let_in(client, bare_staff, world, study,
                                                                       django_user_model):
    for url, perms in endpoints(world, study):
        assert client.get(url).status_code == 403, url
    for url, perms in endpoints(world, study):
        user = django_user_model.objects.create_user(f"u{abs(hash(url))}", "u@example.org", "x-pass-123456",
                                                     is_staff=True)
        grant(user, perms)
        client.force_login(user)
        assert client.get(url).status_code == 200, url
        if len(perms) > 1:  # each permission is needed: without the last one, refused again
            user.user_permissions.remove(Permission.objects.get(codename=perms[-1].split(".")[1],
                                                                content_type__app_label=perms[-1].split(".")[0]))
            user = django_user_model.objects.get(pk=user.pk)  # permissions are cached per user object
            client.force_login(user)
            assert client.get(url).status_code == 403, url
    assert Dataset.objects.count() == 1
