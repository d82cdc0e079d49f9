"""Sessions belong to the admin: public responses never carry the session cookie."""

from django.contrib.sessions.middleware import SessionMiddleware
from django.urls import reverse
from django.utils.cache import patch_vary_headers


def shared_caches_may_store(response):
    directives = {part.split("=")[0].strip().lower() for part in response.get("Cache-Control", "").split(",")}
    return "public" in directives


class AdminSessionMiddleware(SessionMiddleware):
    """Django's SessionMiddleware, except outside the admin (and on any response
    marked Cache-Control: public): the session is neither saved nor its cookie
    set, refreshed or deleted there. With SESSION_SAVE_EVERY_REQUEST, Django's
    would send a staff member's session cookie with every public page and PDF,
    which a CDN that ignores `Vary: Cookie` could hand to the next visitor.
    Reading public pages therefore does not extend a staff session's idle time;
    nothing outside the admin writes to the session."""

    def process_response(self, request, response):
        if request.path.startswith(reverse("admin:index")) and not shared_caches_may_store(response):
            return super().process_response(request, response)
        if getattr(request, "session", None) is not None and request.session.accessed:
            patch_vary_headers(response, ("Cookie",))
        return response
