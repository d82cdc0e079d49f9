"""One definition of "the current version": the queryset's, used by every reader."""

import re
from pathlib import Path

import pytest
from django.urls import resolve

from disclosures.models import Publication

from .test_publishing import new_organization, publish_change

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parent.parent


def test_current_is_each_organizations_highest_version(example_org):
    publish_change(example_org.sheet, "第2版", hours_system="24時間")
    other = new_organization("other", "別の機関")
    publish_change(other.sheet, "初版")
    current = {
        (p.organization.slug, p.number) for p in Publication.objects.current().select_related("organization")
    }
    assert current == {("qolead", 2), ("other", 1)}


def test_for_slug_reads_only_that_organizations_versions(example_org):
    publish_change(new_organization("other", "別の機関").sheet, "初版")
    assert [p.organization.slug for p in Publication.objects.for_slug("qolead")] == ["qolead"]
    assert Publication.objects.for_slug("qolead").current().get().number == 1


def test_with_current_gives_every_version_the_current_number(example_org):
    publish_change(example_org.sheet, "第2版", hours_system="24時間")
    versions = Publication.objects.for_slug("qolead").with_current().order_by("number")
    assert [(p.number, p.latest_number) for p in versions] == [(1, 2), (2, 2)]


def test_a_versions_absolute_url_is_its_permanent_page(example_org):
    publication = Publication.objects.get()
    assert publication.get_absolute_url() == "/qolead/versions/1/"
    assert example_org.get_absolute_url() == "/qolead/"


def test_admin_shows_view_on_site_for_a_version(staff_client, example_org):
    publication = Publication.objects.get()
    page = staff_client.get(
        f"/{admin_path()}disclosures/publication/{publication.pk}/change/"
    ).content.decode()
    assert re.search(r'<a href="/qolead/versions/1/" class="viewsitelink">サイト上で表示</a>', page)


def test_admin_shows_view_on_site_for_a_published_organization_only(staff_client, example_org):
    page = staff_client.get(
        f"/{admin_path()}disclosures/organization/{example_org.pk}/change/"
    ).content.decode()
    assert '<a href="/qolead/" class="viewsitelink">' in page
    unpublished = new_organization("draft-only", "未公開の機関")
    page = staff_client.get(
        f"/{admin_path()}disclosures/organization/{unpublished.pk}/change/"
    ).content.decode()
    assert "viewsitelink" not in page


def test_the_feed_lives_in_its_own_module():
    from disclosures import feeds, views

    assert resolve("/qolead/feed/").func.__module__ == "disclosures.feeds"  # wraps() keeps it

    assert not hasattr(views, "VersionFeed")
    assert feeds.VersionFeed.item_link is feeds.Feed.item_link  # entries link to get_absolute_url()


def test_the_current_version_is_defined_in_the_model_only():
    """No other module orders versions by number to find the current one, nor
    reads or writes the current-version cache key."""
    offenders = []
    for path in sorted((ROOT / "disclosures").rglob("*.py")):
        if "migrations" in path.parts:
            continue
        text = path.read_text(encoding="utf-8")
        if path.name != "models.py" and re.search(r"order_by\(\s*\"-number\"", text):
            offenders.append(f"{path.name}: order_by(-number)")
        if path.name != "current_version.py" and "disclosure:current:" in text:
            offenders.append(f"{path.name}: current-version cache key")
    assert offenders == []


def admin_path():
    from django.conf import settings

    return settings.ADMIN_URL


def test_view_on_site_redirects_a_member_only_to_their_own_organizations_pages(
    django_user_model, example_org
):
    from django.contrib.contenttypes.models import ContentType
    from django.test import Client
    from django.urls import reverse

    from disclosures.models import Membership, Organization

    editor = django_user_model.objects.create_user(
        "editor", "editor@example.jp", "pw-for-tests-123", is_staff=True
    )
    Membership.objects.create(organization=example_org, user=editor, role=Membership.Role.EDITOR)
    other = new_organization("tasha", "他社株式会社")
    publish_change(other.sheet, "初版")
    client = Client()
    client.force_login(editor)

    def view_on_site(obj):
        content_type = ContentType.objects.get_for_model(obj)
        return client.get(reverse("admin:view_on_site", args=[content_type.pk, obj.pk]))

    own = Publication.objects.get(organization=example_org)
    assert view_on_site(own)["Location"].endswith("/qolead/versions/1/")
    assert view_on_site(Organization.objects.get(slug="qolead"))["Location"].endswith("/qolead/")
    for obj in (Publication.objects.get(organization=other), other):
        response = view_on_site(obj)
        assert response.status_code == 404
        assert "tasha" not in response.get("Location", "") + response.content.decode()
