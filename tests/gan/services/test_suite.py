"""Planning and launching the experiment suite (gan/services/suite.py): which cells a request trains
(a table row x a seed, g/<feature> shared by Tables 2 and 4), the preset's settings and their
overrides, and every refusal made before a job is stored. The job: tests/gan/kinds/test_suite.py."""
import pytest

from gan.services.suite import SuiteError, SuiteParams, build_plan, launch_suite, plan_settings
from jobs.models import Job
from tests.gan.suite_settings import TINY
from tests.gan.trained_fixtures import tones  # noqa: F401 (fixture)

pytestmark = pytest.mark.django_db


def test_the_plan_trains_each_row_once_per_seed_and_shares_g_between_the_tables(tones):
    plan = build_plan(SuiteParams(dataset_id=tones.pk, **{**TINY, "seeds": [3, 1]}), tones)
    assert [(c["key"], c["seed"], c["tables"]) for c in plan["cells"]] == [
        ("g/mfcc", 3, ["2", "4"]), ("g/mfcc", 1, ["2", "4"]), ("g/fbank", 3, ["2"]), ("g/fbank", 1, ["2"]),
        ("f/mfcc", 3, ["4"]), ("f/mfcc", 1, ["4"])]
    assert plan["model"] == {"g_width": 8, "d_width": 8, "z_dim": 4, "image_size": 32}   # the preset's size kept
    assert plan["train"]["iterations"] == 4 and plan["children"] == "inline" and plan["torch_threads"] == 1
    assert plan["splits"] == ["test"] and plan["validation"] == {}   # no held-out source, no model selection
    assert "no held-out source" in plan["notes"][-1]
    assert set(plan) - set(plan_settings(plan)) == {"cells"}   # the job's metrics keep the rest


def test_table_2_can_compare_the_features_with_another_model_sharing_its_cell_with_table_4(tones):
    plan = build_plan(SuiteParams(dataset_id=tones.pk, **{**TINY, "seeds": [0], "table2_variant": "h-cbn",
                                                          "variants": ["g", "h-cbn"]}), tones)
    assert [(c["key"], c["tables"]) for c in plan["cells"]] == [
        ("h-cbn/mfcc", ["2", "4"]), ("h-cbn/fbank", ["2"]), ("g/mfcc", ["4"])]
    assert plan["table2_variant"] == "h-cbn"
    with pytest.raises(ValueError, match="table2_variant must be one of"):
        SuiteParams(dataset_id=tones.pk, table2_variant="z")
    tones.channels = 1   # h-cbn's projected D needs RGB, asked for through Table 2 as well
    with pytest.raises(SuiteError, match="rows h-cbn judge images"):
        build_plan(SuiteParams(dataset_id=tones.pk, **{**TINY, "table2_variant": "h-cbn", "variants": ["g"]}), tones)


def test_bad_params_are_refused_as_suite_errors_before_a_job_exists(tones):
    for options, phrase in [({"seeds": [0, 0]}, "seeds must be distinct"), ({"parallel": 65}, "parallel must be"),
                            ({"children": "forked"}, "children must be one of"),
                            ({"steal_after_s": -1}, "steal_after_s must be >= 0"),
                            ({"metrics": ["accuracy"]}, "unknown metrics"), ({"colour": "red"}, "colour")]:
        with pytest.raises(SuiteError, match=phrase):
            launch_suite(tones, enqueue=False, **{**TINY, **options})
    tones.channels = 1   # as a grayscale dataset: row h judges images with an ImageNet network
    with pytest.raises(SuiteError, match=r"rows h judge images .* need RGB images; dataset 'tones' is grayscale"):
        build_plan(SuiteParams(dataset_id=tones.pk, **{**TINY, "variants": ["g", "h", "h-proj"]}), tones)
    assert not Job.objects.exists()


def test_bad_suite_requests_store_nothing(tones, settings, tmp_path):
    with pytest.raises(SuiteError, match="preset"):
        launch_suite(tones, preset="huge")
    with pytest.raises(SuiteError, match="unknown variants"):
        launch_suite(tones, variants=["z"])
    with pytest.raises(SuiteError, match="6 test sounds, fewer than the 10"):
        launch_suite(tones, **{**TINY, "splits": 10})
    with pytest.raises(SuiteError, match="invalid settings: ModelConfig.g_width"):
        launch_suite(tones, **{**TINY, "model": {"g_width": 0}})
    with pytest.raises(SuiteError, match="invalid settings: unknown pooling"):
        launch_suite(tones, **{**TINY, "feature_options": {"pooling": "max"}})
    with pytest.raises(SuiteError, match="match none"):
        launch_suite(tones, **{**TINY, "classifier": "efficientnet-lite0"})
    settings.WEIGHTS_DIR = tmp_path / "nothing"
    with pytest.raises(SuiteError, match="sound8.npy"):
        launch_suite(tones, **{**TINY, "table4_feature": "soundnet"})
    with pytest.raises(SuiteError, match="weights-inception"):
        launch_suite(tones, **{**TINY, "classifier": "inception-v3"})
    assert not Job.objects.exists()


def test_missing_soundnet_weights_fall_back_in_the_quick_preset_only(tones, settings, tmp_path):
    settings.WEIGHTS_DIR = tmp_path / "nothing"
    plan = build_plan(SuiteParams(dataset_id=tones.pk, splits=3), tones)
    assert plan["table4_feature"] == "mfcc" and "soundnet" not in plan["features"]
    assert "SoundNet weights missing" in plan["notes"][0]
    assert len(plan["cells"]) == 3 + 5  # g with 3 features, b-f with mfcc (g/mfcc shared)
    with pytest.raises(SuiteError, match="SoundNet weights are missing"):
        build_plan(SuiteParams(dataset_id=tones.pk, preset="paper", splits=3), tones)
    with pytest.raises(SuiteError, match="Table 2 asks for SoundNet"):
        build_plan(SuiteParams(dataset_id=tones.pk, features=["soundnet"], splits=3), tones)


def test_an_iterations_override_replaces_the_gpu_presets_epochs(tones):
    # 'paper' is the GPU preset's former name; without a validation split, selection is switched off
    plan = build_plan(SuiteParams(dataset_id=tones.pk, preset="paper", table4_feature="mfcc", features=["mfcc"],
                                  variants=["g"], splits=3,
                                  train={"iterations": 5, "validate_every": 0, "patience": 0}), tones)
    assert plan["preset"] == "gpu" and plan["seeds"] == [0, 1, 2]
    assert plan["train"]["iterations"] == 5 and "epochs" not in plan["train"]
    assert plan["model"]["g_width"] == 200 and plan["children"] == "dispatch"
    with pytest.raises(SuiteError, match="model selection: .* val pairs of 0 class"):
        build_plan(SuiteParams(dataset_id=tones.pk, preset="cpu", splits=3), tones)
