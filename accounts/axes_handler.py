"""django-axes' database handler with a lockout threshold of its own per parameter set.

The lockout (art. 5.2: credentials kept secure) counts failures two ways
(`AXES_LOCKOUT_PARAMETERS`): one username from one IP address, locked after
`AXES_FAILURE_LIMIT` failures, and one IP address across every username, locked after
`PORTAL_AXES_IP_FAILURE_LIMIT` — higher, so the people of one office behind one address do not
lock each other out by a few typos, while spraying one password over many usernames is stopped.
django-axes 8 has a single `AXES_FAILURE_LIMIT` for every set, so this handler scales each
set's count to it. A successful sign-in forgives that user's own failures only, never those of
the whole IP address (else a sprayer holding one valid account could reset its count).
"""

from __future__ import annotations

from axes.handlers.database import AxesDatabaseHandler
from axes.helpers import get_failure_limit, get_lockout_parameters
from django.conf import settings
from django.db.models import Sum


def _is_ip_only(parameter) -> bool:
    names = [parameter] if isinstance(parameter, str) else list(parameter)
    return names == ["ip_address"]


class AxesHandler(AxesDatabaseHandler):
    def get_failures(self, request, credentials: dict | None = None) -> int:
        limit = get_failure_limit(request, credentials)
        ip_limit = max(1, int(getattr(settings, "PORTAL_AXES_IP_FAILURE_LIMIT", limit)))
        parameters = get_lockout_parameters(request, credentials)
        effective = 0
        for parameter, attempts in zip(
            parameters, self.get_user_attempts(request, credentials), strict=True
        ):
            failures = attempts.aggregate(n=Sum("failures_since_start"))["n"] or 0
            own_limit = ip_limit if _is_ip_only(parameter) else limit
            # failures >= own_limit exactly when this scaled count reaches `limit`
            effective = max(effective, failures * limit // own_limit)
        return effective

    def reset_user_attempts(self, request, credentials: dict | None = None) -> int:
        parameters = get_lockout_parameters(request, credentials)
        count = 0
        for parameter, attempts in zip(
            parameters, self.filter_user_attempts(request, credentials), strict=True
        ):
            if _is_ip_only(parameter):
                continue
            deleted, _ = attempts.delete()
            count += deleted
        return count
