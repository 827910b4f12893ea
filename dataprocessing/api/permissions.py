"""Role permissions of the data-processing API, beside those of accounts.kernel.permissions.

As there, they answer "may this role call this endpoint at all"; ownership is answered by the
selectors (another client's id is 404) and every service checks the role again.
"""

from accounts.kernel.permissions import RolePermission
from dataprocessing.selectors import files_for_clients


class IsClientAdminOrComplianceOfficer(RolePermission):
    message = "Only a client admin or a compliance officer may do this."

    def allows(self, user) -> bool:
        return files_for_clients(user)
