"""The registry of job kinds: a name, a queue, a params dataclass, a label, and the function to run.

An app registers its kinds when its kinds module is imported (from its AppConfig.ready). The
function may be given as "package.module:function": it is imported the first time a job of that
kind runs, so the web tier, which only validates params and stores rows, never imports what the
workers need (PyTorch, for the GAN kinds).

The function receives (JobContext, params) where params is an instance of the kind's dataclass
(None for a kind without params) and returns a metrics dict or None. Params are stored in the Job
row as the dataclass's JSON (defaults filled in) and rebuilt from it when the job runs.
"""
from __future__ import annotations

import dataclasses
import importlib
import typing
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .errors import JobError
from .models import Queue


@dataclass(frozen=True)
class JobKind:
    name: str
    queue: str
    params: type | None  # a dataclass describing the params; None means "no params"
    label: str
    target: Callable | str  # the function, or "package.module:function" to import when first run

    def function(self) -> Callable:
        """The function that runs a job of this kind (imported now if registered by its path)."""
        if callable(self.target):
            return self.target
        module, _, attribute = self.target.partition(":")
        return getattr(importlib.import_module(module), attribute)


KINDS: dict[str, JobKind] = {}


def register_kind(name: str, *, run: Callable | str, queue: str, params: type | None = None,
                  label: str = "") -> JobKind:
    """Register a job kind; `run` is `fn(ctx, params) -> metrics dict | None` or its dotted path."""
    if queue not in Queue.values:
        raise ValueError(f"queue must be one of {Queue.values}, not {queue!r}")
    if params is not None and not dataclasses.is_dataclass(params):
        raise TypeError(f"params of job kind {name!r} must be a dataclass, not {params!r}")
    if isinstance(run, str) and ":" not in run:
        raise ValueError(f"run of job kind {name!r} must be a function or 'package.module:function'")
    KINDS[name] = JobKind(name, queue, params, label or name, run)
    return KINDS[name]


def build_params(params_class: type | None, params: Any):
    """The params dataclass instance for a JSON object; unknown keys and wrong types are refused.

    The dataclass's own __post_init__ checks ranges and raises ValueError with a message for the
    user; every refusal is a JobError. A kind without params gets None.
    """
    if params is None:
        params = {}
    if not isinstance(params, dict):
        raise JobError(f"params must be a JSON object, not {type(params).__name__}")
    if params_class is None:
        if params:
            raise JobError(f"this job kind takes no params (got {sorted(params)})")
        return None
    fields = {f.name: f for f in dataclasses.fields(params_class)}
    hints = typing.get_type_hints(params_class)
    unknown = sorted(set(params) - set(fields))
    if unknown:
        raise JobError(f"unknown params {unknown}; allowed: {sorted(fields)}")
    for key, value in params.items():
        expected = hints.get(key) if isinstance(hints.get(key), type) else None
        if expected is None:
            continue  # complex annotations are left to the dataclass's own checks
        ok = isinstance(value, expected) and not (expected is not bool and isinstance(value, bool))
        if expected is float and isinstance(value, int) and not isinstance(value, bool):
            ok = True
        if not ok and not (value is None and fields[key].default is None):
            raise JobError(f"param {key!r} must be {expected.__name__}, not {value!r}")
    try:
        return params_class(**params)
    except (TypeError, ValueError) as exc:
        raise JobError(f"invalid params: {exc}") from exc


def params_json(params) -> dict:
    """What the Job row stores: the dataclass as a JSON object (every field, defaults included)."""
    return {} if params is None else dataclasses.asdict(params)
