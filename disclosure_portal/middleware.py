"""Sessions belong to the admin: public responses never carry a cookie."""

from django.urls import reverse


def shared_caches_may_store(response):
    directives = {part.split("=")[0].strip().lower() for part in response.get("Cache-Control", "").split(",")}
    return "public" in directives


class NoCookiesOutsideTheAdminMiddleware:
    """Outside the admin (and on any response marked Cache-Control: public) no
    cookie is set, refreshed or deleted. With SESSION_SAVE_EVERY_REQUEST, Django's
    SessionMiddleware would send a logged-in staff member's session cookie with
    every public page, PDF and JSON; a CDN that ignores `Vary: Cookie` could hand
    it to the next visitor. Placed before SessionMiddleware, so that it sees the
    response after it (and Django's deploy checks still find SessionMiddleware)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if not request.path.startswith(reverse("admin:index")) or shared_caches_may_store(response):
            response.cookies.clear()
        return response
