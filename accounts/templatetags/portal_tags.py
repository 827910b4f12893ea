"""Small helpers for the portal's templates."""

from django import template

from accounts.kernel.l10n import money as format_money

register = template.Library()


@register.simple_tag(takes_context=True)
def query_with(context, **changes) -> str:
    """The current query string with `changes` applied, e.g. for page links that keep filters."""
    params = context["request"].GET.copy()
    for key, value in changes.items():
        if value in (None, ""):
            params.pop(key, None)
        else:
            params[key] = value
    encoded = params.urlencode()
    return f"?{encoded}" if encoded else "?"


@register.inclusion_tag("_pagination.html", takes_context=True)
def paginate_links(context, page, param="page"):
    return {"page": page, "param": param, "request": context["request"]}


@register.filter
def status_tone(value: str) -> str:
    """A colour family for a status badge."""
    return {
        "active": "ok",
        "accepted": "ok",
        "answered": "ok",
        "deemed_accepted": "ok",
        "pending": "warn",
        "open": "warn",
        "pending_check": "warn",
        "notice_given": "warn",
        "suspended": "bad",
        "rejected": "bad",
        "terminated": "bad",
        "deleted": "bad",
        "objected": "bad",
    }.get(str(value), "neutral")


@register.simple_tag(takes_context=True)
def page_url(context, param: str, cursor) -> str:
    """A link to the page at `cursor` of the list paged by `param` (the first page when empty),
    keeping the other query parameters."""
    params = context["request"].GET.copy()
    if cursor in (None, ""):
        params.pop(param, None)
    else:
        params[param] = cursor
    return f"?{params.urlencode()}"


@register.filter
def money(amount, currency: str) -> str:
    """`{{ invoice.total|money:invoice.currency }}`: the amount in the active language."""
    return format_money(amount, currency)
