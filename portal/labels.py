"""Every model's and field's label in the reader's language (issue 11 §1: "the admin's labels for
our models").

Most labels are marked where they are declared. A field declared without one (a money field
through `money_field()`, a foreign key named after its model) gets Django's default, the
field's name, as plain English; `translate_model_labels()` (called once from
`PortalConfig.ready()`) wraps each such default in `gettext_lazy`, and `portal/model_labels.py`
lists them for `makemessages`, so the catalogues translate them. A test keeps the list complete.
Only the label object changes: a field's declared options, and so the migrations, stay as they
are.
"""

from __future__ import annotations

from collections.abc import Iterator

from django.apps import apps
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy

APPS = ("accounts", "billing", "dataprocessing")
# The texts wrapped at start-up: each must be listed in portal/model_labels.py (tested).
WRAPPED: set[str] = set()


def untranslated_labels() -> Iterator[tuple[object, str, str]]:
    """(owner, attribute, text) of every label still plain text."""
    for app in APPS:
        for model in apps.get_app_config(app).get_models():
            meta = model._meta
            for attribute in ("verbose_name", "verbose_name_plural"):
                value = getattr(meta, attribute)
                if not isinstance(value, Promise):
                    yield meta, attribute, str(value)
            for field in meta.get_fields():
                if field.auto_created or not hasattr(field, "verbose_name"):
                    continue
                if not isinstance(field.verbose_name, Promise):
                    yield field, "verbose_name", str(field.verbose_name)


def translate_model_labels() -> int:
    """Wrap every plain label in gettext_lazy; returns how many."""
    found = list(untranslated_labels())
    for owner, attribute, text in found:
        WRAPPED.add(text)
        setattr(owner, attribute, gettext_lazy(text))  # noqa: B010 - the label object itself
    return len(found)
