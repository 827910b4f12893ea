"""The message catalogues: every message translated for 简体中文 and Nederlands, none fuzzy,
placeholders kept, and nothing marked for translation left out of the catalogue."""

import re
import shutil
import subprocess
import sys
from pathlib import Path

import polib
import pytest
from django.conf import settings
from django.urls import reverse
from django.utils import translation

ROOT = Path(settings.BASE_DIR)
LANGUAGES = ["zh_Hans", "nl"]
PLACEHOLDER = re.compile(r"%\((\w+)\)[sd]|\{(\w*)\}")


def _catalogue(language: str) -> polib.POFile:
    return polib.pofile(str(ROOT / "locale" / language / "LC_MESSAGES" / "django.po"))


def _ids(po: polib.POFile) -> set[tuple[str | None, str]]:
    return {(e.msgctxt, e.msgid) for e in po if not e.obsolete}


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_message_is_translated_and_none_is_fuzzy(language):
    po = _catalogue(language)
    assert len(po) > 0
    assert [e.msgid for e in po.untranslated_entries()] == []
    assert [e.msgid for e in po.fuzzy_entries()] == []
    assert not po.metadata_is_fuzzy
    assert [e.msgid for e in po.obsolete_entries()] == []


@pytest.mark.parametrize("language", LANGUAGES)
def test_translations_keep_the_placeholders(language):
    for entry in _catalogue(language):
        wanted = sorted(PLACEHOLDER.findall(entry.msgid))
        for text in [entry.msgstr, *entry.msgstr_plural.values()]:
            if text:
                assert sorted(PLACEHOLDER.findall(text)) == wanted, entry.msgid


def test_makemessages_would_add_nothing(tmp_path):
    """Extract the messages from a copy of the tree: the committed catalogues already hold
    every one (nothing marked for translation stays outside them)."""
    for name in ("accounts", "billing", "dataprocessing", "portal", "templates", "locale"):
        shutil.copytree(ROOT / name, tmp_path / name, ignore=shutil.ignore_patterns("*.mo"))
    shutil.copy(ROOT / "manage.py", tmp_path / "manage.py")
    subprocess.run(
        [sys.executable, "manage.py", "makemessages", *[f"-l{lang}" for lang in LANGUAGES]],
        cwd=tmp_path,
        check=True,
        capture_output=True,
        env={"PATH": "/usr/bin:/bin", "DJANGO_SETTINGS_MODULE": "portal.settings"},
    )
    for language in LANGUAGES:
        extracted = polib.pofile(str(tmp_path / "locale" / language / "LC_MESSAGES" / "django.po"))
        missing = _ids(extracted) - _ids(_catalogue(language))
        assert missing == set(), f"not in the {language} catalogue: {sorted(missing)[:10]}"


@pytest.mark.parametrize(
    ("language", "sign_in"), [("zh-hans", "登录"), ("nl", "Inloggen"), ("en", "Sign in")]
)
def test_the_compiled_catalogue_is_what_the_pages_use(client, db, language, sign_in):
    with translation.override(language):
        assert translation.gettext("Sign in") == sign_in
    page = client.get(reverse("login"), HTTP_ACCEPT_LANGUAGE=language).content.decode()
    assert f"<h1>{sign_in}</h1>" in page


def test_every_model_and_field_label_is_translatable_and_listed():
    """Issue 11 §1, the admin's labels: after start-up no label of our models is plain text, and
    each default label is in portal/model_labels.py (so makemessages, and the test above, see it)."""
    from django.apps import apps
    from django.utils.functional import Promise

    from portal.labels import APPS, WRAPPED
    from portal.model_labels import LABELS

    plain = []
    for app in APPS:
        for model in apps.get_app_config(app).get_models():
            meta = model._meta
            labels = [meta.verbose_name, meta.verbose_name_plural] + [
                f.verbose_name
                for f in meta.get_fields()
                if not f.auto_created and hasattr(f, "verbose_name")
            ]
            plain += [f"{model.__name__}: {v}" for v in labels if not isinstance(v, Promise)]
    assert plain == []
    assert sorted(WRAPPED - set(LABELS)) == []
    assert len(LABELS) == len(set(LABELS)) > 100


def test_a_default_label_reads_in_chinese():
    from django.utils import translation

    from billing.models import Invoice

    with translation.override("zh-hans"):
        assert str(Invoice._meta.get_field("total").verbose_name) == "合计"
