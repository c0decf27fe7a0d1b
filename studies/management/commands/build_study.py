"""Build a rating, correlation, realism or pairwise study from checkpoints' generated images (optionally open it).

    manage.py build_study rating --checkpoints 3,5,8 --name "Ablation" --target-votes 10 --open
    manage.py build_study correlation --checkpoints 8 --name "Sound-image fit" --open
    manage.py build_study realism --checkpoints 5,8 --qualification-trials 4 --stop-half-width 0.05 --open
    manage.py build_study pairwise --checkpoints 3,5,8 --open
    manage.py build_study demo --checkpoints 3,5,8       # both paper studies, opened, with rater links
"""
from django.core.management.base import BaseCommand, CommandError

from gan.models import Checkpoint
from studies.errors import BuildError
from studies.selectors.rater import rater_link
from studies.services import (build_correlation_study, build_demo_studies, build_pairwise_study, build_rating_study,
                              build_realism_study, open_study)


def _checkpoints(raw: str) -> list[Checkpoint]:
    try:
        ids = [int(part) for part in raw.split(",") if part.strip()]
    except ValueError:
        raise CommandError(f"--checkpoints must be comma-separated checkpoint ids, got {raw!r}") from None
    found = Checkpoint.objects.in_bulk(ids)
    missing = [i for i in ids if i not in found]
    if missing:
        raise CommandError(f"no checkpoint with id {missing}")
    return [found[i] for i in ids]


class Command(BaseCommand):
    help = ("Build a human-evaluation study (rating = Table 5, correlation = Table 6, realism = real or fake error "
            "rates, pairwise = Bradley-Terry ranking, demo = the paper's two) from generated images.")

    def add_arguments(self, parser):
        parser.add_argument("kind", choices=["rating", "correlation", "realism", "pairwise", "demo"])
        parser.add_argument("--checkpoints", required=True, help="Comma-separated checkpoint ids, Table 5 order.")
        parser.add_argument("--name", default="", help="Staff-facing name (default from the kind).")
        parser.add_argument("--sounds-per-class", type=int, default=None)
        parser.add_argument("--target-votes", type=int, default=10)
        parser.add_argument("--trials-per-participant", type=int, default=None)
        parser.add_argument("--catch-trials", type=int, default=2)
        parser.add_argument("--practice-trials", type=int, default=1)
        parser.add_argument("--qualification-trials", type=int, default=0,
                            help="Realism: known items shown first; raters who fail them are screened out.")
        parser.add_argument("--stop-half-width", type=float, default=None,
                            help="Realism / pairwise: close once every error / win-rate interval is within +- this.")
        parser.add_argument("--stop-min-raters", type=int, default=5, help="The stopping rule's fewest raters.")
        parser.add_argument("--no-full-playback", action="store_true", help="Accept answers before the sound ends.")
        parser.add_argument("--open", action="store_true", help="Open the study for raters at once.")
        parser.add_argument("--base-url", default="http://127.0.0.1:8000", help="For the printed rater link.")

    def handle(self, *args, **options):
        checkpoints = _checkpoints(options["checkpoints"])
        common = {"sounds_per_class": options["sounds_per_class"], "target_votes": options["target_votes"],
                  "trials_per_participant": options["trials_per_participant"],
                  "catch_trials": options["catch_trials"], "practice_trials": options["practice_trials"]}
        try:
            if options["kind"] == "demo":
                built = build_demo_studies(checkpoints, base_url=options["base_url"], **common)
                for kind, entry in built.items():
                    self.stdout.write(f"{kind} study #{entry['study'].pk} open: {entry['link']}")
                return
            common["require_full_playback"] = not options["no_full_playback"]
            stopping = ({"half_width": options["stop_half_width"], "min_raters": options["stop_min_raters"]}
                        if options["stop_half_width"] is not None else None)
            if options["kind"] == "realism":
                common.pop("practice_trials")
                study = build_realism_study(options["name"] or "Realism study", checkpoints, stopping=stopping,
                                            qualification_trials=options["qualification_trials"], **common)
            elif options["kind"] == "pairwise":
                study = build_pairwise_study(options["name"] or "Pairwise study", checkpoints, stopping=stopping,
                                             **common)
            elif options["kind"] == "rating":
                study = build_rating_study(options["name"] or "Rating study", checkpoints, **common)
            else:
                if len(checkpoints) != 1:
                    raise CommandError("a correlation study uses exactly one checkpoint")
                study = build_correlation_study(options["name"] or "Correlation study", checkpoints[0], **common)
            if options["open"]:
                open_study(study)
        except BuildError as error:
            raise CommandError(str(error)) from error
        counts = {role: study.trials.filter(role=role).count() for role in ("main", "catch", "practice")}
        self.stdout.write(f"{study.kind} study #{study.pk} ({study.state}): {counts['main']} main, "
                          f"{counts['catch']} catch, {counts['practice']} practice trials")
        self.stdout.write(f"rater link: {rater_link(study, options['base_url'])}")
