"""The 'instruments' demo dataset: the paper's task (a sound -> a picture of what makes it) on
sounds anyone can make. Melodies, chords and drum patterns are written here and rendered with
FluidSynth (pyfluidsynth, in process) from General MIDI sample sets packaged by Debian; each clip is
then put in a random room, equalised, mixed with noise and set to a random level. Images are Tux
Paint's real photographs of each instrument composited on generated backgrounds.

Classes are the instruments with both General MIDI sounds and a photo: drum, guitar, violin, cello,
trumpet, bassoon. The paper's piano is left out: no Debian package has a photograph of a piano
(GCompris' instrument pictures are drawings).

Splits (gan.models.Split): sample sets are training sources (FluidR3_GM and the csound GM bank by
default) or the held-out one (MuseScore_General). Melodies are numbered per class and each number
belongs to one part: 'train' and 'val' (model selection) are training-set renderings of their own
melodies; 'test' renders the test melodies with the training sets (in-domain) and 'heldout' renders
the same test melodies with the held-out set, a sample set never heard in training. Test and held-out
images use photos no training image uses wherever a class has two or more.

Never used here, because our evaluation uses them: the TimGM6mb and freepats sample sets, and real
recordings of instruments. A sample set of those names is refused.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile

from .manifest import MANIFEST_NAME, BuildResult, ProgressCallback, report_progress, staged_output, write_manifest
from .photos import augment_image, cutout
from .sound_augment import augment_sound

RATE = 22050
PHOTO_DIR = Path("/usr/share/tuxpaint/stamps/hobbies/music")
# Debian packages: fluid-soundfont-gm, musescore-general-soundfont-small, csound-soundfont. Paths are
# named explicitly: the 'default-GM' alternative may point at a held-out set on another machine.
SAMPLE_SETS = {
    "FluidR3_GM": ("/usr/share/sounds/sf2/FluidR3_GM.sf2",),
    "MuseScore_General": ("/usr/share/sounds/sf3/MuseScore_General.sf3",
                          "/usr/share/sounds/sf3/MuseScore_General_Lite.sf3",
                          "/usr/share/sounds/sf2/MuseScore_General.sf2"),
    "csound_GMbank": ("/usr/share/sounds/sf2/sf_GMbank.sf2", "/usr/share/samples/sf_GMbank.sf2"),
}
HELD_OUT_FOR_EVALUATION = ("timgm6mb", "freepats")   # never trained, tuned or selected on
TRAIN_SETS = ("FluidR3_GM", "csound_GMbank")
HELDOUT_SET = "MuseScore_General"


@dataclass(frozen=True)
class Instrument:
    name: str
    programs: tuple[int, ...]      # General MIDI programs (0-based); () = the percussion channel
    low: int                       # MIDI pitch range of its melodies
    high: int
    style: str                     # 'melody' | 'strum' | 'drums'
    photos: tuple[str, ...]        # Tux Paint stamps under PHOTO_DIR, first ones for training
    imagenet: tuple[str, ...]      # the ImageNet classes a classifier may call it


INSTRUMENTS = (
    Instrument("drum", (), 35, 59, "drums", ("percussion/drumkit", "percussion/drum_tomtom_floor"), ("drum",)),
    Instrument("guitar", (24, 25, 26, 27, 29), 40, 76, "strum",
               ("string/guitar_classical", "string/guitar_electric", "string/guitar2"),
               ("acoustic guitar", "electric guitar")),
    Instrument("violin", (40,), 55, 91, "melody", ("string/violin",), ("violin",)),
    Instrument("cello", (42,), 36, 67, "melody", ("string/cello",), ("cello",)),
    Instrument("trumpet", (56,), 54, 82, "melody", ("brass/trumpet",), ("cornet",)),
    Instrument("bassoon", (70,), 34, 65, "melody", ("wind/bassoon",), ("bassoon",)),
)
CLASS_MAP = {i.name: list(i.imagenet) for i in INSTRUMENTS}   # dataset class -> ImageNet classes
# Two-colour gradient backgrounds (random colours), the instrument filling 80-95% of the frame, tilted
# up to 10 degrees, flipped, colour-jittered, placed anywhere. Busier scenes and smaller objects were
# tried first: a GAN on 2 CPU cores then spent its whole budget on backgrounds (32x32, 3000
# iterations: class consistency at chance level for rows d-g; see docs/results/).
IMAGE_JITTER = {"fill": (0.8, 0.95), "max_rotation": 10.0, "scenes": False}
DRUM_NOTES = {"kick": (35, 36), "snare": (38, 40), "hat": (42, 44, 46), "tom": (41, 43, 45, 47, 48, 50),
              "cymbal": (49, 51, 57)}
SCALES = ((0, 2, 4, 5, 7, 9, 11), (0, 2, 3, 5, 7, 8, 10), (0, 2, 4, 7, 9))   # major, minor, pentatonic


def instrument(name: str) -> Instrument:
    return next(i for i in INSTRUMENTS if i.name == name)


def photo_pools(inst: Instrument) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(training photos, test photos): the last photo is kept for testing when there are two or more."""
    if len(inst.photos) >= 2:
        return inst.photos[:-1], inst.photos[-1:]
    return inst.photos, inst.photos


# --- sounds ---------------------------------------------------------------------------------------------


def compose(inst: Instrument, rng: np.random.Generator, seconds: float) -> list[tuple[float, float, int, int]]:
    """Note events (onset s, duration s, MIDI pitch, velocity) filling about `seconds`: a drum pattern,
    or a melody in a random scale, register, tempo and rhythm (strummed chords for the guitar)."""
    beat = 60.0 / float(rng.uniform(70, 170))
    events, t = [], 0.0
    if inst.style == "drums":
        pattern = []
        for _ in range(int(rng.integers(4, 9))):
            hits = [int(rng.choice(DRUM_NOTES["hat"]))] if rng.random() < 0.6 else []
            part = rng.choice(["kick", "snare", "tom", "cymbal"], p=[0.35, 0.3, 0.2, 0.15])
            hits.append(int(rng.choice(DRUM_NOTES[str(part)])))
            pattern.append(hits)
        step = beat * float(rng.choice([0.25, 0.5, 0.5, 1.0]))
        i = 0
        while t < seconds:
            events += [(t, step, pitch, int(rng.integers(60, 127))) for pitch in pattern[i % len(pattern)]]
            t, i = t + step, i + 1
        return events
    root = int(rng.integers(inst.low, inst.high - 7))
    scale = SCALES[int(rng.integers(len(SCALES)))]
    degree = 0
    while t < seconds:
        length = beat * float(rng.choice([0.25, 0.5, 0.5, 1.0, 1.0, 1.5, 2.0]))
        degree = max(-4, min(degree + int(rng.choice([-3, -2, -1, -1, 0, 1, 1, 2, 3])), 10))
        octave, index = divmod(degree, len(scale))
        pitch = min(max(root + 12 * octave + scale[index], inst.low), inst.high)
        velocity = int(rng.integers(50, 120))
        if inst.style == "strum" and rng.random() < 0.6:     # a strummed chord, strings 12 ms apart
            third = 4 if rng.random() < 0.5 else 3
            for k, interval in enumerate((0, third, 7, 12)[: int(rng.integers(3, 5))]):
                events.append((t + 0.012 * k, length, min(pitch + interval, 100), velocity))
        else:
            events.append((t, length * float(rng.uniform(0.6, 1.0)), pitch, velocity))
        t += length
    return events


def sample_set_path(name: str) -> str:
    """The file of a named sample set; refuses the sets our evaluation keeps for itself."""
    if any(banned in name.lower() for banned in HELD_OUT_FOR_EVALUATION):
        raise ValueError(f"sample set {name!r} is reserved for evaluation and must not be used to build data")
    if name not in SAMPLE_SETS:
        raise ValueError(f"unknown sample set {name!r}; known: {', '.join(SAMPLE_SETS)}")
    path = next((p for p in SAMPLE_SETS[name] if Path(p).is_file()), None)
    if path is None:
        raise FileNotFoundError(f"sample set {name} not found at {' or '.join(SAMPLE_SETS[name])} (Debian: "
                                "apt-get install fluid-soundfont-gm musescore-general-soundfont-small "
                                "csound-soundfont)")
    return path


class Renderer:
    """One FluidSynth instance per sample set, loaded once (an .sf3 takes seconds to load)."""

    def __init__(self, sample_set: str):
        try:
            import fluidsynth
        except (ImportError, OSError) as exc:   # pyfluidsynth needs Debian's libfluidsynth3
            raise RuntimeError(f"pyfluidsynth cannot load libfluidsynth ({exc}); Debian: apt-get install "
                               "fluidsynth") from exc
        path = sample_set_path(sample_set)
        self.synth = fluidsynth.Synth(samplerate=float(RATE), gain=0.4)
        self.sfid = self.synth.sfload(path)
        if self.sfid < 0:
            raise RuntimeError(f"FluidSynth could not load the sample set {path}")

    def render(self, inst: Instrument, program: int, events: list[tuple], seconds: float) -> np.ndarray:
        """Mono float32 at RATE, `seconds` long: the events played with `program` (or the drum kit)."""
        synth, drums = self.synth, inst.style == "drums"
        channel = 9 if drums else 0
        synth.program_select(channel, self.sfid, 128 if drums else 0, 0 if drums else program)
        timeline = sorted([(on, 1, pitch, vel) for on, _, pitch, vel in events]
                          + [(on + dur, 0, pitch, 0) for on, dur, pitch, _ in events])
        chunks, now = [], 0
        for when, is_on, pitch, velocity in timeline:
            sample = int(when * RATE)
            if sample > now:
                chunks.append(synth.get_samples(sample - now))
                now = sample
            if is_on:
                synth.noteon(channel, pitch, velocity)
            else:
                synth.noteoff(channel, pitch)
        end = int(seconds * RATE)
        if end > now:
            chunks.append(synth.get_samples(end - now))
        for ch in (0, 9):
            synth.cc(ch, 123, 0)       # all notes off
            synth.cc(ch, 120, 0)       # all sound off: the next clip starts from silence
        synth.get_samples(RATE // 10)
        stereo = np.concatenate(chunks).astype(np.float32).reshape(-1, 2)
        return stereo.mean(axis=1)[:end] / 32768.0


def render_clip(renderer: Renderer, inst: Instrument, melody: int, seed: int, set_index: int,
                augment: bool = True) -> tuple[np.ndarray, dict]:
    """One clip: the melody depends on (seed, class, melody) only, so every sample set plays the same
    notes; the augmentation also depends on the sample set."""
    class_index = INSTRUMENTS.index(inst)
    rng = np.random.default_rng([seed, class_index, melody])
    seconds = float(rng.uniform(1.0, 4.0))
    program = int(rng.choice(inst.programs)) if inst.programs else 0
    wave = renderer.render(inst, program, compose(inst, rng, seconds), seconds)
    if float(np.max(np.abs(wave))) < 1e-4:
        raise RuntimeError(f"{inst.name} melody {melody} rendered silent (program {program})")
    if augment:
        wave = augment_sound(wave, RATE, np.random.default_rng([seed, class_index, melody, set_index, 1]))
    return wave, {"program": program, "seconds": round(seconds, 3)}


# --- the dataset --------------------------------------------------------------------------------------


def build_instruments(out_dir: str | os.PathLike, seed: int = 0, n_train: int = 60, n_val: int = 10,
                      n_test: int = 20, train_sets: tuple[str, ...] = TRAIN_SETS, heldout_set: str = HELDOUT_SET,
                      image_size: int = 64, overwrite: bool = False,
                      progress: ProgressCallback | None = None) -> BuildResult:
    """Melodies per class: `n_train` + `n_val` + `n_test`, each rendered with every training set; the
    test melodies also with `heldout_set`. Pairs: (n_train + n_val + n_test) x len(train_sets) x 6
    + n_test x 6."""
    for name, value, low in (("n_train", n_train, 2), ("n_val", n_val, 1), ("n_test", n_test, 1),
                             ("image_size", image_size, 16)):
        if not isinstance(value, int) or value < low:
            raise ValueError(f"{name} must be an integer >= {low}, got {value!r}")
    if not train_sets:
        raise ValueError("give at least one training sample set")
    if heldout_set in train_sets:
        raise ValueError(f"the held-out sample set {heldout_set!r} cannot also be a training set")
    for name in (*train_sets, heldout_set):
        sample_set_path(name)                  # refuse missing or reserved sets before any work
    photos = {stamp: cutout(PHOTO_DIR / f"{stamp}.png") for inst in INSTRUMENTS for stamp in inst.photos}
    parts = [("train", range(0, n_train)), ("val", range(n_train, n_train + n_val)),
             ("test", range(n_train + n_val, n_train + n_val + n_test))]
    jobs = [(split, set_name, inst, melody) for set_name in train_sets for split, melodies in parts
            for inst in INSTRUMENTS for melody in melodies]
    jobs += [("heldout", heldout_set, inst, melody) for inst in INSTRUMENTS for melody in parts[2][1]]
    rows: list[dict] = []
    with staged_output(out_dir, overwrite) as staging:
        report_progress(progress, 0, len(jobs))
        renderers: dict[str, Renderer] = {}
        set_order = (*train_sets, heldout_set)
        for done, (split, set_name, inst, melody) in enumerate(jobs, 1):
            renderer = renderers.get(set_name) or renderers.setdefault(set_name, Renderer(set_name))
            wave, info = render_clip(renderer, inst, melody, seed, set_order.index(set_name))
            stem = f"{set_name}/{inst.name}/m{melody:03d}"
            (staging / "sounds" / set_name / inst.name).mkdir(parents=True, exist_ok=True)
            (staging / "images" / set_name / inst.name).mkdir(parents=True, exist_ok=True)
            soundfile.write(staging / f"sounds/{stem}.wav", wave, RATE, subtype="PCM_16")
            train_photos, test_photos = photo_pools(inst)
            pool = train_photos if split in ("train", "val") else test_photos
            image_rng = np.random.default_rng([seed, INSTRUMENTS.index(inst), melody, set_order.index(set_name), 2])
            stamp = pool[int(image_rng.integers(len(pool)))]
            augment_image(photos[stamp], image_rng, image_size, plain=False, **IMAGE_JITTER).save(
                staging / f"images/{stem}.png")
            rows.append({"sound": f"sounds/{stem}.wav", "image": f"images/{stem}.png", "label": inst.name,
                         "split": split, "group": stem, "sample_set": set_name, "melody": melody,
                         "photo": stamp.rsplit("/", 1)[-1], **info})
            report_progress(progress, done, len(jobs))
        write_manifest(staging, rows)
    root = Path(out_dir)
    return BuildResult(root=root, manifest=root / MANIFEST_NAME, rows=rows)
