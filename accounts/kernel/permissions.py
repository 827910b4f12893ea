"""Role permissions for the API (art. 5.2: access only for the client's authorised employees).

These answer "may this role call this endpoint at all". Whether the object belongs to the
caller is answered by the selectors (another client's id is 404), and every service checks
the role again, so a view that forgets a permission still cannot break a rule.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from rest_framework.permissions import BasePermission

if TYPE_CHECKING:
    from rest_framework.request import Request
    from rest_framework.views import APIView

    from accounts.models import User


class RolePermission(BasePermission):
    message = "Your role may not do this."

    def has_permission(self, request: Request, view: APIView) -> bool:
        user = request.user
        return bool(user and user.is_authenticated and user.is_active and self.allows(user))

    def allows(self, user: User) -> bool:  # pragma: no cover - abstract
        raise NotImplementedError


class IsClientUser(RolePermission):
    """A client admin or client viewer (a member of exactly one client)."""

    message = "Only a client's users may do this."

    def allows(self, user: User) -> bool:
        return user.is_client_user


class IsClientAdmin(RolePermission):
    message = "Only a client admin may do this (art. 5.2)."

    def allows(self, user: User) -> bool:
        return user.is_client_admin


class IsProviderStaff(RolePermission):
    """Billing staff or compliance officers."""

    message = "Only provider staff may do this."

    def allows(self, user: User) -> bool:
        return user.is_provider_staff


class IsBillingStaff(RolePermission):
    message = "Only billing staff may do this."

    def allows(self, user: User) -> bool:
        return user.is_billing_staff


class IsComplianceOfficer(RolePermission):
    message = "Only a compliance officer may do this."

    def allows(self, user: User) -> bool:
        return user.is_compliance_officer


class IsClientUserOrStaff(RolePermission):
    """People: a client's users and provider staff (not the messaging platform's key)."""

    message = "Only a client's users and provider staff may do this."

    def allows(self, user: User) -> bool:
        return user.is_client_user or user.is_provider_staff


class IsClientAdminOrStaff(RolePermission):
    message = "Only a client admin or provider staff may do this."

    def allows(self, user: User) -> bool:
        return user.is_client_admin or user.is_provider_staff


class IsClientAdminOrBillingStaff(RolePermission):
    message = "Only a client admin or billing staff may do this."

    def allows(self, user: User) -> bool:
        return user.is_client_admin or user.is_billing_staff
