"""Import a folder (or a .zip/.tar archive) of videos into a dataset: frames + FLAC sound per video."""
from pathlib import Path

from django.core.management.base import BaseCommand

from gan.services.ingest import launch_video_import
from jobs.commands import add_run_options, run


class Command(BaseCommand):
    help = "Import videos: N frames at evenly spaced offsets (64x64) and the sound track of each; bad files are recorded."

    def add_arguments(self, parser):
        parser.add_argument("dataset", help="dataset name (created if new; imported videos are skipped)")
        parser.add_argument("source", help="folder of videos, or a .zip / .tar.gz archive of them")
        parser.add_argument("--frames", type=int, default=4, help="frames per video (the authors: 4)")
        parser.add_argument("--frame-size", type=int, default=64)
        parser.add_argument("--segment-seconds", type=float, default=0.0, help="split long sound tracks (e.g. 30)")
        parser.add_argument("--no-folder-labels", action="store_true", help="do not label videos by their folder")
        add_run_options(parser)

    def handle(self, *args, dataset, source, frames, frame_size, segment_seconds, no_folder_labels, **options):
        where = {"folder": str(Path(source).resolve())} if Path(source).is_dir() else {"archive": str(Path(source).resolve())}
        run(self, launch_video_import, options, dataset=dataset, n_frames=frames, frame_size=frame_size,
            segment_seconds=segment_seconds, label_from_folder=not no_folder_labels, **where)
