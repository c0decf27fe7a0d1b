"""One convention for every command that runs a job, and a README that shows only what they accept:
queued by default, --wait, --inline (never both), user errors as one line without a traceback."""
import re
import shlex
import subprocess
import sys
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command, get_commands, load_command_class

REPO = Path(__file__).resolve().parent.parent
JOB_COMMANDS = ["import_videos", "import_manifest", "clean_dataset", "split_dataset", "train", "generate",
                "evaluate", "run_paper_suite", "launch_job"]


def parser_of(name):
    return load_command_class(get_commands()[name], name).create_parser("manage.py", name)


def option_strings(parser) -> set[str]:
    found = set()
    for action in parser._actions:
        found.update(action.option_strings)
        for sub in getattr(action, "choices", None).values() if isinstance(getattr(action, "choices", None), dict) else ():
            found.update(option_strings(sub))
    return found


@pytest.mark.parametrize("name", JOB_COMMANDS)
def test_every_job_command_has_the_same_two_flags(name):
    parser = parser_of(name)
    flags = {a.option_strings[0]: a for a in parser._actions if a.option_strings}
    assert "--inline" in flags and "--wait" in flags and "--queue-only" not in flags
    assert flags["--inline"].help == parser_of("train")._option_string_actions["--inline"].help
    with pytest.raises(CommandError, match="not allowed with argument"):
        parser.parse_args(["--inline", "--wait"])


def _readme_commands():
    """(command, options) for every `manage.py NAME ...` line in the README's bash blocks."""
    text = (REPO / "README.md").read_text()
    found = []
    for block in re.findall(r"```bash\n(.*?)```", text, flags=re.S):
        joined = block.replace("\\\n", " ")
        for line in joined.splitlines():
            match = re.search(r"manage\.py\s+(\w+)(.*)", line.split("#")[0])
            if match:
                found.append((match.group(1), [t.split("=")[0] for t in shlex.split(match.group(2))
                                               if t.startswith("--")]))
    return found


def test_the_readme_shows_only_options_the_commands_accept():
    shown = _readme_commands()
    assert {"import_videos", "import_manifest", "classmap", "clean_dataset", "split_dataset", "table1",
            "train"} <= {name for name, _ in shown}
    for name, flags in shown:
        assert name in get_commands(), f"README shows manage.py {name}, which does not exist"
        accepted = option_strings(parser_of(name))
        unknown = [flag for flag in flags if flag not in accepted]
        assert not unknown, f"README: manage.py {name} {unknown}: not options of the command"


@pytest.mark.django_db
def test_without_a_flag_the_job_is_queued_for_a_worker(tmp_path, settings):
    settings.MEDIA_ROOT = tmp_path / "media"
    (tmp_path / "manifest.csv").write_text("sound,image\na.wav,a.png\n")
    out = StringIO()
    call_command("import_manifest", "queued", str(tmp_path / "manifest.csv"), stdout=out)
    from jobs.models import Job, JobStatus

    job = Job.objects.get()
    assert job.status == JobStatus.QUEUED and job.queue == "cpu"
    assert f"job #{job.pk} (import_manifest) queued on 'cpu' for a worker" in out.getvalue()


@pytest.fixture(scope="module")
def sqlite_env(tmp_path_factory):
    """The commands in a process of their own, on a migrated SQLite database of their own."""
    from tests.evalsite.test_settings import clean_env

    env = clean_env(tmp_path_factory.mktemp("cli"))
    subprocess.run([sys.executable, "manage.py", "migrate", "--noinput", "-v0"], cwd=REPO, env=env, check=True,
                   capture_output=True, timeout=300)
    return env


def manage(env, *args):
    return subprocess.run([sys.executable, "manage.py", *args], cwd=REPO, env=env, capture_output=True, text=True,
                          timeout=180)


@pytest.mark.parametrize("args, line", [
    (["import_manifest", "ds", "/nonexistent/manifest.csv"], "CommandError: manifest /nonexistent/manifest.csv does not exist"),
    (["import_videos", "ds", "/nonexistent", "--inline"], "CommandError: archive /nonexistent does not exist"),
    (["import_videos", "bad name!", "/tmp"], "CommandError: dataset name must be a slug"),
    (["classmap", "show", "nope"], "CommandError: unknown class map 'nope'; known: paper"),
    (["table1", "no-such-dataset"], "CommandError: no dataset named 'no-such-dataset'"),
    (["launch_job", "selfcheck", "--params", '{"steps": 3, "fail_at_step": 1}', "--inline"],
     "CommandError: selfcheck #"),
])
def test_user_errors_are_one_line_without_a_traceback(sqlite_env, args, line):
    result = manage(sqlite_env, *args)
    assert result.returncode == 1, result.stdout + result.stderr
    errors = [text for text in result.stderr.strip().splitlines() if text.startswith("CommandError")]
    assert len(errors) == 1 and errors[0].startswith(line), result.stderr
    assert "Traceback" not in result.stderr
    with_traceback = manage(sqlite_env, *args, "--traceback")
    assert "Traceback (most recent call last)" in with_traceback.stderr


def test_a_wrong_manifest_header_is_one_line(sqlite_env, tmp_path):
    (tmp_path / "m.csv").write_text("audio;picture\nx.wav;x.png\n")
    result = manage(sqlite_env, "import_manifest", "ds", str(tmp_path / "m.csv"))
    assert result.returncode == 1 and len(result.stderr.strip().splitlines()) == 1
    assert "line 1: the header is 'audio;picture': it lacks sound and image" in result.stderr
