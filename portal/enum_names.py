"""Print ENUM_NAME_OVERRIDES for drf-spectacular: one schema name per model choice set.

Run `python -m portal.enum_names` after adding a choices class and paste the result into
settings.SPECTACULAR_SETTINGS (the settings cannot import models themselves).
"""

import os

import django


def overrides() -> dict[str, str]:
    from django.apps import apps
    from django.db import models

    result = {}
    seen = set()
    for app in ("accounts", "billing", "dataprocessing"):
        for model in apps.get_app_config(app).get_models():
            if model.__name__.startswith("Historical"):
                continue
            for name, value in vars(model).items():
                if isinstance(value, type) and issubclass(value, models.Choices):
                    # drf-spectacular wants one name per distinct choice set: the first keeps it.
                    values = tuple(sorted(str(v) for v in value.values))
                    if values in seen:
                        continue
                    seen.add(values)
                    result[f"{model.__name__}{name}Enum"] = (
                        f"{model.__module__}.{model.__name__}.{name}"
                    )
    return dict(sorted(result.items()))


if __name__ == "__main__":
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")
    django.setup()
    print("ENUM_NAME_OVERRIDES = {")
    for key, value in overrides().items():
        print(f'    "{key}": "{value}",')
    print("}")
