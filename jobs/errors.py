"""What the job engine raises, shared by the registry, the engine and the runners."""


class JobError(ValueError):
    """The caller asked for something the engine refuses (unknown kind, bad params, bad state)."""


class JobCancelled(Exception):
    """Raised inside a running job when a cancel was requested; the engine records CANCELLED."""


class JobLost(Exception):
    """Raised inside a running job whose row was taken over (reaped and re-run elsewhere)."""
