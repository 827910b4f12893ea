"""The Django admin scoped like every other staff page (art. 11.1, 21.4).

Staff with admin access see, in every list, change form and choice, only the rows of the
providers they serve; the group operator (`all_providers`) and superusers see everything.
Rather than a mixin on each ModelAdmin (easy to forget on the next one), `scope_admin_site`
wraps every registered ModelAdmin once all apps are loaded (portal/apps.py), finding each
model's way to its provider through its foreign keys.
"""

from django.contrib import admin
from django.db import models
from django.db.models import Q, QuerySet

from .models import Provider, User
from .selectors import provider_scope

# Followed in this order: the first that leads to a provider is the model's path.
_PARENT_FIELDS = ("provider", "client", "invoice", "wallet", "breach", "change", "account", "lot")


def provider_path(model: type[models.Model], depth: int = 4) -> str | None:
    """The lookup from `model` to its provider's id (`pk` for Provider itself), or None for
    rows that belong to no provider (exchange rates, the idempotency store)."""
    if model is Provider:
        return "pk"
    if depth == 0:
        return None
    fields = {f.name: f for f in model._meta.get_fields() if getattr(f, "many_to_one", False)}
    for name in _PARENT_FIELDS:
        field = fields.get(name)
        if field is None or field.related_model is None:
            continue
        if field.related_model is Provider:
            return f"{name}_id"
        rest = provider_path(field.related_model, depth - 1)
        if rest is not None:
            return f"{name}__{rest}"
    return None


def scope_queryset(queryset: QuerySet, user: User) -> QuerySet:
    """`queryset` narrowed to the providers `user` serves (unchanged for the group operator)."""
    ids = provider_scope(user)
    if ids is None:
        return queryset
    model = queryset.model
    if model is User:  # staff by their providers, client users by their client's
        return queryset.filter(
            Q(providers__in=ids) | Q(client__provider__in=ids) | Q(pk=user.pk)
        ).distinct()
    path = provider_path(model)
    if path is None:
        return queryset
    return queryset.filter(**{f"{path}__in": ids})


class ProviderScopedAdminMixin:
    """Lists, change forms and foreign-key choices narrowed to the user's providers."""

    def get_queryset(self, request):
        return scope_queryset(super().get_queryset(request), request.user)

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        field = super().formfield_for_foreignkey(db_field, request, **kwargs)
        if field is not None and hasattr(field, "queryset"):
            field.queryset = scope_queryset(field.queryset, request.user)
        return field

    def formfield_for_manytomany(self, db_field, request, **kwargs):
        field = super().formfield_for_manytomany(db_field, request, **kwargs)
        if field is not None and hasattr(field, "queryset"):
            field.queryset = scope_queryset(field.queryset, request.user)
        return field


def scope_admin_site(site: admin.AdminSite) -> None:
    """Wrap every registered ModelAdmin in ProviderScopedAdminMixin (idempotent)."""
    for model, model_admin in list(site._registry.items()):
        cls = type(model_admin)
        if issubclass(cls, ProviderScopedAdminMixin):
            continue
        scoped_cls = type(
            cls.__name__, (ProviderScopedAdminMixin, cls), {"__module__": cls.__module__}
        )
        site._registry[model] = scoped_cls(model, site)
