"""Write operations of the studies app: building, raters, answers, the demo (reads: studies.selectors)."""
from .building import build_correlation_study, build_rating_study, close_study, open_study
from .building_kinds import build_pairwise_study, build_realism_study
from .demo import build_demo_studies
from .participants import preview_participant, resume, start_participant
from .responses import AnswerOutcome, SubmittedAnswer, save_answer

__all__ = ["AnswerOutcome", "SubmittedAnswer", "build_correlation_study", "build_demo_studies", "build_pairwise_study",
           "build_rating_study", "build_realism_study",
           "close_study", "open_study", "preview_participant", "resume", "save_answer",
           "start_participant"]
