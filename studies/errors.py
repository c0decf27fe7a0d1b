"""Errors of the rater flow. Each is the caller's fault (a ValueError) and carries its HTTP status,
so the API answers with a clear 4xx JSON message and never a 500."""


class StudyError(ValueError):
    status = 400
    code = "bad_request"

    def __init__(self, message: str, *, fields: dict | None = None):
        super().__init__(message)
        self.message = message
        self.fields = fields or {}

    def as_json(self) -> dict:
        body = {"error": self.message, "code": self.code}
        if self.fields:
            body["fields"] = self.fields
        return body


class BadAnswer(StudyError):
    status = 400
    code = "bad_answer"


class NotYourTrial(StudyError):
    status = 404
    code = "not_found"


class AnswerConflict(StudyError):
    status = 409
    code = "conflict"


class StudyNotOpen(StudyError):
    status = 409
    code = "study_not_open"


class StudyFull(StudyError):
    status = 409
    code = "study_full"


class TrialExpired(StudyError):
    status = 410
    code = "trial_expired"


class BuildError(ValueError):
    """A study cannot be built from what was chosen (no common sounds, one class, no photos...)."""


class NoRealPhotos(BuildError):
    """Catch or practice trials of a correlation study need real photos the checkpoint's dataset
    does not have (the demo then builds without them)."""


class BadLink(StudyError):
    status = 400
    code = "bad_link"


class CrowdIdTaken(StudyError):
    status = 409
    code = "crowd_id_taken"


class RateLimited(StudyError):
    status = 429
    code = "rate_limited"

    def __init__(self, message: str, *, retry_after: int = 60):
        super().__init__(message)
        self.retry_after = max(1, int(retry_after))


class LimiterUnavailable(RateLimited):
    """The abuse limits' counters cannot be written: the request is refused (503, retry later)
    rather than let through uncounted. A RateLimited so every handler of a refusal with
    Retry-After answers it the same way, with its own status."""
    status = 503
    code = "limits_unavailable"


class StudyBusy(RateLimited):
    """Many raters joined a study just now and none has answered yet: the next waits a moment
    (studies.services.admission.admit_new_rater)."""
    status = 429
    code = "study_busy"


class TooManyFromAddress(RateLimited):
    """Enough raters from this address hold trials of the study right now."""
    status = 429
    code = "too_many_from_address"


class EntryRefused(StudyError):
    """A join that did not come from the study's own page (a cross-site form, a stale page)."""
    status = 403
    code = "entry_refused"


class CrowdEntryRefused(StudyError):
    """A crowd link that cannot start or resume a rater. One message and status whether or not the
    id took part before, so the answer tells nobody who did."""
    status = 403
    code = "crowd_entry_refused"
