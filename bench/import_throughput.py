"""Benchmark: video import throughput against the ffmpeg command line doing the same extraction.

Test videos are made here with ffmpeg from Tux Paint photos and recordings (H.264 + AAC, default
640x360 at 30 fps, 10 s each). On the same files, in one run, alternating repeats, best of each:

  * ffmpeg CLI: one `ffmpeg` process per video with 4 input-seeked copies of the file (one frame
    each, centre-cropped and scaled to 64x64 PNG) and the sound track as mono FLAC at its own rate;
  * our extraction: gan.ml.media.extract (PyAV: seek + decode 4 frames, crop/resize, decode audio)
    plus writing the 4 PNGs and the FLAC, exactly what the import job does per video;
  * the import job: the `import_videos` job end to end (the above plus the database rows), on a
    scratch SQLite database and media folder.

Prints videos/s, audio seconds per wall second (x real time), the ratio to ffmpeg, and where our
time goes (cProfile of the extraction pass).

Usage: .venv/bin/python bench/import_throughput.py [--videos 12] [--seconds 10] [--size 640x360] [--repeats 3]
"""
import argparse
import cProfile
import os
import pstats
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

STAMPS = ["animals/mammals/dogs/dog", "animals/mammals/dogs/fox", "hobbies/music/string/violin",
          "hobbies/music/string/cello", "animals/birds/hen", "animals/birds/blackbird",
          "hobbies/music/percussion/drumkit", "animals/birds/crow"]


def make_videos(folder: Path, count: int, seconds: float, size: tuple[int, int]) -> list[Path]:
    from tests.gan.media_fixtures import make_video

    return [make_video(folder / f"v{i:03d}.mp4", STAMPS[i % len(STAMPS)], STAMPS[i % len(STAMPS)],
                       seconds=seconds, size=size, fps=30) for i in range(count)]


def ffmpeg_extract(video: Path, out: Path, times: list[float], frame_size: int) -> None:
    args = ["ffmpeg", "-v", "error", "-nostdin", "-y"]
    for t in times:
        args += ["-ss", f"{t:.3f}", "-i", str(video)]
    args += ["-i", str(video)]
    crop = f"crop='min(iw,ih)':'min(iw,ih)',scale={frame_size}:{frame_size}:flags=bicubic"
    for i in range(len(times)):
        args += ["-map", f"{i}:v:0", "-frames:v", "1", "-vf", crop, str(out / f"frame_{i}.png")]
    args += ["-map", f"{len(times)}:a:0", "-ac", "1", "-c:a", "flac", str(out / "sound.flac")]
    subprocess.run(args, check=True)


def ffmpeg_startup(rounds: int = 10) -> float:
    """Best-of time to start and exit the ffmpeg binary: its fixed cost per video."""
    best = float("inf")
    for _ in range(rounds):
        started = time.perf_counter()
        subprocess.run(["ffmpeg", "-hide_banner", "-version"], check=True, capture_output=True)
        best = min(best, time.perf_counter() - started)
    return best


def ours_extract(video: Path, out: Path, n_frames: int, frame_size: int) -> None:
    from PIL import Image

    from gan.ml.media import extract, write_lossless

    media = extract(video, n_frames=n_frames, frame_size=frame_size)
    write_lossless(out / "sound.flac", media.audio, media.sample_rate)
    for i, frame in enumerate(media.frames):
        Image.fromarray(frame).save(out / f"frame_{i}.png")


def run_pass(videos, work: Path, fn) -> float:
    started = time.perf_counter()
    for video in videos:
        out = work / video.stem
        out.mkdir(parents=True, exist_ok=True)
        fn(video, out)
    elapsed = time.perf_counter() - started
    shutil.rmtree(work, ignore_errors=True)
    return elapsed


def import_job_pass(folder: Path, var: Path, index: int) -> tuple[float, dict]:
    """The import job end to end, in a child process with its own scratch database and media folder."""
    env = dict(os.environ, VAR_DIR=str(var), DATABASE_URL=f"sqlite:///{var}/bench{index}.sqlite3",
               MEDIA_ROOT=str(var / f"media{index}"), DJANGO_SETTINGS_MODULE="evalsite.settings")
    code = (
        "import django, json, time; django.setup()\n"
        "from django.core.management import call_command; call_command('migrate', verbosity=0)\n"
        "from jobs.engine import create_job, execute_job\n"
        f"job = create_job('import_videos', {{'dataset': 'bench', 'folder': {str(folder)!r}}}, enqueue=False)\n"
        "t = time.perf_counter(); execute_job(job.pk, 'bench'); t = time.perf_counter() - t\n"
        "job.refresh_from_db(); print(json.dumps({'seconds': t, 'status': job.status, 'metrics': job.metrics}))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], cwd=REPO, env=env, capture_output=True, text=True, check=True)
    import json

    data = json.loads(result.stdout.strip().splitlines()[-1])
    if data["status"] != "succeeded":
        raise SystemExit(f"import job {data['status']}: {data}")
    return data["seconds"], data["metrics"]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--videos", type=int, default=12)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--size", default="640x360")
    parser.add_argument("--frames", type=int, default=4)
    parser.add_argument("--frame-size", type=int, default=64)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    size = tuple(int(x) for x in args.size.lower().split("x"))

    import django

    with tempfile.TemporaryDirectory(prefix="import-bench-") as tmp:
        tmp = Path(tmp)
        os.environ.update(VAR_DIR=str(tmp / "var"), DJANGO_SETTINGS_MODULE="evalsite.settings")
        django.setup()
        from gan.ml.media import extract, frame_offsets

        print(f"making {args.videos} videos ({args.size}, 30 fps, {args.seconds:.0f} s, H.264 + AAC) ...", flush=True)
        videos = make_videos(tmp / "videos", args.videos, args.seconds, size)
        probe = extract(videos[0], n_frames=args.frames, frame_size=args.frame_size)
        audio_seconds = sum(extract(v, n_frames=1, frame_size=8).audio_seconds for v in videos)
        times = {v: [t for t in frame_offsets(probe.duration, args.frames)] for v in videos}

        ffmpeg_runs, ours_runs, job_runs, metrics = [], [], [], {}
        ours_extract(videos[0], tmp, args.frames, args.frame_size)  # warm imports (PyAV, PIL, soundfile)
        for repeat in range(args.repeats):  # alternate, so background load hits both alike
            ffmpeg_runs.append(run_pass(videos, tmp / "out_ffmpeg",
                                        lambda v, o: ffmpeg_extract(v, o, times[v], args.frame_size)))
            ours_runs.append(run_pass(videos, tmp / "out_ours",
                                      lambda v, o: ours_extract(v, o, args.frames, args.frame_size)))
            seconds, metrics = import_job_pass(tmp / "videos", tmp / "var", repeat)
            job_runs.append(seconds)

        profiler = cProfile.Profile()
        profiler.enable()
        run_pass(videos, tmp / "out_prof", lambda v, o: ours_extract(v, o, args.frames, args.frame_size))
        profiler.disable()

    n = len(videos)
    best = {"ffmpeg CLI (1 process/video)": min(ffmpeg_runs), "ours: extract + write files": min(ours_runs),
            "ours: import job (+ database)": min(job_runs)}
    print(f"\n{n} videos, {audio_seconds:.0f} s of audio, {args.frames} frames each at {args.frame_size}px; "
          f"best of {args.repeats}\n")
    print(f"{'':34}{'seconds':>9}{'videos/s':>10}{'audio x RT':>12}{'vs ffmpeg':>11}")
    for name, seconds in best.items():
        ratio = best["ffmpeg CLI (1 process/video)"] / seconds
        print(f"{name:34}{seconds:9.2f}{n / seconds:10.2f}{audio_seconds / seconds:12.1f}{ratio:10.2f}x")
    startup = ffmpeg_startup()
    print(f"\nffmpeg process start-up alone (`ffmpeg -version`): {startup * 1000:.0f} ms, i.e. "
          f"{100 * startup * n / best['ffmpeg CLI (1 process/video)']:.0f}% of the ffmpeg CLI's time")
    print(f"import job metrics: {metrics}")
    print("\nwhere our extraction's time goes (cProfile, cumulative seconds over all videos):")
    stats = pstats.Stats(profiler)
    wanted = {"_open": "open + probe container", "_decode_frames": "seek + decode frames",
              "square_resize": "  crop + resize (PIL)",
              "_decode_audio": "decode + downmix audio", "write_lossless": "write FLAC", "save": "write PNGs"}
    total = sum(v[3] for k, v in stats.stats.items() if k[2] == "run_pass")
    for (filename, line, func), (cc, nc, tt, ct, callers) in sorted(stats.stats.items(), key=lambda kv: -kv[1][3]):
        if func in wanted and (func != "save" or "PIL" in filename):
            print(f"  {wanted.pop(func):28}{ct:7.2f} s  ({100 * ct / total:4.1f}%)")
    print(f"  {'total':28}{total:7.2f} s")


if __name__ == "__main__":
    main()
