import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "disclosure_portal.settings")

django_application = get_wsgi_application()

from disclosures.public_cache import prefetch_generation  # noqa: E402 (needs the settings)

application = prefetch_generation(django_application)
