"""Building the study kinds beyond the paper: realism (real or fake?) and pairwise (which of two models?).

Realism: for each test sound every chosen checkpoint's image of it (a fake, under that model's
condition) and the dataset's own photo of it (a real, no condition), one image per trial. Every image
goes through the same copy as the others (studies.services.building.MediaCopier: plain sRGB pixels,
resized to the study's one size, PNG without metadata), so nothing but the pixels tells a real photo
from a generated one; the sound is the one the image belongs to, for both. The design keeps a rater
from seeing the real photo and a fake of the same sound where the counts allow (each sound once).
Catch trials (mixed in): a generated image cut into blocks (plainly fake). Qualification trials
(shown first, not counted in the table): known items, real photos of the training split and
scrambled images in turn; raters who get fewer right than the study's min_catch_accuracy (together
with the catch trials) are screened out of the table.

Pairwise: for each test sound and each pair of chosen checkpoints, one trial with both images;
sides are balanced at assignment time as in the correlation study, and the design balances the
pairs. Catch: an image against its scrambled copy (the unbroken one fits better); practice the same.

An optional stopping rule (studies.planning.StoppingRule) is kept in the read-only build parameters,
so it is fixed before the study opens.
"""
from __future__ import annotations

import random
from collections.abc import Sequence
from itertools import combinations

from django.db import transaction

from gan.models import Checkpoint, Split

from ..errors import BuildError
from ..models import Condition, StudyKind, Trial, TrialRole
from ..planning import StoppingRule
from ..records import StatsInputError
from .building import (MediaCopier, _checked, _common_sounds, _new_study, _real_pairs, _scrambled_image, _stimulus,
                       study_image_size)


def _stopping(stopping: dict | None) -> dict | None:
    try:
        rule = StoppingRule.from_params(stopping)
    except StatsInputError as error:
        raise BuildError(str(error)) from error
    return rule.to_dict() if rule else None


@transaction.atomic
def build_realism_study(name: str, checkpoints: Sequence[Checkpoint], *, sounds_per_class: int | None = None,
                        target_votes: int = 10, trials_per_participant: int | None = None, catch_trials: int = 2,
                        qualification_trials: int = 0, volume: float | None = None, seed: int | None = None,
                        condition_labels: Sequence[str] | None = None, require_full_playback: bool = True,
                        title: str = "", instructions: str = "", created_by=None, rng_seed: int = 0,
                        stopping: dict | None = None):
    """A draft realism study: each test sound's real photo and each checkpoint's image of it."""
    checkpoints, labels = _checked(checkpoints, condition_labels, 1)
    if catch_trials < 0 or qualification_trials < 0:
        raise BuildError("catch_trials and qualification_trials cannot be negative")
    rng = random.Random(rng_seed)
    per_checkpoint, sounds, sound_labels = _common_sounds(checkpoints, volume, seed, sounds_per_class, rng,
                                                          need_photo=True)
    params = {"checkpoints": [c.pk for c in checkpoints], "sounds_per_class": sounds_per_class, "volume": volume,
              "seed": seed, "catch_trials": catch_trials, "qualification_trials": qualification_trials,
              "rng_seed": rng_seed, "stopping": _stopping(stopping)}
    study = _new_study(name, StudyKind.REALISM, target_votes=target_votes,
                       trials_per_participant=trials_per_participant, require_full_playback=require_full_playback,
                       title=title, instructions=instructions, created_by=created_by, params=params)
    copier = MediaCopier(study, study_image_size([images[s].image.name for images in per_checkpoint for s in sounds]))
    conditions = [Condition.objects.create(study=study, checkpoint=c, label=label, position=k)
                  for k, (c, label) in enumerate(zip(checkpoints, labels))]
    position = 0
    for sound in sounds:
        for condition, images in zip(conditions, per_checkpoint):
            generated = images[sound]
            stimulus = _stimulus(study, copier, sound=sound, label=generated.sound_label, image=generated.image.name,
                                 generated=generated, provenance={"image": generated.provenance})
            Trial.objects.create(study=study, stimulus=stimulus, condition=condition, position=position)
            position += 1
        pair = per_checkpoint[0][sound].source_pair
        stimulus = _stimulus(study, copier, sound=sound, label=sound_labels[sound], image=pair.image.name,
                             real_pair=pair, provenance={"real": "the dataset's photo of this test sound"})
        Trial.objects.create(study=study, stimulus=stimulus, condition=None, position=position)
        position += 1
    for k in range(catch_trials):
        sound = sounds[(k * len(sounds)) // catch_trials]
        scrambled = _scrambled_image(copier, per_checkpoint[k % len(conditions)][sound].image.name, k, rng)
        stimulus = _stimulus(study, copier, sound=sound, label=sound_labels[sound], image=scrambled,
                             provenance={"catch": "a generated image of this sound, cut into blocks and shuffled"})
        Trial.objects.create(study=study, stimulus=stimulus, role=TrialRole.CATCH, catch_expectation="fake",
                             position=position)
        position += 1
    classes = sorted({sound_labels[s] for s in sounds})
    real = _real_pairs(checkpoints[0], classes)
    trained = [p for label in classes for p in real.get(label, []) if p.split == Split.TRAIN]
    for k in range(qualification_trials):
        if k % 2 == 0 and trained:  # a real photo the test trials never show
            pair = trained[(k // 2) % len(trained)]
            stimulus = _stimulus(study, copier, sound=pair.sound.name, label=pair.label, image=pair.image.name,
                                 real_pair=pair, provenance={"qualification": "a real photo of the training split"})
            expectation = "real"
        else:
            sound = sounds[(k * 7) % len(sounds)]
            scrambled = _scrambled_image(copier, per_checkpoint[0][sound].image.name, catch_trials + k, rng)
            stimulus = _stimulus(study, copier, sound=sound, label=sound_labels[sound], image=scrambled,
                                 provenance={"qualification": "a generated image cut into blocks and shuffled"})
            expectation = "fake"
        Trial.objects.create(study=study, stimulus=stimulus, role=TrialRole.PRACTICE, catch_expectation=expectation,
                             position=position)
        position += 1
    return study


@transaction.atomic
def build_pairwise_study(name: str, checkpoints: Sequence[Checkpoint], *, sounds_per_class: int | None = None,
                         target_votes: int = 10, trials_per_participant: int | None = None, catch_trials: int = 2,
                         practice_trials: int = 1, volume: float | None = None, seed: int | None = None,
                         condition_labels: Sequence[str] | None = None, require_full_playback: bool = True,
                         title: str = "", instructions: str = "", created_by=None, rng_seed: int = 0,
                         stopping: dict | None = None):
    """A draft pairwise study: each test sound with the images of every pair of `checkpoints`."""
    checkpoints, labels = _checked(checkpoints, condition_labels, 2)
    if catch_trials < 0 or practice_trials < 0:
        raise BuildError("catch_trials and practice_trials cannot be negative")
    rng = random.Random(rng_seed)
    per_checkpoint, sounds, sound_labels = _common_sounds(checkpoints, volume, seed, sounds_per_class, rng,
                                                          need_photo=False)
    params = {"checkpoints": [c.pk for c in checkpoints], "sounds_per_class": sounds_per_class, "volume": volume,
              "seed": seed, "catch_trials": catch_trials, "practice_trials": practice_trials, "rng_seed": rng_seed,
              "stopping": _stopping(stopping)}
    study = _new_study(name, StudyKind.PAIRWISE, target_votes=target_votes,
                       trials_per_participant=trials_per_participant, require_full_playback=require_full_playback,
                       title=title, instructions=instructions, created_by=created_by, params=params)
    copier = MediaCopier(study, study_image_size([images[s].image.name for images in per_checkpoint for s in sounds]))
    conditions = [Condition.objects.create(study=study, checkpoint=c, label=label, position=k)
                  for k, (c, label) in enumerate(zip(checkpoints, labels))]
    position = 0
    for sound in sounds:
        for a, b in combinations(range(len(conditions)), 2):
            first, second = per_checkpoint[a][sound], per_checkpoint[b][sound]
            stimulus = _stimulus(study, copier, sound=sound, label=first.sound_label, image=first.image.name,
                                 generated=first, other_image=second.image.name, other_label=second.sound_label,
                                 other_generated=second,
                                 provenance={"image": first.provenance, "other_image": second.provenance})
            Trial.objects.create(study=study, stimulus=stimulus, condition=conditions[a],
                                 other_condition=conditions[b], position=position)
            position += 1
    for k in range(catch_trials + practice_trials):
        sound = sounds[(k * len(sounds)) // max(1, catch_trials + practice_trials)]
        image = per_checkpoint[k % len(conditions)][sound]
        scrambled = _scrambled_image(copier, image.image.name, k, rng)
        role = TrialRole.CATCH if k < catch_trials else TrialRole.PRACTICE
        stimulus = _stimulus(study, copier, sound=sound, label=sound_labels[sound], image=image.image.name,
                             generated=image, other_image=scrambled, other_label=sound_labels[sound],
                             provenance={role: "a generated image against its copy cut into blocks and shuffled"})
        Trial.objects.create(study=study, stimulus=stimulus, role=role,
                             catch_expectation="positive" if role == TrialRole.CATCH else "", position=position)
        position += 1
    return study
