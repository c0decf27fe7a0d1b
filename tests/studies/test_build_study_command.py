"""The build_study command and the demo service."""
import pytest
from django.core.management import CommandError, call_command

from studies.models import Study

pytestmark = pytest.mark.django_db


def test_build_rating_and_correlation_and_demo(world, capsys):
    ids = ",".join(str(c.pk) for c in world["checkpoints"])
    call_command("build_study", "rating", "--checkpoints", ids, "--target-votes", "3", "--open")
    out = capsys.readouterr().out
    assert "8 main, 2 catch, 1 practice" in out and "rater link: http://127.0.0.1:8000/s/" in out
    call_command("build_study", "correlation", "--checkpoints", str(world["checkpoints"][1].pk))
    assert "(draft)" in capsys.readouterr().out
    call_command("build_study", "demo", "--checkpoints", ids, "--base-url", "http://example.org:8000")
    out = capsys.readouterr().out
    assert out.count("open: http://example.org:8000/s/") == 2
    assert Study.objects.filter(state="open").count() == 3


def test_bad_arguments_are_clear(world):
    with pytest.raises(CommandError, match="no checkpoint"):
        call_command("build_study", "rating", "--checkpoints", "999999")
    with pytest.raises(CommandError, match="comma-separated"):
        call_command("build_study", "rating", "--checkpoints", "a,b")
    ids = ",".join(str(c.pk) for c in world["checkpoints"])
    with pytest.raises(CommandError, match="exactly one"):
        call_command("build_study", "correlation", "--checkpoints", ids)
    with pytest.raises(CommandError, match="target_votes"):
        call_command("build_study", "rating", "--checkpoints", ids, "--target-votes", "0")
