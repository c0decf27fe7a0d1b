"""Class maps a researcher can write: list and search the class names, import JSON or CSV with clear
messages, show a map, groups instead of 118 breed names, and the admin form's link to the search."""
import json
import subprocess
import sys
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse

from gan.models import ClassMap
from gan.services.cleaning import class_map_named
from jobs.errors import JobError


def run(*args) -> str:
    out = StringIO()
    call_command("classmap", *args, stdout=out)
    return out.getvalue()


def test_list_searches_names_and_groups():
    out = run("list", "imagenet", "--search", "dog")
    assert "group:dog-breeds" in out and " 118 classes " in out and "151-268" in out
    assert " 934  hotdog" in out and " 275  African hunting dog  [wild-canines, canines, animals]" in out
    assert out.strip().endswith("10 classes, 3 groups matching 'dog'")  # dog-breeds, wild-canines, canines
    everything = run("list", "soundnet")
    assert "SoundNet's object head predicts the 1000 ImageNet classes" in everything
    assert "1000 classes" in everything and " 264  Cardigan  [dog-breeds" in everything and " 474  cardigan" in everything
    with pytest.raises(CommandError, match="no ImageNet class or group contains 'zzzz'"):
        run("list", "imagenet", "--search", "zzzz")


@pytest.mark.django_db
def test_import_json_then_show_and_clean_with_it(tmp_path):
    path = tmp_path / "pets.json"
    path.write_text(json.dumps({"name": "pets", "description": "dogs, cats and a violin",
                                "classes": {"dog": ["group:dog-breeds"], "cat": ["281-285"], "violin": ["violin", 486]}}))
    out = run("import", str(path))
    assert "class map 'pets' stored: 3 classes covering 125 ImageNet classes" in out
    assert "clean_dataset DATASET --class-map pets" in out
    stored = ClassMap.objects.get(name="pets")
    assert stored.description == "dogs, cats and a violin" and stored.classes["dog"] == ["group:dog-breeds"]
    shown = run("show", "pets")
    assert "dog: 118 ImageNet classes (151-268): Chihuahua, Japanese spaniel" in shown
    assert "violin: 2 ImageNet classes (486, 889): cello, violin" in shown
    built = class_map_named("pets")
    assert len(built.members["dog"]) == 118 and built.label_of(264) == "dog"


@pytest.mark.django_db
def test_import_csv_one_entry_per_line(tmp_path):
    path = tmp_path / "corgis-and-more.csv"
    path.write_text("class,imagenet\ncorgi,Cardigan\ncorgi,Pembroke\nsweater,cardigan\n\nbirds,group:birds\n")
    run("import", str(path))
    stored = ClassMap.objects.get(name="corgis-and-more")
    assert stored.classes == {"corgi": ["Cardigan", "Pembroke"], "sweater": ["cardigan"], "birds": ["group:birds"]}
    built = class_map_named("corgis-and-more")
    assert built.members["corgi"] == (263, 264) and built.members["sweater"] == (474,)


@pytest.mark.django_db
@pytest.mark.parametrize("name, content, phrase", [
    ("a.csv", "class,imagenet\ncorgi,CARDIGAN\n",
     "line 2: 'CARDIGAN' is ambiguous: it matches 264 'Cardigan', 474 'cardigan' when case is ignored"),
    ("a.csv", "class,imagenet\ndog,golden retriver\ncat,tabby\nx,9999\n",
     "2 problem(s): line 2: 'golden retriver' is not an ImageNet class name (did you mean 'golden retriever'?)"),
    ("a.csv", "name,classes\ndog,207\n", "line 1: the header must be exactly class,imagenet (found name,classes)"),
    ("a.csv", "class,imagenet\ndog,207,extra\n", "line 2: 3 fields, expected 2"),
    ("a.csv", "class,imagenet\n,207\n", "line 2: empty class"),
    ("a.csv", "class,imagenet\ndog,group:dog-breeds\ncorgi,Cardigan\n", "264 'Cardigan' is in both 'dog' and 'corgi'"),
    ("a.json", '{"classes": {"dog": [207,]}}', "line 1 column 26: not valid JSON"),
    ("a.json", '{"classes": {"dog": "group:dogs"}}', "'group:dogs' is not a class group (did you mean group:dog-breeds"),
    ("a.json", '{"classes": {}}', "must be a non-empty object"),
    ("a.json", '{"clases": {"dog": [207]}}', "'clases' holds an object, not a list of entries (is it a misspelt"),
    ("a.json", '["dog"]', "the JSON must be an object"),
    ("a.txt", "dog: 207", "give a .json or .csv file"),
])
def test_import_refuses_mistakes_with_one_clear_line(tmp_path, name, content, phrase):
    path = tmp_path / name
    path.write_text(content)
    with pytest.raises(CommandError) as caught:
        run("import", str(path))
    assert phrase in str(caught.value) and "\n" not in str(caught.value)
    assert not ClassMap.objects.exists()


@pytest.mark.django_db
def test_import_encoding_names_and_replace(tmp_path):
    latin = tmp_path / "latin.csv"
    latin.write_bytes("class,imagenet\nchien,Cardigan\ncafé,espresso\n".encode("latin-1"))
    with pytest.raises(CommandError, match="line 3: not UTF-8 text"):
        run("import", str(latin))
    good = tmp_path / "My Map.csv"
    good.write_text("class,imagenet\ndog,207\n")
    with pytest.raises(CommandError, match="not a slug; give the map a name with --name"):
        run("import", str(good))
    run("import", str(good), "--name", "mine")
    with pytest.raises(CommandError, match="a class map named 'mine' exists; add --replace"):
        run("import", str(good), "--name", "mine")
    good.write_text("class,imagenet\ndog,group:dog-breeds\n")
    run("import", str(good), "--name", "mine", "--replace")
    assert ClassMap.objects.get(name="mine").classes == {"dog": ["group:dog-breeds"]}
    with pytest.raises(CommandError, match="'paper' is a built-in map"):
        run("import", str(good), "--name", "paper")
    with pytest.raises(CommandError, match="no such file"):
        run("import", str(tmp_path / "nope.csv"))


@pytest.mark.django_db
def test_show_the_builtin_map_and_unknown_names():
    shown = run("show", "paper")
    assert shown.startswith("dog: 118 ImageNet classes (151-268)") and "piano: 2 ImageNet classes (579, 881)" in shown
    with pytest.raises(CommandError, match="unknown class map 'nope'; known: paper"):
        run("show", "nope")
    with pytest.raises(JobError, match="unknown class map 'nope'"):
        class_map_named("nope")


@pytest.mark.django_db
def test_a_stored_map_that_no_longer_passes_fails_the_cleaning_launch_clearly():
    ClassMap.objects.create(name="old", classes={"corgi": ["CARDIGAN"]})  # stored before the rule
    with pytest.raises(JobError, match="class map 'old': class 'corgi': 'CARDIGAN' is ambiguous"):
        class_map_named("old")


def test_a_user_error_is_one_line_on_stderr_without_a_traceback():
    result = subprocess.run([sys.executable, "manage.py", "classmap", "list", "imagenet", "--search", "zzzz"],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 1
    assert result.stderr.strip() == "CommandError: no ImageNet class or group contains 'zzzz'"


@pytest.mark.django_db
def test_the_admin_form_links_to_the_class_name_search(client, staff_user):
    client.force_login(staff_user)
    search_url = reverse("admin:gan_classmap_class_names")
    add_page = client.get(reverse("admin:gan_classmap_add")).content.decode()
    assert f'href="{search_url}"' in add_page and "group:dog-breeds" in add_page
    found = client.get(search_url, {"q": "cardigan"}).content.decode()
    assert "<td>264</td><td><code>Cardigan</code></td>" in found and "<td>474</td><td><code>cardigan</code></td>" in found
    groups = client.get(search_url, {"q": "dog"}).content.decode()
    assert "<code>group:dog-breeds</code>" in groups and "151-268" in groups
    refused = client.post(reverse("admin:gan_classmap_add"), {"name": "bad", "classes": '{"corgi": ["CARDIGAN"]}'})
    assert refused.status_code == 200 and "is ambiguous" in refused.content.decode()
    saved = client.post(reverse("admin:gan_classmap_add"), {"name": "dogs", "classes": '{"dog": ["group:dog-breeds"]}'})
    assert saved.status_code == 302 and ClassMap.objects.filter(name="dogs").exists()
    assert client.get(search_url, {"q": "x" * 500}).status_code == 200


@pytest.mark.django_db
def test_the_search_page_is_staff_only(client, plain_user):
    client.force_login(plain_user)
    response = client.get(reverse("admin:gan_classmap_class_names"))
    assert response.status_code == 302 and "/login/" in response["Location"]
