"""A tiny real-file dataset for tests: tones (one pitch per class) paired with coloured shapes."""
import csv
from pathlib import Path

import numpy as np
import soundfile as sf
from PIL import Image, ImageDraw

CLASSES = {"low": 220.0, "mid": 660.0, "high": 1760.0}
SR = 16000


def write_tone_dataset(folder: Path, per_class: int = 6, test_per_class: int = 2, seed: int = 0,
                       val_per_class: int = 0, heldout_per_class: int = 0) -> Path:
    """Sine tones (train, val, test) and, as a held-out source, square waves of the same pitches."""
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    rows = []
    parts = (["train"] * per_class + ["test"] * test_per_class + ["val"] * val_per_class
             + ["heldout"] * heldout_per_class)
    for ci, (label, freq) in enumerate(CLASSES.items()):
        for i, split in enumerate(parts):
            t = np.arange(int(SR * 0.5)) / SR
            wave = 0.3 * np.sin(2 * np.pi * freq * (1 + 0.02 * rng.standard_normal()) * t)
            if split == "heldout":
                wave = 0.3 * np.sign(wave)
            wave += 0.01 * rng.standard_normal(t.shape)
            sound = f"{label}_{i}.wav"
            sf.write(folder / sound, wave.astype(np.float32), SR)
            image = Image.new("RGB", (32, 32), (255, 255, 255))
            colour = [(200, 30, 30), (30, 160, 30), (30, 30, 200)][ci]
            ImageDraw.Draw(image).ellipse([4 + i % 3, 4, 26, 26 - i % 3], fill=colour)
            image.save(folder / f"{label}_{i}.png")
            rows.append({"sound": sound, "image": f"{label}_{i}.png", "label": label,
                         "split": split, "group": f"{label}-{i}"})
    with open(folder / "manifest.csv", "w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return folder
