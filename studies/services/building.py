"""Building studies from generation outputs (GeneratedImage rows) and opening / closing them.

Rating study (paper Table 5): test sounds x chosen conditions (checkpoints); the sounds are those
every chosen checkpoint generated from, the same number per class. Correlation study (Table 6): each
test sound with its own image and one generated from a sound of another class, the other class
rotating so every class is the "negative" equally often. Sides are chosen at assignment time.

Catch trials: rating - an obviously broken image (a generated image of the same sound cut into
small blocks and shuffled) with a real sound; correlation - a real photo of the sound's class
against a real photo of another class. Practice trials (not counted): a real sound with its real
photo (rating) or the same kind of pair as a catch trial (correlation).

Catch and practice media must not give themselves away: every image a study serves has the same
pixel size (the main images' size; photos are resized to it), the same mode and format (RGB PNG
without metadata), and the scrambled catch image keeps a generated image's colours and texture,
so its file size is like theirs; sounds go through the same WAV copy as the main trials' sounds.
"""
from __future__ import annotations

import io
import random
import secrets
from collections import defaultdict
from collections.abc import Sequence

import numpy as np
import soundfile
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import transaction
from django.utils import timezone
from PIL import Image, ImageCms, ImageOps

from gan.ml.media import open_image
from gan.models import Checkpoint, GeneratedImage, Pair, PairStatus, Split

from ..errors import BuildError, NoRealPhotos
from ..models import Condition, Stimulus, Study, StudyKind, StudyState, Trial, TrialRole

SCRAMBLE_BLOCK = 4  # pixels: small enough that no object survives, large enough to keep texture


_SRGB = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB"))


def bare_srgb(source: Image.Image) -> Image.Image:
    """The picture as a viewer sees it, as plain sRGB pixels in a new image with no metadata at all.

    Real photos carry ICC profiles, EXIF and text chunks; generated images carry none, and Pillow
    keeps a profile through convert() and save(). A rater's script could then tell practice and
    catch trials (photos) from main ones by metadata alone. So every stimulus, whatever its role:
    EXIF orientation applied, colours converted from its ICC profile to sRGB (a profile Pillow
    cannot read is taken as sRGB, as browsers do), and the pixels copied into a fresh image.
    """
    image = ImageOps.exif_transpose(source)
    profile = image.info.get("icc_profile")
    if image.mode not in ("RGB", "CMYK", "L"):
        image = image.convert("RGB")  # palette, alpha, 16-bit: to RGB first (drops alpha, as before)
    if profile:
        try:
            image = ImageCms.profileToProfile(image, ImageCms.ImageCmsProfile(io.BytesIO(profile)), _SRGB,
                                              outputMode="RGB")
        except (ImageCms.PyCMSError, OSError, ValueError):
            pass  # an unreadable profile: keep the pixels as they are; the copy below drops the profile anyway
    rgb = image.convert("RGB")
    return Image.frombytes("RGB", rgb.size, rgb.tobytes())


class MediaCopier:
    """Copies a study's media to opaque, metadata-free files under studies/<study key>/.

    Sounds are decoded and written as 16-bit WAV (every browser plays it, and no tag survives);
    images are re-encoded as PNG without text chunks. One copy per source file per study.
    """

    def __init__(self, study: Study, image_size: tuple[int, int] | None = None):
        self.folder = f"studies/{study.public_key}"
        self.copies: dict[str, tuple[str, float]] = {}
        self._pixels: dict[str, Image.Image] = {}  # decoded once, though a scrambled catch reuses a main image
        self.image_size = image_size  # every served image is resized to this (None: as it is)

    def _save(self, data: bytes, suffix: str) -> str:
        return default_storage.save(f"{self.folder}/{secrets.token_hex(8)}{suffix}", ContentFile(data))

    def sound(self, relative_path: str) -> tuple[str, float]:
        """(copy path, duration in seconds)."""
        if relative_path not in self.copies:
            try:
                samples, rate = soundfile.read(default_storage.path(relative_path), always_2d=False)
            except (RuntimeError, OSError, soundfile.LibsndfileError) as error:
                raise BuildError(f"cannot read the sound {relative_path!r}: {error}") from error
            if len(samples) == 0:
                raise BuildError(f"the sound {relative_path!r} is empty")
            buffer = io.BytesIO()
            soundfile.write(buffer, samples, rate, format="WAV", subtype="PCM_16")
            self.copies[relative_path] = (self._save(buffer.getvalue(), ".wav"), len(samples) / rate)
        return self.copies[relative_path]

    def pixels(self, relative_path: str) -> Image.Image:
        """The image as served: sRGB pixels and nothing else (no alpha: main images have none), at the
        study's size. See bare_srgb: catch, practice and main images must not differ by metadata.
        Opened with gan's open_image: the same pixel cap as every image the platform decodes."""
        if relative_path in self._pixels:
            return self._pixels[relative_path].copy()
        try:
            with open_image(default_storage.path(relative_path)) as source:
                pixels = bare_srgb(source)
        except (OSError, ValueError) as error:  # MediaError is a ValueError
            raise BuildError(f"cannot read the image {relative_path!r}: {error}") from error
        if self.image_size and pixels.size != self.image_size:
            pixels = pixels.resize(self.image_size, Image.Resampling.LANCZOS)
        self._pixels[relative_path] = pixels
        return pixels.copy()

    def save_png(self, pixels: Image.Image, name: str | None = None) -> str:
        buffer = io.BytesIO()
        pixels.save(buffer, format="PNG")  # no pnginfo: nothing but pixels
        if name:
            return default_storage.save(f"{self.folder}/{name}", ContentFile(buffer.getvalue()))
        return self._save(buffer.getvalue(), ".png")

    def image(self, relative_path: str) -> str:
        if relative_path not in self.copies:
            self.copies[relative_path] = (self.save_png(self.pixels(relative_path)), 0.0)
        return self.copies[relative_path][0]


def condition_label(checkpoint: Checkpoint) -> str:
    run = checkpoint.run
    return f"{run.variant} · {run.name or f'run {run.pk}'} @ {checkpoint.step}"


def _preferred_image(images: list[GeneratedImage], volume: float | None, seed: int | None) -> GeneratedImage:
    """Among one checkpoint's images of one sound: the requested volume/seed, else volume nearest 1."""
    if volume is not None:
        images = [i for i in images if abs(i.volume - volume) < 1e-9] or images
    if seed is not None:
        images = [i for i in images if i.seed == seed] or images
    return min(images, key=lambda i: (abs(i.volume - 1.0), i.seed, i.pk))


def _images_by_sound(checkpoint: Checkpoint, volume, seed) -> dict[str, GeneratedImage]:
    grouped: dict[str, list[GeneratedImage]] = defaultdict(list)
    rows = GeneratedImage.objects.filter(checkpoint=checkpoint).select_related("source_pair")
    for image in rows:
        if image.source_pair is not None and image.source_pair.split != Split.TEST:
            continue  # the study uses held-out test sounds only
        grouped[image.sound.name].append(image)
    return {sound: _preferred_image(images, volume, seed) for sound, images in grouped.items()}


def _balanced_sounds(sound_labels: dict[str, str], sounds_per_class: int | None, rng: random.Random) -> list[str]:
    by_class: dict[str, list[str]] = defaultdict(list)
    for sound, label in sorted(sound_labels.items()):
        by_class[label].append(sound)
    if not by_class:
        raise BuildError("no test sounds to build from: the chosen checkpoints generated no images in common "
                         "(from test-split sounds)")
    per_class = min(len(sounds) for sounds in by_class.values())
    if sounds_per_class is not None:
        if sounds_per_class < 1:
            raise BuildError(f"sounds_per_class must be at least 1, got {sounds_per_class}")
        per_class = min(per_class, sounds_per_class)
    chosen = []
    for label in sorted(by_class):
        chosen.extend(sorted(rng.sample(by_class[label], per_class)))
    return chosen


def _real_pairs(checkpoint: Checkpoint, labels: Sequence[str]) -> dict[str, list[Pair]]:
    pairs = Pair.objects.filter(dataset=checkpoint.run.dataset, label__in=list(labels)).exclude(
        status=PairStatus.DISCARDED).order_by("split", "id")  # "test" sorts after "train": prefer test below
    by_label: dict[str, list[Pair]] = defaultdict(list)
    for pair in pairs:
        by_label[pair.label].append(pair)
    for label, rows in by_label.items():
        rows.sort(key=lambda p: (p.split != Split.TEST, p.pk))
    return by_label


def study_image_size(paths: Sequence[str]) -> tuple[int, int]:
    """The size every image of a study is served at: the largest of its main images (so no main
    image loses pixels, and a condition cannot be told by its image size either)."""
    sizes = []
    for path in paths:
        try:
            with open_image(default_storage.path(path)) as image:  # the header only: nothing is decoded
                sizes.append(image.size)
        except (OSError, ValueError) as error:
            raise BuildError(f"cannot read the image {path!r}: {error}") from error
    return max(sizes, key=lambda size: (size[0] * size[1], size)) if sizes else (32, 32)


def _scrambled_image(copier: MediaCopier, source: str, index: int, rng: random.Random) -> str:
    """An obviously broken picture that looks like the others to a script: a generated image cut
    into SCRAMBLE_BLOCK-pixel blocks, shuffled and some flipped (same size, colours and texture)."""
    pixels = np.asarray(copier.pixels(source)).copy()
    height, width = pixels.shape[:2]
    block = SCRAMBLE_BLOCK if min(height, width) >= 4 * SCRAMBLE_BLOCK else 1
    rows, cols = height // block, width // block
    tiles = [pixels[r * block:(r + 1) * block, c * block:(c + 1) * block].copy() for r in range(rows)
             for c in range(cols)]
    order = list(range(len(tiles)))
    rng.shuffle(order)
    for k, source_index in enumerate(order):
        tile = tiles[source_index]
        if rng.random() < 0.5:
            tile = tile[::-1]
        r, c = divmod(k, cols)
        pixels[r * block:(r + 1) * block, c * block:(c + 1) * block] = tile
    return copier.save_png(Image.fromarray(pixels), f"catch-{index}-{secrets.token_hex(4)}.png")


def _new_study(name, kind, *, target_votes, trials_per_participant, require_full_playback, title, instructions,
               created_by, params) -> Study:
    if not name or not str(name).strip():
        raise BuildError("a study needs a name")
    if target_votes < 1:
        raise BuildError(f"target_votes must be at least 1, got {target_votes}")
    if trials_per_participant is not None and trials_per_participant < 1:
        raise BuildError(f"trials_per_participant must be at least 1 or None, got {trials_per_participant}")
    return Study.objects.create(
        name=name, kind=kind, target_votes_per_item=target_votes, trials_per_participant=trials_per_participant,
        require_full_playback=require_full_playback, title=title or "Listening study", instructions=instructions,
        created_by=created_by, build_params=params)


def _stimulus(study, copier: MediaCopier, *, sound, label, image, generated=None, other_image="", other_label="",
              other_generated=None, real_pair=None, other_real_pair=None, provenance=None) -> Stimulus:
    served_sound, duration = copier.sound(sound)
    return Stimulus.objects.create(
        study=study, sound=served_sound, sound_duration_s=duration, sound_label=label, image=copier.image(image),
        other_image=copier.image(other_image) if other_image else "", source_sound=sound, source_image=image,
        source_other_image=other_image, generated_image=generated, other_label=other_label,
        other_generated_image=other_generated, real_pair=real_pair, other_real_pair=other_real_pair,
        provenance=provenance or {})


def _checked(checkpoints: Sequence[Checkpoint], labels, least: int) -> tuple[list, list]:
    checkpoints = list(checkpoints)
    if len(checkpoints) < least:
        raise BuildError(f"choose at least {least} checkpoint{'s' if least > 1 else ''} for this study")
    if len({c.pk for c in checkpoints}) != len(checkpoints):
        raise BuildError("a checkpoint was chosen twice")
    labels = list(labels) if labels else [condition_label(c) for c in checkpoints]
    if len(labels) != len(checkpoints) or len(set(labels)) != len(labels):
        raise BuildError("condition_labels must give one distinct label per checkpoint")
    return checkpoints, labels


def _common_sounds(checkpoints, volume, seed, sounds_per_class, rng, *, need_photo: bool):
    per_checkpoint = [_images_by_sound(c, volume, seed) for c in checkpoints]
    common = set.intersection(*(set(images) for images in per_checkpoint))
    if need_photo:  # a real photo of the same sound: the generated image's own test pair
        common = {s for s in common if per_checkpoint[0][s].source_pair is not None
                  and per_checkpoint[0][s].source_pair.image}
    labels = {s: per_checkpoint[0][s].sound_label for s in common}
    return per_checkpoint, _balanced_sounds(labels, sounds_per_class, rng), labels


@transaction.atomic
def build_rating_study(name: str, checkpoints: Sequence[Checkpoint], *, sounds_per_class: int | None = None,
                       target_votes: int = 10, trials_per_participant: int | None = None, catch_trials: int = 2,
                       practice_trials: int = 1, volume: float | None = None, seed: int | None = None,
                       condition_labels: Sequence[str] | None = None, require_full_playback: bool = True,
                       title: str = "", instructions: str = "", created_by=None, rng_seed: int = 0) -> Study:
    """A draft rating study: test sounds x `checkpoints` (Table 5 rows in the given order)."""
    if not checkpoints:
        raise BuildError("choose at least one checkpoint (condition) for a rating study")
    checkpoints, labels = _checked(checkpoints, condition_labels, 1)
    rng = random.Random(rng_seed)
    per_checkpoint, sounds, sound_labels = _common_sounds(checkpoints, volume, seed, sounds_per_class, rng,
                                                          need_photo=False)
    params = {"checkpoints": [c.pk for c in checkpoints], "sounds_per_class": sounds_per_class, "volume": volume,
              "seed": seed, "catch_trials": catch_trials, "practice_trials": practice_trials, "rng_seed": rng_seed}
    study = _new_study(name, StudyKind.RATING, target_votes=target_votes,
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
    classes = sorted({sound_labels[s] for s in sounds})
    for k in range(catch_trials):
        sound = sounds[(k * len(sounds)) // catch_trials]  # spread over the classes (sounds are class-sorted)
        scrambled = _scrambled_image(copier, per_checkpoint[0][sound].image.name, k, rng)
        stimulus = _stimulus(study, copier, sound=sound, label=sound_labels[sound], image=scrambled,
                             provenance={"catch": "a generated image of this sound, cut into blocks and shuffled"})
        Trial.objects.create(study=study, stimulus=stimulus, role=TrialRole.CATCH, catch_expectation="low_rating",
                             position=position)
        position += 1
    real = _real_pairs(checkpoints[0], classes)
    for k in range(practice_trials):
        label = classes[k % len(classes)]
        if real.get(label):
            pair = real[label][k // len(classes) % len(real[label])]
            stimulus = _stimulus(study, copier, sound=pair.sound.name, label=label, image=pair.image.name, real_pair=pair,
                                 provenance={"practice": "real sound with its real photo"})
        else:  # no real photos in the dataset: practise on a generated image of the first condition
            sound = [s for s in sounds if sound_labels[s] == label][0]
            generated = per_checkpoint[0][sound]
            stimulus = _stimulus(study, copier, sound=sound, label=label, image=generated.image.name, generated=generated,
                                 provenance={"practice": "generated image", "image": generated.provenance})
        Trial.objects.create(study=study, stimulus=stimulus, role=TrialRole.PRACTICE, position=position)
        position += 1
    return study


def _photo_pair_stimulus(study, copier, real, classes, k, kind) -> Stimulus:
    """A real photo of the sound's class against a real photo of another class."""
    label = classes[k % len(classes)]
    other = classes[(k + 1 + k // len(classes)) % len(classes)]
    if other == label:
        other = classes[(classes.index(label) + 1) % len(classes)]
    if not real.get(label) or not real.get(other):
        raise NoRealPhotos(f"{kind} trials need real photos of classes {label!r} and {other!r} in the checkpoint's "
                         f"dataset; pass {kind}_trials=0 to build without them")
    pair = real[label][k // len(classes) % len(real[label])]
    other_pair = real[other][k % len(real[other])]
    return _stimulus(study, copier, sound=pair.sound.name, label=label, image=pair.image.name, real_pair=pair,
                     other_image=other_pair.image.name, other_label=other, other_real_pair=other_pair,
                     provenance={kind: "real photo of the sound's class vs a real photo of another class"})


@transaction.atomic
def build_correlation_study(name: str, checkpoint: Checkpoint, *, sounds_per_class: int | None = None,
                            target_votes: int = 10, trials_per_participant: int | None = None,
                            catch_trials: int = 2, practice_trials: int = 1, volume: float | None = None,
                            seed: int | None = None, require_full_playback: bool = True, title: str = "",
                            instructions: str = "", created_by=None, rng_seed: int = 0) -> Study:
    """A draft correlation study: each test sound's own image vs one from a sound of another class."""
    rng = random.Random(rng_seed)
    images = _images_by_sound(checkpoint, volume, seed)
    sound_labels = {s: img.sound_label for s, img in images.items()}
    sounds = _balanced_sounds(sound_labels, sounds_per_class, rng)
    classes = sorted({sound_labels[s] for s in sounds})
    if len(classes) < 2:
        raise BuildError(f"a correlation study needs sounds of at least two classes; found {classes}")
    params = {"checkpoint": checkpoint.pk, "sounds_per_class": sounds_per_class, "volume": volume, "seed": seed,
              "catch_trials": catch_trials, "practice_trials": practice_trials, "rng_seed": rng_seed}
    study = _new_study(name, StudyKind.CORRELATION, target_votes=target_votes,
                       trials_per_participant=trials_per_participant, require_full_playback=require_full_playback,
                       title=title, instructions=instructions, created_by=created_by, params=params)
    copier = MediaCopier(study, study_image_size([images[s].image.name for s in sounds]))
    condition = Condition.objects.create(study=study, checkpoint=checkpoint, label=condition_label(checkpoint))
    # Negatives may come from any image of the other class, chosen least-used first.
    pool: dict[str, list[GeneratedImage]] = defaultdict(list)
    for image in sorted(images.values(), key=lambda i: i.sound.name):
        pool[image.sound_label].append(image)
    used: dict[int, int] = defaultdict(int)
    position = 0
    seen_in_class: dict[str, int] = defaultdict(int)
    for sound in sounds:
        label = sound_labels[sound]
        others = [c for c in classes if c != label]
        other = others[(classes.index(label) + seen_in_class[label]) % len(others)]
        seen_in_class[label] += 1
        negative = min(pool[other], key=lambda i: (used[i.pk], i.sound.name))
        used[negative.pk] += 1
        positive = images[sound]
        stimulus = _stimulus(study, copier, sound=sound, label=label, image=positive.image.name, generated=positive,
                             other_image=negative.image.name, other_label=other, other_generated=negative,
                             provenance={"positive": positive.provenance, "negative": negative.provenance})
        Trial.objects.create(study=study, stimulus=stimulus, condition=condition, position=position)
        position += 1
    real = _real_pairs(checkpoint, classes) if catch_trials or practice_trials else {}
    for k in range(catch_trials):
        Trial.objects.create(study=study, stimulus=_photo_pair_stimulus(study, copier, real, classes, k, "catch"),
                             role=TrialRole.CATCH, catch_expectation="positive", position=position)
        position += 1
    for k in range(practice_trials):
        Trial.objects.create(study=study, stimulus=_photo_pair_stimulus(study, copier, real, classes, k + 1, "practice"),
                             role=TrialRole.PRACTICE, position=position)
        position += 1
    return study


def open_study(study: Study) -> Study:
    if not study.trials.filter(role=TrialRole.MAIN).exists():
        raise BuildError(f"study {study.name!r} has no main trials to open with")
    Study.objects.filter(pk=study.pk).update(state=StudyState.OPEN, opened_at=timezone.now(), closed_at=None)
    study.refresh_from_db()
    return study


def close_study(study: Study) -> Study:
    Study.objects.filter(pk=study.pk).exclude(state=StudyState.CLOSED).update(state=StudyState.CLOSED,
                                                                               closed_at=timezone.now())
    study.refresh_from_db()
    return study
