"""Role permissions of the data-processing API, beside those of accounts.api.permissions.

As there, they answer "may this role call this endpoint at all"; ownership is answered by the
selectors (another client's id is 404) and every service checks the role again.
"""

from accounts.api.permissions import _RolePermission


class IsClientAdminOrComplianceOfficer(_RolePermission):
    message = "Only a client admin or a compliance officer may do this."

    def allows(self, user) -> bool:
        return user.is_client_admin or user.is_compliance_officer
