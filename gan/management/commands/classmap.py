"""Class maps for cleaning: list the class names a map may use, import a map from a file, show one."""
import argparse

from django.core.management.base import BaseCommand, CommandError

from gan.ml.cleaning import ClassMap, ClassMapError
from gan.ml.imagenet_classes import GROUP_PREFIX, groups_of, imagenet_class_names, search
from gan.services.class_maps import ClassMapFileError, class_map_entries, import_class_map_file

EPILOG = """\
A class map names, for each class of your dataset, the ImageNet classes that count as it. Both
classifiers that cleaning compares answer in ImageNet classes: the image classifier, and SoundNet's
object head. An entry is an index (207), an exact name ("golden retriever"), a range ("151-268") or a
group ("group:dog-breeds"). Files:

  pets.json  {"name": "pets", "description": "dogs and cats",
              "classes": {"dog": ["group:dog-breeds"], "cat": ["group:domestic-cats"], "violin": ["violin"]}}
  pets.csv   class,imagenet
             dog,group:dog-breeds
             cat,281-285
             violin,violin

Then: manage.py clean_dataset DATASET --class-map pets
"""


def _ranges(indices) -> str:
    spans, start, previous = [], None, None
    for index in list(indices) + [None]:
        if start is None:
            start = previous = index
        elif index is not None and index == previous + 1:
            previous = index
        else:
            spans.append(f"{start}-{previous}" if previous != start else str(start))
            start = previous = index
    return ", ".join(spans)


class Command(BaseCommand):
    help = "List ImageNet / SoundNet class names and groups, import a class map (JSON or CSV), show a map."

    def create_parser(self, prog_name, subcommand, **kwargs):
        return super().create_parser(prog_name, subcommand, epilog=EPILOG,
                                     formatter_class=argparse.RawDescriptionHelpFormatter, **kwargs)

    def add_arguments(self, parser):
        actions = parser.add_subparsers(dest="action", required=True, metavar="{list,import,show}")
        listing = actions.add_parser("list", help="the class names a map may use, and the groups")
        listing.add_argument("vocabulary", choices=["imagenet", "soundnet"],
                             help="imagenet: the image classifier's classes; soundnet: its object head's "
                                  "(the same 1000 ImageNet classes, same indices)")
        listing.add_argument("--search", dest="text", default="", metavar="TEXT",
                             help="only names (and groups) containing this text, ignoring case")
        imported = actions.add_parser("import", help="store a class map from a .json or .csv file")
        imported.add_argument("file")
        imported.add_argument("--name", help="the map's name (default: the file's 'name', else its stem)")
        imported.add_argument("--description")
        imported.add_argument("--replace", action="store_true", help="overwrite a map of the same name")
        shown = actions.add_parser("show", help="a map's classes with every ImageNet class they stand for")
        shown.add_argument("name", help="'paper' (the nine classes) or a stored map's name")
        for sub in (listing, imported, shown):  # Django's --traceback, also after the action's arguments
            sub.add_argument("--traceback", action="store_true", default=argparse.SUPPRESS,
                             help="raise on CommandError exceptions")

    def handle(self, *args, action, **options):
        try:
            getattr(self, f"_{action}")(**options)
        except (ClassMapFileError, ClassMapError) as exc:
            raise CommandError(str(exc)) from exc

    def _list(self, vocabulary, text: str, **_):
        names = imagenet_class_names()
        classes, groups = search(names, text)
        if vocabulary == "soundnet":
            self.stdout.write("# SoundNet's object head predicts the 1000 ImageNet classes below (same indices), so "
                              "one class map serves both classifiers.")
        if groups:
            self.stdout.write(f"groups (write {GROUP_PREFIX}NAME in a class map):")
            for group in groups:
                self.stdout.write(f"  {GROUP_PREFIX}{group.name:<16} {len(group.indices):>4} classes  "
                                  f"{group.span:<22} {group.description}")
        if classes:
            self.stdout.write("classes (index, exact name, groups):")
            for index, name in classes:
                member_of = groups_of(index)
                self.stdout.write(f"  {index:>4}  {name}" + (f"  [{', '.join(member_of)}]" if member_of else ""))
        if not classes and not groups:
            raise CommandError(f"no ImageNet class or group contains {text!r}")
        self.stdout.write(f"{len(classes)} classes, {len(groups)} groups" + (f" matching {text!r}" if text else ""))

    def _import(self, file, name, description, replace, **_):
        row = import_class_map_file(file, name, description=description, replace=replace)
        built = ClassMap(row.classes, imagenet_class_names())
        total = sum(len(members) for members in built.members.values())
        self.stdout.write(f"class map {row.name!r} stored: {len(built.names)} classes covering {total} ImageNet "
                          f"classes. Use it with: manage.py clean_dataset DATASET --class-map {row.name}")

    def _show(self, name, **_):
        names = imagenet_class_names()
        built = ClassMap(class_map_entries(name), names)
        for label, members in built.members.items():
            shown = ", ".join(names[i] for i in members[:8]) + (f", ... ({len(members) - 8} more)" if len(members) > 8 else "")
            self.stdout.write(f"{label}: {len(members)} ImageNet classes ({_ranges(members)}): {shown}")
