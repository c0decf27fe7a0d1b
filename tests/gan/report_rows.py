"""Database rows of a finished small suite (no training: the rows only), for report and API tests: the
suite's cells, figures and scores as gan/kinds/suite.py and gan/kinds/generate.py write them."""
from gan.models import Checkpoint, Dataset, Evaluation, Figure, Pair, SuiteCell, SuiteUpperBound, TrainingRun
from jobs.models import Job, JobStatus

CLASSES = ["cat", "dog", "=cmd"]  # a class name a spreadsheet would run as a formula


def make_suite_rows():
    dataset = Dataset.objects.create(name="pets", source="test", root="datasets/pets", class_names=CLASSES,
                                     image_size=32, channels=3)
    for i, label in enumerate(CLASSES * 4):
        Pair.objects.create(dataset=dataset, sound=f"s{i}.wav", image=f"i{i}.png", label=label,
                            split="test" if i >= 9 else "train", status="discarded" if i == 0 else "kept")
    cells, evaluate_jobs = [], {}
    scores = {"g/fbank": (2.1, 0.3, 0.5), "g/mfcc": (1.5, 0.2, 0.4), "f/mfcc": (1.2, 0.1, 0.25)}
    for key, (is_mean, is_std, consistency) in scores.items():
        variant, feature = key.split("/")
        run = TrainingRun.objects.create(dataset=dataset, variant=variant, feature_spec={"kind": feature})
        checkpoint = Checkpoint.objects.create(run=run, step=300, path=f"runs/{run.pk}/ckpt.pt", is_final=True)
        generate = Job.objects.create(kind="generate", status=JobStatus.SUCCEEDED, metrics={"outputs": {
            f"ckpt{checkpoint.pk}_class_grid": f"generated/{key}/grid.png",
            f"ckpt{checkpoint.pk}_volume_table": f"generated/{key}/volumes.png"}})
        for kind, name in (("class_grid", "grid"), ("volume_table", "volumes")):
            Figure.objects.create(checkpoint=checkpoint, kind=kind, path=f"generated/{key}/{name}.png", job=generate)
        evaluate = Job.objects.create(kind="evaluate", status=JobStatus.SUCCEEDED)
        common = dict(dataset=dataset, source="generated", checkpoint=checkpoint, split="test", volume=1.0,
                      seed=0, n_images=20, job=evaluate, classifier="domain-cnn (pets)")
        Evaluation.objects.create(**common, metric="inception_score", order="paper", splits=10, value=is_mean,
                                  std=is_std, per_split=[is_mean] * 10)
        Evaluation.objects.create(**common, metric="class_consistency", value=consistency, per_class={
            "cat": {"share": consistency, "n": 8}, "dog": {"share": consistency, "n": 8},
            "=cmd": {"share": consistency, "n": 4}})
        tables = (["2"] if variant == "g" else []) + (["4"] if feature == "mfcc" else [])
        cells.append(dict(variant=variant, feature=feature, seed=0, in_table2="2" in tables, in_table4="4" in tables,
                          status="completed", run=run, checkpoint=checkpoint, generate_job=generate,
                          evaluate_job=evaluate))
        evaluate_jobs[key] = evaluate
    real_job = Job.objects.create(kind="evaluate", status=JobStatus.SUCCEEDED)
    Evaluation.objects.create(dataset=dataset, source="real", split="test", n_images=3, job=real_job,
                              classifier="domain-cnn (pets)", metric="inception_score", order="paper",
                              splits=3, value=2.9, std=0.05)
    Evaluation.objects.create(dataset=dataset, source="real", split="test", n_images=3, job=real_job,
                              classifier="domain-cnn (pets)", metric="class_consistency", value=1.0,
                              per_class={c: {"share": 1.0, "n": 1} for c in CLASSES})
    plan = {"preset": "quick", "table4_feature": "mfcc", "notes": ["SoundNet weights missing: Table 4 uses mfcc"],
            "children": "inline"}
    suite = Job.objects.create(kind="suite", queue="cpu", status=JobStatus.SUCCEEDED,
                               params={"dataset_id": dataset.pk, "preset": "quick"}, metrics={"plan": plan},
                               step=10, total=10, progress=1.0)
    for position, cell in enumerate(cells):
        SuiteCell.objects.create(suite=suite, position=position, **cell)
    SuiteUpperBound.objects.create(suite=suite, evaluate_job=real_job)
    return dataset, suite
