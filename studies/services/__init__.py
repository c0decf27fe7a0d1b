"""Write operations of the studies app: building, raters, answers, results, the demo."""
from .building import build_correlation_study, build_rating_study, close_study, open_study
from .demo import build_demo_studies
from .participants import completion_info, preview_participant, rater_link, rater_state, start_participant
from .responses import Answer, save_answer
from .results import export_rows, study_results

__all__ = ["Answer", "build_correlation_study", "build_demo_studies", "build_rating_study", "close_study",
           "completion_info", "export_rows", "open_study", "preview_participant", "rater_link", "rater_state",
           "save_answer", "start_participant", "study_results"]
