"""Table 1 and the split table as text, shared by the table1, clean_dataset and split_dataset commands."""
from gan.selectors.datasets import split_table, split_warnings, table1


def table1_lines(dataset) -> list[str]:
    lines = [f"{'class':<20}{'pairs':>8}{'kept':>8}{'discarded':>11}{'pending':>9}{'discard rate':>14}"]
    for row in table1(dataset):
        rate = "-" if row["discard_rate"] is None else f"{100 * row['discard_rate']:.1f}%"
        lines.append(f"{row['class'][:19]:<20}{row['pairs']:>8}{row['kept']:>8}{row['discarded']:>11}"
                     f"{row['pending']:>9}{rate:>14}")
    return lines


def split_lines(table: dict) -> list[str]:
    if not table["rows"]:
        return []
    lines = [f"{'class':<20}" + "".join(f"{split:>18}" for split in table["splits"]),
             f"{'':<20}" + "".join(f"{'pairs / sources':>18}" for _ in table["splits"])]
    for row in table["rows"]:
        lines.append(f"{row['class'][:19]:<20}" + "".join(
            f"{row[f'{s}_pairs']:>10} / {row[f'{s}_groups']:<5}" for s in table["splits"]))
    return lines


def write_warnings(command, dataset, table: dict | None = None) -> list[str]:
    warnings = split_warnings(dataset, table)
    for warning in warnings:
        command.stderr.write(command.style.WARNING(f"warning: {warning}"))
    return warnings
