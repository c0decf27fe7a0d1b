"""Does it generalise? Class consistency of generated images on in-domain test sounds and on sounds
from a source never heard in training, each beside the linear-probe ceiling of the same feature on the
same split (the baseline, measured in the same run): a generator cannot map sounds to the right class
more often than their features allow, so the ratio says how much of what the sounds carry the GAN
turns into the right picture.

    source /path/to/env.sh   # DATABASE_URL, MEDIA_ROOT ... of the results database
    .venv/bin/python bench/generalisation.py instruments --preset cpu --seeds 0,1,2 --imagenet
    .venv/bin/python bench/generalisation.py digits --preset cpu --feature-options '{"pooling": "segments"}'
    .venv/bin/python bench/generalisation.py digits --preset cpu --features mfcc --by-family

With --by-family (digits), class consistency per voice family of each split (in-domain families on
'test'; the held-out espeak family and festival's human-recorded ked on 'heldout'), judged by the
dataset's domain classifier, mean over seeds [95% t-interval] beside the pooled count [95% Wilson].

1. Leave-one-source-out, probe only (cheap, our own held-out splits): for the instruments, each General
   MIDI sample set in turn is held out (a probe trained on the others' clips scores its clips); for
   the digits, each espeak-ng voice family in turn.
2. The suite's Table 2 (variant g with every feature, --seeds) on the dataset's own split: in-domain
   'test' and held-out-source 'heldout', with the probe ceilings (gan/kinds/suite_analysis.py).
3. With --imagenet (instruments): the row g/SoundNet checkpoints judged by an ImageNet classifier
   (EfficientNet-Lite0 through the dataset's class map, closed set), against the same classifier's
   accuracy on the real held-out photos.
The Markdown tables go to --out (default docs/results/generalisation-<dataset>.md).
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "evalsite.settings")
FEATURES = ("spectrogram", "fbank", "mfcc", "soundnet")


def _percent(entry: dict | None) -> str:
    if not entry:
        return "-"
    low, high = entry["ci"]
    return f"{100 * entry['accuracy']:.1f}% [{100 * low:.1f}, {100 * high:.1f}] (n {entry['n']})"


def loso_instruments(per_set: int, feature_options: dict, seed: int) -> list[str]:
    """Probe accuracy on each sample set when trained on the others (augmented clips, 6 classes)."""
    from demo.builders.instruments import INSTRUMENTS, RATE, SAMPLE_SETS, Renderer, render_clip
    from gan.ml.features import FeatureSpec, extract_features
    from gan.ml.probe import linear_probe

    sets = [name for name in SAMPLE_SETS]
    waves, labels, sources = [], [], []
    for index, name in enumerate(sets):
        renderer = Renderer(name)
        for c, inst in enumerate(INSTRUMENTS):
            for melody in range(per_set):
                wave, _ = render_clip(renderer, inst, 1000 + melody, seed, index)
                waves.append(wave), labels.append(c), sources.append(index)
    return _loso_table("sample set", sets, waves, RATE, np.array(labels), np.array(sources), feature_options,
                       extract_features, FeatureSpec, linear_probe)


def loso_digits(voices_per_family: int, feature_options: dict, seed: int) -> list[str]:
    """Probe accuracy on each espeak-ng voice family when trained on the others."""
    import random
    import tempfile

    from demo.builders.digits import DIGIT_WORDS, ESPEAK_ACCENTS, VOICE_FAMILIES, _espeak_binary, _speak, voice_families
    from gan.ml.audio import load_audio
    from gan.ml.features import FeatureSpec, extract_features
    from gan.ml.probe import linear_probe

    binary, rng = _espeak_binary(), random.Random(seed)
    families = voice_families(binary)
    waves, labels, sources = [], [], []
    with tempfile.TemporaryDirectory() as tmp:
        for index, family in enumerate(VOICE_FAMILIES):
            for v in range(voices_per_family):
                voice = f"{rng.choice(ESPEAK_ACCENTS)}+{rng.choice(families[family])}"
                for digit, word in enumerate(DIGIT_WORDS):
                    path = Path(tmp) / f"{family}_{v}_{digit}.wav"
                    _speak(binary, voice, rng.randint(120, 250), rng.randint(15, 85), word, path,
                           [seed, index, v, digit])
                    waves.append(load_audio(path, sr=22050)[0]), labels.append(digit), sources.append(index)
    return _loso_table("voice family", list(VOICE_FAMILIES), waves, 22050, np.array(labels), np.array(sources),
                       feature_options, extract_features, FeatureSpec, linear_probe)


def soundnet_model():
    from gan.services.features import pretrained_soundnet

    return pretrained_soundnet()


def _loso_table(what, names, waves, rate, labels, sources, feature_options, extract_features, FeatureSpec,
                linear_probe) -> list[str]:
    lines = ["| feature | " + " | ".join(f"held out: {n}" for n in names) + " |", "|---" * (len(names) + 1) + "|"]
    for kind in FEATURES:
        spec = FeatureSpec.from_dict({**feature_options, "kind": kind})
        soundnet = soundnet_model() if kind == "soundnet" else None
        x = np.stack([extract_features(w, rate, spec, soundnet=soundnet) for w in waves])
        cells = []
        for index in range(len(names)):
            held = sources == index
            result = linear_probe(x[~held], labels[~held], {"held": (x[held], labels[held])})
            cells.append(_percent(result["held"]))
        lines.append(f"| {kind} | " + " | ".join(cells) + " |")
    plural = what[:-1] + "ies" if what.endswith("y") else what + "s"
    return [f"Linear probe trained on the other {plural}' clips, scored on the held-out {what} "
            "(95% Wilson interval):", ""] + lines


def run_suite(dataset, preset: str, seeds: list[int], feature_options: dict, features=FEATURES):
    from gan.services.suite import launch_suite
    from jobs.engine import execute_job

    # Table 4's row g on one of the asked features, so no run is trained that no table asked for.
    table4 = "soundnet" if "soundnet" in features else list(features)[0]
    job = launch_suite(dataset, enqueue=False, preset=preset, features=list(features), variants=["g"],
                       table4_feature=table4,
                       seeds=seeds, feature_options=feature_options,
                       metrics=["class_consistency", "fid"])
    print(f"suite job #{job.pk} on {dataset.name} (preset {preset}, seeds {seeds}) ...", flush=True)
    status = execute_job(job.pk, "bench-generalisation")
    if status != "succeeded":
        raise SystemExit(f"suite #{job.pk} {status}: {job.__class__.objects.get(pk=job.pk).error[-2000:]}")
    return job


def generalisation_table(report) -> list[str]:
    rows = report.table("2").rows
    lines = ["| feature | in-domain: class consistency | probe ceiling | ratio | held-out source: class consistency "
             "| probe ceiling | ratio | seeds |", "|---|---|---|---|---|---|---|---|"]
    for row in rows:
        cells = [row.label]
        for metric, split in (("class_consistency", "test"), ("class_consistency@heldout", "heldout")):
            score, ceiling = row.scores.get(metric), row.ceilings.get(split)
            cells.append(score.text() if score else "-")
            cells.append(_percent(ceiling))
            cells.append(f"{score.value / ceiling['accuracy']:.2f}" if score and ceiling and ceiling["accuracy"] else "-")
        cells.append(row.source())
        lines.append("| " + " | ".join(cells) + " |")
    return lines


def family_of_group(group: str) -> str:
    """The digits builder's voice family from a pair's group (its voice): festival's ked is the
    human-recorded family, Piper's joe the neural one, festival's other-language voices the accented
    one; espeak voices are accent+variant, their family read from the variant file."""
    from demo.builders.accented_voices import ACCENTED_FAMILY
    from demo.builders.digits import HUMAN_FAMILY, voice_families
    from demo.builders.neural_voice import NEURAL_FAMILY

    if group.startswith("festival-"):
        return HUMAN_FAMILY
    if group.startswith("piper-"):
        return NEURAL_FAMILY
    if group.startswith("accented-"):
        return ACCENTED_FAMILY
    variant = group.split("+", 1)[-1]
    return next((family for family, names in _FAMILIES.setdefault("espeak", voice_families()).items()
                 if variant in names), "unknown")


_FAMILIES: dict = {}


def family_breakdown(job, dataset) -> list[str]:
    """Each g checkpoint's images from test and held-out sounds, split by voice family and judged by
    the dataset's domain classifier (the same judge as the suite's class consistency)."""
    from gan.kinds.evaluate import load_classifier
    from gan.ml.probe import wilson_interval
    from gan.models import GeneratedImage, SuiteCell
    from gan.reports.tables import mean_interval
    from gan.media_paths import media_path
    from PIL import Image

    classifier, _ = load_classifier("domain", dataset, log=lambda *_: None)
    index = {name: i for i, name in enumerate(dataset.class_names)}
    by_key: dict = {}
    for cell in SuiteCell.objects.filter(suite_id=job.pk, checkpoint__isnull=False):
        checkpoint = cell.checkpoint
        rows = list(GeneratedImage.objects.filter(checkpoint=checkpoint, volume=1.0, seed=0,
                                                  source_pair__split__in=["test", "heldout"])
                    .select_related("source_pair"))
        mode = "L" if dataset.channels == 1 else "RGB"
        arrays = []
        for row in rows:
            with Image.open(media_path(row.image.name)) as im:
                array = np.asarray(im.convert(mode))
            arrays.append(array[None] if dataset.channels == 1 else array.transpose(2, 0, 1))
        predicted = classifier.predict_proba(np.stack(arrays)).argmax(axis=1)
        for row, guess in zip(rows, predicted):
            key = (cell.key, row.source_pair.split, family_of_group(row.source_pair.group))
            by_key.setdefault(key, {}).setdefault(checkpoint.pk, []).append(int(guess) == index[row.sound_label])
    lines = [f"Judge: the domain classifier of {dataset.name} (a small CNN trained on its real training images); "
             "images from volume 1, seed 0. Per seed: share right; mean over seeds [95% t-interval]; pooled over "
             "seeds [95% Wilson].", "",
             "| cell | split | voice family | class consistency, mean over seeds | pooled | n per seed | seeds | "
             "ratio to in-domain |", "|---|---|---|---|---|---|---|---|"]
    for cell_key in sorted({k[0] for k in by_key}):
        test_per_seed: dict = {}
        for k, per in by_key.items():
            if k[0] == cell_key and k[1] == "test":
                for ck, hits in per.items():
                    test_per_seed.setdefault(ck, []).extend(hits)
        test_mean = mean_interval([float(np.mean(h)) for h in test_per_seed.values()])[0] if test_per_seed else 0.0
        entries = [(("test", "all in-domain"), test_per_seed)] + [((k[1], k[2]), per) for k, per in sorted(by_key.items())
                                                                    if k[0] == cell_key]
        for (split, family), per in entries:
            shares = [float(np.mean(h)) for h in per.values()]
            mean, interval = mean_interval(shares)
            hits = [x for h in per.values() for x in h]
            low, high = wilson_interval(int(sum(hits)), len(hits))
            ci = f" [{100 * interval[0]:.1f}, {100 * interval[1]:.1f}]" if interval else ""
            ratio = f"{mean / test_mean:.2f}" if test_mean else "-"
            lines.append(f"| {cell_key} | {split} | {family} | {100 * mean:.1f}%{ci} | {100 * np.mean(hits):.1f}% "
                         f"[{100 * low:.1f}, {100 * high:.1f}] (n {len(hits)}) | {len(hits) // len(per)} | "
                         f"{len(per)} | {ratio} |")
    return lines


def imagenet_check(job, dataset) -> list[str]:
    """Row g/SoundNet judged by EfficientNet-Lite0 (closed set over the class map) on held-out sounds,
    against its accuracy on the real held-out photos."""
    from demo.builders.instruments import CLASS_MAP
    from gan.models import Evaluation, SuiteCell
    from gan.reports.tables import mean_interval
    from gan.services.scoring import launch_evaluation
    from jobs.engine import execute_job

    cells = SuiteCell.objects.filter(suite_id=job.pk, variant="g", feature="soundnet", checkpoint__isnull=False)
    options = dict(metrics=["class_consistency"], classifier="efficientnet-lite0", class_map=CLASS_MAP,
                   closed_set=True, split="heldout", enqueue=False)
    values = []
    for cell in cells:
        evaluation = launch_evaluation(checkpoint=cell.checkpoint, **options)
        execute_job(evaluation.pk, "bench-generalisation")
        values.append(Evaluation.objects.get(job_id=evaluation.pk).value)
    real_job = launch_evaluation(dataset=dataset, **options)
    execute_job(real_job.pk, "bench-generalisation")
    real = Evaluation.objects.get(job_id=real_job.pk)
    mean, interval = mean_interval(values)
    ci = f" [{100 * interval[0]:.1f}, {100 * interval[1]:.1f}]" if interval else ""
    return [f"EfficientNet-Lite0 (ImageNet), closed set over the class map {json.dumps(CLASS_MAP)}:", "",
            "| images | class consistency | n | seeds |", "|---|---|---|---|",
            f"| generated from held-out-source sounds (g/SoundNet) | {100 * mean:.1f}%{ci} | "
            f"{real.n_images} per seed | {len(values)} |",
            f"| real held-out photos (baseline) | {100 * real.value:.1f}% | {real.n_images} | - |", "",
            f"Ratio generated / real: **{mean / real.value:.2f}** (target >= 0.8)."]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("dataset", help="a dataset built by build_demo_dataset (instruments or digits)")
    parser.add_argument("--preset", default="cpu")
    parser.add_argument("--seeds", default="0,1,2")
    parser.add_argument("--feature-options", default="{}")
    parser.add_argument("--imagenet", action="store_true", help="also judge g/SoundNet with EfficientNet-Lite0")
    parser.add_argument("--features", default=",".join(FEATURES), help="comma-separated features for the suite")
    parser.add_argument("--by-family", action="store_true", help="digits: class consistency per voice family")
    parser.add_argument("--loso-size", type=int, default=20, help="clips per class (instruments) or voices per "
                                                                  "family (digits) for the leave-one-out probe")
    parser.add_argument("--skip-suite", type=int, default=0, help="report an existing suite job instead")
    parser.add_argument("--out", default="")
    args = parser.parse_args()

    import django

    django.setup()
    import torch

    from gan.models import Dataset
    from gan.reports import suite_report
    from jobs.models import Job

    torch.set_num_threads(1)
    dataset = Dataset.objects.filter(name=args.dataset).first()
    if dataset is None:
        raise SystemExit(f"no dataset {args.dataset!r}; build it: manage.py build_demo_dataset {args.dataset}")
    feature_options = json.loads(args.feature_options)
    started = time.monotonic()
    kind = "instruments" if dataset.source == "instruments" else "digits"
    loso = (loso_instruments if kind == "instruments" else loso_digits)(args.loso_size, feature_options, 0)
    print("\n".join(loso), flush=True)
    job = Job.objects.get(pk=args.skip_suite) if args.skip_suite else run_suite(
        dataset, args.preset, [int(s) for s in args.seeds.split(",")], feature_options,
        [f.strip() for f in args.features.split(",") if f.strip()])
    report = suite_report(job.pk)
    table = generalisation_table(report)
    print("\n".join(table), flush=True)
    imagenet = imagenet_check(job, dataset) if args.imagenet else []
    print("\n".join(imagenet), flush=True)
    families = family_breakdown(job, dataset) if args.by_family else []
    print("\n".join(families), flush=True)
    out = Path(args.out or REPO / "docs" / "results" / f"generalisation-{dataset.name}.md")
    out.parent.mkdir(parents=True, exist_ok=True)
    command = "bench/generalisation.py " + " ".join(sys.argv[1:])
    out.write_text("\n".join([
        f"# Does it generalise? ({dataset.name})", "",
        f"Made by `{command}` (suite job #{job.pk}, {time.monotonic() - started:.0f} s).", "",
        "## Leave one source out (linear probe)", "", *loso, "",
        "## Generated images: in-domain vs held-out source, beside the probe ceiling", "",
        "Class consistency: the dataset's domain classifier (trained on its real training images) names the class "
        "of each generated image; mean over seeds [95% t-interval across seeds]. Ceiling: a linear probe on the "
        "same features, trained on the training sounds, scored on the same split [95% Wilson].", "", *table, "",
        *(["## An ImageNet classifier's view", "", *imagenet, ""] if imagenet else []),
        *(["## By voice family (in-domain, held-out espeak family, human-recorded festival ked)", "", *families, ""]
          if families else []),
    ]) + "\n")
    print(f"written {out}")


if __name__ == "__main__":
    main()
