"""What every app's page forms share: the input style and the one-time key of a money form."""

import uuid
from typing import Any

from django import forms

DATETIME_LOCAL = "%Y-%m-%dT%H:%M"
# portal.css styles text inputs; date inputs get the same look here.
INPUT_STYLE = "padding:.45rem .6rem;border:1px solid #c7cfd9;border-radius:6px;font:inherit"


class OneTimeKeyMixin(forms.Form):
    """A hidden one-time key rendered with the form: a double submit sends the same key, so the
    service (idempotent per key) records the movement once."""

    key = forms.UUIDField(widget=forms.HiddenInput)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if not self.is_bound:
            self.initial.setdefault("key", str(uuid.uuid4()))
