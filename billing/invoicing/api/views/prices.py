"""Interest rates (art. 4.6), prices (art. 4.3), price changes with their cause (art. 4.4,
4.11) and the CPI changes (art. 4.11)."""

from __future__ import annotations

from urllib.parse import urlencode

from django.utils.translation import gettext
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers

from accounts import selectors as account_selectors
from accounts.api.views.base import CLIENT_PARAM, ERRORS_READ, Api, client_from_query, responses
from accounts.kernel.errors import ValidationFailed
from accounts.kernel.permissions import IsBillingStaff
from billing.invoicing import selectors
from billing.invoicing.services import interest as interest_services
from billing.invoicing.services import prices as price_services
from billing.models import CpiAdjustment, InterestRate, Price, PriceChange, UsageRecord

from ..serializers import (
    CpiAdjustmentSerializer,
    InterestRateSerializer,
    PriceChangeListSerializer,
    PriceChangeSerializer,
    PriceSerializer,
)
from ._common import DEFAULT_PAGE_SIZE, DecimalString, optional_client


class InterestRateListApi(Api):
    queryset = InterestRate.objects.none()
    permission_classes = [IsBillingStaff]

    class InputSerializer(serializers.Serializer):
        provider = serializers.SlugField(help_text="the profile's code, e.g. cm-cn")
        valid_from = serializers.DateField()
        annual_rate_pct = DecimalString(help_text="statutory commercial interest, percent a year")
        note = serializers.CharField(required=False, allow_blank=True, default="")

    @extend_schema(
        tags=["interest-rates"],
        parameters=[OpenApiParameter("provider", str, description="a profile's code")],
        responses={200: InterestRateSerializer(many=True), **ERRORS_READ},
    )
    def get(self, request):
        """The dated table of late-interest rates per profile (art. 4.6)."""
        return self.paginated(
            selectors.interest_rate_list(
                user=request.user, provider_code=request.query_params.get("provider", "")
            ),
            InterestRateSerializer,
        )

    @extend_schema(
        tags=["interest-rates"],
        request=InputSerializer,
        responses=responses(201, InterestRateSerializer),
    )
    def post(self, request):
        """Billing staff record a reference interest rate for a provider from a date; late interest uses the rate in force (art. 4.6)."""
        data = self.input(request)
        provider = (
            selectors.providers_visible_to(request.user).filter(code=data["provider"]).first()
        )
        if provider is None:
            raise ValidationFailed(
                {"provider": [gettext("No provider profile you work on has this code.")]}
            )
        rate = interest_services.interest_rate_enter(
            provider=provider,
            valid_from=data["valid_from"],
            annual_rate_pct=data["annual_rate_pct"],
            note=data["note"],
            acting_user=request.user,
        )
        return self.present(rate, InterestRateSerializer, status=201)


class PriceListApi(Api):
    queryset = Price.objects.none()
    write_permission_classes = [IsBillingStaff]

    class InputSerializer(serializers.Serializer):
        client = serializers.IntegerField()
        channel = serializers.ChoiceField(choices=UsageRecord.Channel.choices)
        unit_price = DecimalString(help_text="per message, excluding VAT, up to 6 decimals")
        valid_from = serializers.DateField()
        fixed = serializers.BooleanField(required=False, default=False)
        agreement_reference = serializers.CharField(
            required=False,
            allow_blank=True,
            default="",
            help_text="the written agreement, required for a fixed price (art. 4.3)",
        )
        currency = serializers.CharField(
            required=False,
            allow_blank=True,
            default="",
            help_text="ISO 4217; must be the agreement's currency (art. 4.1), which it defaults to",
        )

    @extend_schema(
        tags=["prices"],
        parameters=[CLIENT_PARAM],
        responses={200: PriceSerializer(many=True), **ERRORS_READ},
    )
    def get(self, request):
        """The client's price list per channel, newest first."""
        return self.paginated(
            selectors.price_list(user=request.user, client=optional_client(request)),
            PriceSerializer,
        )

    @extend_schema(
        tags=["prices"], request=InputSerializer, responses=responses(201, PriceSerializer)
    )
    def post(self, request):
        """Set a price from a day; a fixed price changes only by written agreement (art. 4.3)."""
        data = self.input(request)
        client = account_selectors.client_get(user=request.user, pk=data.pop("client"))
        price = price_services.price_set(client=client, acting_user=request.user, **data)
        return self.present(price, PriceSerializer, status=201)


class PriceChangeListApi(Api):
    queryset = PriceChange.objects.none()
    write_permission_classes = [IsBillingStaff]

    class InputSerializer(serializers.Serializer):
        client = serializers.IntegerField()
        channel = serializers.ChoiceField(choices=UsageRecord.Channel.choices)
        unit_price = DecimalString(help_text="per message, excluding VAT, up to 6 decimals")
        valid_from = serializers.DateField(help_text="after today: the client is told in advance")
        cause = serializers.ChoiceField(choices=price_services.LEGAL_CAUSE_CHOICES)
        explanation = serializers.CharField(help_text="what changed; the client reads it")

    @extend_schema(
        tags=["prices"],
        parameters=[
            CLIENT_PARAM,
            OpenApiParameter("cursor", str, description="`next_cursor` of the previous page"),
            OpenApiParameter(
                "page_size", int, description=f"1 to {selectors.MAX_PAGE_SIZE}, default 50"
            ),
        ],
        responses={200: PriceChangeListSerializer, **ERRORS_READ},
    )
    def get(self, request):
        """Every change of the client's prices with its cause, newest first (art. 4.2-4.4, 4.11).

        Keyset-paginated on (recorded at, id): follow `next` (or pass `next_cursor` as
        `?cursor=`)."""
        client = client_from_query(request)
        raw = request.query_params.get("page_size")
        if raw is not None and (not raw.isdigit() or not 1 <= int(raw) <= selectors.MAX_PAGE_SIZE):
            raise ValidationFailed(
                {
                    "page_size": [
                        gettext("page_size is a whole number from 1 to %(max_page_size)s.")
                        % {"max_page_size": selectors.MAX_PAGE_SIZE}
                    ]
                }
            )
        try:
            page = selectors.price_change_list(
                user=request.user,
                client=client,
                cursor=request.query_params.get("cursor") or None,
                page_size=int(raw) if raw else DEFAULT_PAGE_SIZE,
            )
        except ValueError:
            raise ValidationFailed(
                {"cursor": [gettext("This cursor is not one the list gave.")]}
            ) from None
        next_url = None
        if page.next_cursor:
            query = request.query_params.copy()
            query["cursor"] = page.next_cursor
            next_url = request.build_absolute_uri(f"{request.path}?{urlencode(query)}")
        return self.present(
            {"next_cursor": page.next_cursor, "next": next_url, "results": page.items},
            PriceChangeListSerializer,
        )

    @extend_schema(
        tags=["prices"], request=InputSerializer, responses=responses(201, PriceChangeSerializer)
    )
    def post(self, request):
        """Change a price, even a fixed one, for a cause of art. 4.4; the client is told now."""
        data = self.input(request)
        client = account_selectors.client_get(user=request.user, pk=data.pop("client"))
        change = price_services.price_change_for_cause(
            client=client, acting_user=request.user, **data
        )
        return self.present(change, PriceChangeSerializer, status=201)


class CpiAdjustmentListApi(Api):
    queryset = CpiAdjustment.objects.none()
    permission_classes = [IsBillingStaff]

    class InputSerializer(serializers.Serializer):
        provider = serializers.SlugField(help_text="the profile's code, e.g. cm-cn")
        year = serializers.IntegerField(help_text="the year whose January it applies in")
        rate_pct = DecimalString(help_text="the national CPI change, percent")

    @extend_schema(
        tags=["cpi-adjustments"],
        responses={200: CpiAdjustmentSerializer(many=True), **ERRORS_READ},
    )
    def get(self, request):
        """The CPI changes entered per profile and when the January job applied them (art. 4.11)."""
        return self.paginated(
            selectors.cpi_adjustment_list(user=request.user), CpiAdjustmentSerializer
        )

    @extend_schema(
        tags=["cpi-adjustments"],
        request=InputSerializer,
        responses=responses(201, CpiAdjustmentSerializer),
    )
    def post(self, request):
        """Enter the year's CPI change; in January it adjusts every price, fixed or general."""
        data = self.input(request)
        provider = (
            selectors.providers_visible_to(request.user).filter(code=data["provider"]).first()
        )
        if provider is None:
            raise ValidationFailed(
                {"provider": [gettext("No provider profile you work on has this code.")]}
            )
        row = price_services.cpi_rate_enter(
            provider=provider,
            year=data["year"],
            rate_pct=data["rate_pct"],
            acting_user=request.user,
        )
        return self.present(row, CpiAdjustmentSerializer, status=201)
