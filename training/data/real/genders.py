"""Gender labels for real datasets: user-supplied per-subject tables (a mapping or a CSV file).

None of MPIIFaceGaze, ETH-XGaze and GazeCapture publishes per-subject gender, and ColumbiaGaze publishes only
counts, so a loader returns `GENDER_UNKNOWN` unless the user supplies a table. A table maps the dataset's own
subject names (``p00``, ``subject0000``, ``00002``, ``0001``) to a gender given as ``0``/``1``/``-1`` or as text
(``female``/``f``, ``male``/``m``, ``unknown``/empty).

The CSV form has a header row with at least the columns ``subject`` and ``gender``::

    subject,gender
    0001,male
    0002,female
"""

from __future__ import annotations

import csv
from collections.abc import Callable, Mapping
from pathlib import Path

from privategaze.errors import ConfigError, DatasetFormatError, DatasetNotFoundError
from privategaze.training.data.sample import FEMALE, GENDER_UNKNOWN, MALE

GenderTable = Mapping[str, int | str] | str | Path

_GENDER_WORDS = {
    "0": FEMALE,
    "f": FEMALE,
    "female": FEMALE,
    "woman": FEMALE,
    "1": MALE,
    "m": MALE,
    "male": MALE,
    "man": MALE,
    "-1": GENDER_UNKNOWN,
    "": GENDER_UNKNOWN,
    "u": GENDER_UNKNOWN,
    "unknown": GENDER_UNKNOWN,
    "na": GENDER_UNKNOWN,
}


def parse_gender(value: int | str) -> int:
    """Map a gender given as 0/1/-1 or as text to `FEMALE`, `MALE` or `GENDER_UNKNOWN`.

    Raises:
        ValueError: the value is none of the accepted spellings (callers translate it).
    """
    key = str(value).strip().lower()
    if key not in _GENDER_WORDS:
        raise ValueError(f"{value!r} is not a gender; use 0/female/f, 1/male/m or -1/unknown")
    return _GENDER_WORDS[key]


def load_gender_table(table: GenderTable | None, normalize: Callable[[str], str] = str.strip) -> dict[str, int]:
    """Read a per-subject gender table into ``{subject name: gender code}``.

    Args:
        table: a mapping, a path to a CSV file with columns ``subject,gender``, or None for no table.
        normalize: maps a subject name as written by the user to the loader's spelling (e.g. "1" -> "0001").

    Raises:
        ConfigError: a mapping holds a value that is not a gender.
        DatasetNotFoundError: the CSV file does not exist.
        DatasetFormatError: the CSV file lacks the columns or holds a value that is not a gender.
    """
    if table is None:
        return {}
    if isinstance(table, Mapping):
        try:
            return {normalize(str(name)): parse_gender(value) for name, value in table.items()}
        except ValueError as exc:
            raise ConfigError(f"gender_by_subject: {exc}.") from exc
    return _read_gender_csv(Path(table), normalize)


def _read_gender_csv(path: Path, normalize: Callable[[str], str]) -> dict[str, int]:
    if not path.is_file():
        raise DatasetNotFoundError(
            f"{path} does not exist; expected a CSV file with a header 'subject,gender' and one row per subject."
        )
    try:
        with path.open(newline="", encoding="utf-8") as stream:
            reader = csv.DictReader(stream)
            columns = [name.strip().lower() for name in reader.fieldnames or []]
            if not {"subject", "gender"} <= set(columns):
                raise DatasetFormatError(
                    f"{path}: header has columns {columns}; expected at least 'subject' and 'gender' "
                    "(e.g. 'subject,gender' then rows like '0001,male')."
                )
            rows = [{k.strip().lower(): (v or "") for k, v in row.items() if k is not None} for row in reader]
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise DatasetFormatError(f"{path}: cannot read the gender CSV ({exc}); expected UTF-8 text.") from exc
    table = {}
    for line, row in enumerate(rows, start=2):
        try:
            table[normalize(row["subject"].strip())] = parse_gender(row["gender"])
        except ValueError as exc:
            raise DatasetFormatError(f"{path}, line {line}: {exc}.") from exc
    return table
