"""Class maps a researcher writes: read from a JSON or CSV file, checked entry by entry with the line
it came from, stored as a ClassMap row, and shown back with every ImageNet class it stands for.

JSON: {"name": "pets", "description": "...", "classes": {"dog": ["group:dog-breeds"], "cat": [281, "tabby"]}}
      (or just the "classes" object, with the name given on the command line).
CSV:  a header `class,imagenet` and one entry per line: `dog,group:dog-breeds` / `violin,violin` /
      `cat,281-285`. A class gets every line that names it, in order.
An entry is an ImageNet index, an exact class name, a range "A-B" or a group "group:NAME"
(gan/ml/imagenet_classes.py; `manage.py classmap list imagenet --search WORD` finds them).
"""
from __future__ import annotations

import csv
import io
import json
import re
from pathlib import Path

from django.db import transaction

from ..ml.cleaning import PAPER_CLASS_MAP, ClassMap, ClassMapError
from ..ml.imagenet_classes import ClassLookupError, imagenet_class_names, resolve_entry
from ..models import ClassMap as ClassMapRow

BUILTIN_MAPS = {"paper": PAPER_CLASS_MAP}
CSV_COLUMNS = ("class", "imagenet")
MAX_FILE_BYTES = 1024 * 1024  # a class map is a few kB; a bigger file is the wrong file
_SLUG = re.compile(r"[-a-zA-Z0-9_]+\Z")


class ClassMapFileError(ValueError):
    """The file cannot become a class map; the message says where and why (one line)."""


def _read_text(path: Path) -> str:
    if not path.is_file():
        raise ClassMapFileError(f"{path}: no such file")
    if path.stat().st_size > MAX_FILE_BYTES:
        raise ClassMapFileError(f"{path}: {path.stat().st_size:,} bytes is too big for a class map "
                                f"(limit {MAX_FILE_BYTES:,}); is it the right file?")
    data = path.read_bytes()
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[:exc.start].count(b"\n") + 1
        raise ClassMapFileError(f"{path} line {line}: not UTF-8 text (byte 0x{data[exc.start]:02x}); "
                                f"save the file as UTF-8") from None


def _from_json(path: Path, text: str) -> tuple[dict, str | None, str]:
    try:
        document = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ClassMapFileError(f"{path} line {exc.lineno} column {exc.colno}: not valid JSON ({exc.msg})") from None
    if not isinstance(document, dict):
        raise ClassMapFileError(f"{path}: the JSON must be an object, {{\"classes\": {{\"dog\": [...], ...}}}}")
    if "classes" in document:
        unknown = sorted(set(document) - {"name", "description", "classes"})
        if unknown:
            raise ClassMapFileError(f"{path}: unknown key(s) {unknown}; a class map file has name, description, classes")
        classes = document["classes"]
        name, description = document.get("name"), document.get("description") or ""
    else:
        classes, name, description = document, None, ""
    if not isinstance(classes, dict) or not classes:
        raise ClassMapFileError(f"{path}: \"classes\" must be a non-empty object of class -> list of entries")
    for label, entries in classes.items():
        if isinstance(entries, dict):
            raise ClassMapFileError(f"{path}: {label!r} holds an object, not a list of entries (is it a misspelt "
                                    f"\"classes\"? a file is {{\"name\": ..., \"classes\": {{\"dog\": [...]}}}})")
        if not isinstance(entries, (list, str, int)) or isinstance(entries, bool):
            raise ClassMapFileError(f"{path}: class {label!r} must have a list of entries, not {entries!r}")
    if name is not None and not isinstance(name, str) or not isinstance(description, str):
        raise ClassMapFileError(f"{path}: name and description must be text")
    return classes, name, description


def _from_csv(path: Path, text: str, names) -> tuple[dict, None, str]:
    reader = csv.reader(io.StringIO(text, newline=""))
    header = [cell.strip().lower() for cell in next(reader, [])]
    if header[:2] != list(CSV_COLUMNS) or len([h for h in header if h]) != 2:
        raise ClassMapFileError(f"{path} line 1: the header must be exactly {','.join(CSV_COLUMNS)} "
                                f"(found {','.join(header) or 'nothing'})")
    classes: dict[str, list] = {}
    problems = []
    for row in reader:
        line = reader.line_num
        if not any(cell.strip() for cell in row):
            continue
        if len(row) != 2:
            problems.append(f"line {line}: {len(row)} fields, expected 2 (class,imagenet)")
            continue
        label, entry = row[0].strip(), row[1].strip()
        if not label:
            problems.append(f"line {line}: empty class")
            continue
        try:
            resolve_entry(entry, names)
        except ClassLookupError as exc:
            problems.append(f"line {line}: {exc}")
            continue
        classes.setdefault(label, []).append(int(entry) if entry.isdigit() else entry)
    if problems:
        more = f" (and {len(problems) - 5} more)" if len(problems) > 5 else ""
        raise ClassMapFileError(f"{path}: {len(problems)} problem(s): " + "; ".join(problems[:5]) + more)
    if not classes:
        raise ClassMapFileError(f"{path}: no classes (one line per entry: class,imagenet)")
    return classes, None, ""


def read_class_map_file(path: str | Path) -> tuple[dict, str | None, str]:
    """(classes, name or None, description) from a .json or .csv file, every entry checked."""
    path = Path(path)
    text = _read_text(path)
    suffix = path.suffix.lower()
    names = imagenet_class_names()
    if suffix == ".json":
        classes, name, description = _from_json(path, text)
    elif suffix == ".csv":
        classes, name, description = _from_csv(path, text, names)
    else:
        raise ClassMapFileError(f"{path}: give a .json or .csv file (see `manage.py classmap import --help`)")
    try:
        ClassMap(classes, names)  # overlaps, empty classes, unknown names: the same rules as cleaning
    except ClassMapError as exc:
        raise ClassMapFileError(f"{path}: {exc}") from None
    return classes, name, description


def save_class_map(name: str, classes: dict, description: str = "", *, replace: bool = False) -> ClassMapRow:
    if not name or not _SLUG.match(name) or len(name) > 100:
        raise ClassMapFileError(f"class map name {name!r} must be a slug (letters, digits, - and _; at most 100)")
    if name in BUILTIN_MAPS:
        raise ClassMapFileError(f"{name!r} is a built-in map; choose another name")
    ClassMap(classes, imagenet_class_names())
    with transaction.atomic():
        row = ClassMapRow.objects.select_for_update().filter(name=name).first()
        if row is not None and not replace:
            raise ClassMapFileError(f"a class map named {name!r} exists; add --replace to overwrite it")
        if row is None:
            return ClassMapRow.objects.create(name=name, classes=classes, description=description)
        row.classes, row.description = classes, description
        row.save(update_fields=["classes", "description"])
        return row


def import_class_map_file(path: str | Path, name: str | None = None, *, description: str | None = None,
                          replace: bool = False) -> ClassMapRow:
    classes, file_name, file_description = read_class_map_file(path)
    chosen = name or file_name or Path(path).stem
    if not _SLUG.match(chosen or ""):
        raise ClassMapFileError(f"the file name {Path(path).stem!r} is not a slug; give the map a name with --name")
    return save_class_map(chosen, classes, file_description if description is None else description, replace=replace)


def class_map_entries(name: str) -> dict:
    """The stored entries (as written) of a map, built-in or researcher-defined."""
    row = ClassMapRow.objects.filter(name=name).first()
    if row is not None:
        return row.classes
    if name in BUILTIN_MAPS:
        return BUILTIN_MAPS[name]
    known = sorted(set(BUILTIN_MAPS) | set(ClassMapRow.objects.values_list("name", flat=True)))
    raise ClassMapFileError(f"unknown class map {name!r}; known: {', '.join(known)}")


def class_map_named(name: str) -> ClassMap:
    """A ClassMap row of that name, else a built-in map ('paper': the nine classes)."""
    return ClassMap(class_map_entries(name), imagenet_class_names())
