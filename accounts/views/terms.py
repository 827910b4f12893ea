"""Terms (art. 18.3): the client admin accepts or objects; staff publish new versions and see
the objections."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_POST

from accounts import selectors
from accounts.forms import ReasonForm, TermsPublishForm, add_service_error
from accounts.kernel.errors import ApplicationError
from accounts.kernel.languages import LANGUAGE_NAMES
from accounts.kernel.pages import not_allowed_is_403, paginate, staff_required
from accounts.models import TermsAcceptance
from accounts.services import terms as terms_services


@require_POST
@login_required
def terms_decide(request, pk: int, decision: str):
    acceptance = selectors.scoped_get(
        TermsAcceptance.objects.select_related("terms", "client"), user=request.user, pk=pk
    )
    try:
        with not_allowed_is_403():
            if decision == "accept":
                terms_services.terms_accept(acceptance=acceptance, acting_user=request.user)
                messages.success(
                    request,
                    _("You accepted terms %(version)s.") % {"version": acceptance.terms.version},
                )
            elif decision == "object":
                reason = ReasonForm(request.POST).data.get("reason", "")
                terms_services.terms_object(
                    acceptance=acceptance, acting_user=request.user, reason=reason
                )
                messages.success(
                    request,
                    _("Your objection to terms %(version)s is recorded.")
                    % {"version": acceptance.terms.version},
                )
            else:
                raise Http404
    except ApplicationError as exc:
        messages.error(request, exc.message)
    return redirect("dashboard")


@staff_required
def terms_publish(request):
    form = TermsPublishForm(request.POST or None, user=request.user)
    if request.method == "POST" and form.is_valid():
        try:
            with not_allowed_is_403():
                terms = terms_services.terms_publish(
                    acting_user=request.user, **form.service_arguments()
                )
        except ApplicationError as exc:
            add_service_error(form, exc)
        else:
            messages.success(
                request,
                _("Terms %(version)s published; active clients are notified (art. 18.3).")
                % {"version": terms.version},
            )
            return redirect("terms_publish")
    versions = paginate(
        request,
        selectors.terms_versions_visible_to(request.user).select_related("published_by"),
    )
    return render(
        request,
        "accounts/terms_publish.html",
        {
            "form": form,
            "versions": versions,
            "objections": selectors.terms_objections(user=request.user)[:50],
        },
    )


@login_required
def terms_read(request, pk: int):
    """A terms version's text in the reader's language where it exists, else in English, with
    the note that the English version prevails (art. 18.6)."""
    terms = selectors.terms_version_get(user=request.user, pk=pk)
    wanted = request.GET.get("lang") or get_language()
    client = request.user.client if request.user.client_id else None
    shown = terms_services.terms_text_shown(terms=terms, language=wanted, client=client)
    return render(
        request,
        "accounts/terms_read.html",
        {
            "terms": terms,
            "shown": shown,
            "text": terms.texts.get(shown, ""),
            "versions": [(code, LANGUAGE_NAMES.get(code, code)) for code in terms.texts],
            "language_names": LANGUAGE_NAMES,
        },
    )
