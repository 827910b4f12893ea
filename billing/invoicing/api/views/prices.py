"""Interest rates (art. 4.6) and prices (art. 4.3, 4.11)."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers

from accounts import selectors as account_selectors
from accounts.api.views.base import CLIENT_PARAM, ERRORS_READ, Api, responses
from accounts.kernel.errors import ValidationFailed
from accounts.kernel.permissions import IsBillingStaff
from accounts.models import Provider
from billing.invoicing import selectors
from billing.invoicing.services import interest as interest_services
from billing.invoicing.services import prices as price_services
from billing.models import InterestRate, Price, UsageRecord

from ..serializers import InterestRateSerializer, PriceSerializer
from ._common import DecimalString, optional_client


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
            selectors.interest_rate_list(provider_code=request.query_params.get("provider", "")),
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
        provider = Provider.objects.filter(code=data["provider"]).first()
        if provider is None:
            raise ValidationFailed({"provider": ["No provider profile has this code."]})
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
