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


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_prepare_demo_trains_the_instrument_and_digit_models_and_opens_both_studies(media_root):
    from demo.prepare import DEMO_MODELS, prepare_demo
    from gan.models import Checkpoint, Dataset, GeneratedImage, TrainingRun
    from studies.models import Study

    result = prepare_demo(quick=True)
    assert set(Dataset.objects.values_list("name", flat=True)) == {"instruments", "digits"}
    instruments = Dataset.objects.get(name="instruments")
    assert set(instruments.pairs.values_list("split", flat=True)) == {"train", "val", "test", "heldout"}
    assert set(result["checkpoints"]) == {m.name for m in DEMO_MODELS}
    g = result["checkpoints"]["demo-instruments-g"]
    assert g.run.variant == "g" and g.run.feature_spec["kind"] == "soundnet" and g.run.dataset == instruments
    assert GeneratedImage.objects.filter(checkpoint=g, volume=3.0).exists()
    h = result["checkpoints"]["demo-instruments-h"]
    assert h.run.variant == "h-cbn" and GeneratedImage.objects.filter(checkpoint=h).exists()
    rating = Study.objects.get(name__startswith="Demo: rating")
    assert _datasets_of(rating) == {"instruments"}
    assert {s.generated_image.checkpoint.run.variant for s in rating.stimuli.filter(generated_image__isnull=False)} \
        == {"g", "h-cbn"}                          # the paper's model against the recipe bench's winner
    correlation = Study.objects.get(name__startswith="Demo: correlation")
    assert _datasets_of(correlation) == {"digits"}
    runs = TrainingRun.objects.count()
    prepare_demo(quick=True)                       # idempotent: reuses everything
    assert TrainingRun.objects.count() == runs and Checkpoint.objects.filter(is_final=True).count() == 3


def _datasets_of(study) -> set:
    return {s.generated_image.checkpoint.run.dataset.name
            for s in study.stimuli.filter(generated_image__isnull=False).select_related("generated_image__checkpoint__run__dataset")}
