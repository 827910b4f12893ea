"""`{% wallet_charts client %}` and `{% invoice_charts client %}`: the pictures of issue 15 §1,
drawn by `templates/_chart.html` from `billing.prepaid.charts`."""

from django import template

from billing.prepaid import charts

register = template.Library()


@register.inclusion_tag("billing/_wallet_charts.html")
def wallet_charts(client):
    """The wallet page's (client and staff): usage per day and month against the limit, the
    balance over time, the coming expiries."""
    return {
        "charts": [
            c
            for c in (
                charts.usage_per_day(client),
                charts.usage_per_month(client),
                charts.balance_over_time(client),
                charts.lot_expiries(client),
            )
            if c is not None
        ]
    }


@register.inclusion_tag("billing/_wallet_charts.html")
def invoice_charts(client):
    """The dashboard's: invoices by state over twelve months and usage per month."""
    return {"charts": [charts.invoices_by_state(client), charts.usage_per_month(client)]}
