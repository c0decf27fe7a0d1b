"""The rules every import applies to the paths and text it is given (pure functions, real files)."""
import os

import pytest

from gan.services.import_sources import (SourceError, check_cell, contained_file, content_name, decoded_suffix,
                                         fitted, printable, resolve_inside, safe_name)


@pytest.fixture
def tree(tmp_path):
    """folder/ with a file, a subfolder, links in and out; a secret file next to it."""
    folder = tmp_path / "folder"
    (folder / "sub").mkdir(parents=True)
    (folder / "a.wav").write_bytes(b"RIFF")
    (folder / "sub" / "b.png").write_bytes(b"\x89PNG")
    (tmp_path / "secret.txt").write_text("root:x:0:0:root:/root:/bin/bash\n")
    os.symlink(tmp_path / "secret.txt", folder / "link_out.wav")
    os.symlink(folder / "a.wav", folder / "link_in.wav")
    os.symlink(tmp_path, folder / "dir_out")
    return folder


def test_paths_inside_the_folder_resolve(tree):
    assert resolve_inside(tree, "a.wav", "sound") == (tree / "a.wav").resolve()
    assert resolve_inside(tree, "sub/../sub/b.png", "image") == (tree / "sub" / "b.png").resolve()
    assert resolve_inside(tree, str(tree / "a.wav"), "sound") == (tree / "a.wav").resolve()  # absolute, inside
    assert resolve_inside(tree, "link_in.wav", "sound") == (tree / "a.wav").resolve()  # a link that stays inside


@pytest.mark.parametrize("value, how", [
    ("../../../../etc/passwd", "is a path outside"),
    ("/etc/passwd", "is a path outside"),
    ("../secret.txt", "is a path outside"),
    ("link_out.wav", "is a symbolic link that leads outside"),
    ("dir_out/secret.txt", "is a symbolic link that leads outside"),
])
def test_paths_that_leave_the_folder_are_refused_without_reading_them(tree, value, how):
    with pytest.raises(SourceError) as caught:
        resolve_inside(tree, value, "sound")
    assert caught.value.code == "outside_folder" and how in str(caught.value)
    assert "root:" not in str(caught.value)


def test_missing_empty_and_folder_values(tree):
    for value, code, phrase in [("nope.wav", "missing_file", "does not exist"), ("sub", "missing_file", "not a regular"),
                                ("  ", "broken_row", "empty sound column")]:
        with pytest.raises(SourceError, match=phrase) as caught:
            resolve_inside(tree, value, "sound")
        assert caught.value.code == code


def test_a_file_found_through_a_link_out_of_the_folder_is_refused(tree):
    assert contained_file(tree, tree / "link_in.wav") == (tree / "a.wav").resolve()
    with pytest.raises(SourceError, match="leads outside the import folder") as caught:
        contained_file(tree, tree / "link_out.wav")
    assert "secret" not in str(caught.value)


@pytest.mark.parametrize("value, code, phrase", [
    ("dog\x00", "broken_row", "NUL byte"),
    ("caf\udce9", "bad_encoding", "byte 0xe9"),
    ("a\x1bb", "broken_row", "control character"),
    ("x" * 101, "too_long", "101 characters; at most 100"),
])
def test_cells_that_no_database_column_takes_are_refused(value, code, phrase):
    with pytest.raises(SourceError, match=phrase) as caught:
        check_cell(value, "label", limit=100)
    assert caught.value.code == code
    assert check_cell("  dog ", "label", 100) == "dog" and check_cell(None, "label") == ""


def test_printable_and_fitted_values_store_on_postgresql():
    assert printable("a\x00b\udce9") == "a\\x00b\\xe9"
    assert printable("y" * 300, limit=10) == "yyyyyyyyy…"
    long_a, long_b = fitted("p/" * 300 + "a", 200), fitted("p/" * 300 + "b", 200)
    assert len(long_a) == len(long_b) == 200 and long_a != long_b
    assert fitted("short", 200) == "short"


def test_safe_names_are_flat_and_distinct():
    assert "/" not in safe_name("../../etc/passwd") and safe_name("a/b.mp4") != safe_name("a_b.mp4")
    assert safe_name("caf\udce9.mp4").startswith("caf_xe9.mp4-")



def test_stored_names_are_generated_and_extensions_come_from_the_decoded_format(tmp_path):
    import numpy as np
    import soundfile
    from PIL import Image

    picture, sound = tmp_path / "page.html", tmp_path / "tune.HTML"
    Image.new("RGB", (4, 4)).save(picture, format="PNG")
    with open(picture, "ab") as handle:
        handle.write(b"<html><script>alert(1)</script></html>")  # a PNG that is also HTML
    soundfile.write(sound, np.zeros(800, dtype=np.float32), 8000, format="WAV")
    assert decoded_suffix(picture, "image") == ".png" and decoded_suffix(sound, "sound") == ".wav"
    name = content_name(picture)
    assert len(name) == 32 and "page" not in name and name != content_name(sound)
