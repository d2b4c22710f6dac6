"""The .po catalogs are complete: every string the code and the templates mark for translation
has a Spanish and a Portuguese translation, none fuzzy, with the same placeholders."""

import re
import shutil
import subprocess
import sys
from pathlib import Path

import polib
import pytest

LEALTAD = Path(__file__).resolve().parents[2]
LANGUAGES = ("es", "pt_BR")
PLACEHOLDER = re.compile(r"%\((\w+)\)[sd]|%[sd]")


def catalog(root: Path, language: str) -> polib.POFile:
    return polib.pofile(str(root / "locale" / language / "LC_MESSAGES" / "django.po"))


def problems(po: polib.POFile) -> list[str]:
    found = []
    for entry in po:
        if entry.obsolete:
            continue
        name = f"{entry.msgctxt + ' | ' if entry.msgctxt else ''}{entry.msgid!r}"
        if "fuzzy" in entry.flags:
            found.append(f"fuzzy: {name}")
        translations = list(entry.msgstr_plural.values()) if entry.msgid_plural else [entry.msgstr]
        if not all(t.strip() for t in translations):
            found.append(f"untranslated: {name}")
            continue
        if "python-format" in entry.flags:
            wanted = sorted(PLACEHOLDER.findall(entry.msgid_plural or entry.msgid))
            for text in translations:
                if sorted(PLACEHOLDER.findall(text)) != wanted and not entry.msgid_plural:
                    found.append(f"placeholders differ: {name} → {text!r}")
    return found


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_catalog_has_no_untranslated_or_fuzzy_entry(language):
    assert problems(catalog(LEALTAD, language)) == []


@pytest.mark.skipif(shutil.which("xgettext") is None, reason="needs GNU gettext (xgettext)")
def test_every_string_marked_in_the_code_is_translated(tmp_path):
    """makemessages on a copy of the sources: any string marked in code or templates that the
    catalogs lack comes back untranslated (or fuzzy, msgmerge's guess) in the copy."""
    copy = tmp_path / "lealtad"
    shutil.copytree(
        LEALTAD,
        copy,
        ignore=shutil.ignore_patterns("tests", "__pycache__", "*.mo", "static", "migrations"),
    )
    subprocess.run(
        [
            sys.executable,
            "-m",
            "django",
            "makemessages",
            "-l",
            "es",
            "-l",
            "pt_BR",
            "--no-obsolete",
            "--no-location",
            "-v",
            "0",
        ],
        cwd=copy,
        check=True,
        env={"DJANGO_SETTINGS_MODULE": "lealtad.settings", "PATH": "/usr/bin:/bin"},
    )
    for language in LANGUAGES:
        assert problems(catalog(copy, language)) == [], language
