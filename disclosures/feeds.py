"""The Atom feed of an organisation's published versions (更新情報)."""

from django.contrib.syndication.views import Feed
from django.http import Http404
from django.template.defaultfilters import linebreaksbr
from django.urls import reverse
from django.utils.feedgenerator import Atom1Feed

from .models import Publication


class VersionFeed(Feed):
    feed_type = Atom1Feed

    def get_object(self, request, slug):
        publications = list(Publication.objects.for_slug(slug).defer("pdf", "snapshot").newest_first()[:50])
        if not publications:
            raise Http404("公開された版が見つかりません。")
        return publications

    def title(self, publications):
        return f"{publications[0].title} 重要事項の開示 更新情報"

    # RFC 4287 §4.1.1: a feed has an author unless every entry has one. Both
    # are the agency: the feed its current name, each entry the name it had then.
    def author_name(self, publications):
        return publications[0].title

    def feed_url(self, publications):
        return reverse("disclosures:feed", kwargs={"slug": publications[0].organization.slug})

    def subtitle(self, publications):
        return (
            "事業運営上開示すべき重要事項の概要[代行機関] と 最低限のガイドライン遵守チェックリスト の公開版"
        )

    def link(self, publications):
        return publications[0].organization.get_absolute_url()

    def items(self, publications):
        return publications

    def item_title(self, publication):
        # The agency's name in every title: feed readers list entries of many feeds together.
        return f"{publication.title} 第{publication.number}版を公開しました"

    def item_author_name(self, publication):
        return publication.title

    def item_description(self, publication):
        # Atom's summary is type="html": the note is plain text, so escape it.
        return linebreaksbr(publication.change_note, autoescape=True)

    # A scheduled version is in the feed from its go-live time, dated then.
    def item_pubdate(self, publication):
        return publication.live_from

    def item_updateddate(self, publication):
        return publication.live_from


class AllVersionsFeed(VersionFeed):
    """Every organisation's published versions, newest first (/feed/): only the
    versions the public sees (live: never a scheduled one before its go-live, never a
    cancelled one)."""

    def get_object(self, request):
        return list(
            Publication.objects.live()
            .select_related("organization")
            .defer("pdf", "snapshot")
            .order_by("-live_from", "-pk")[:50]
        )

    def title(self, publications):
        return "代行機関 重要事項の開示 すべての代行機関の更新情報"

    def author_name(self, publications):
        return "代行機関 重要事項の開示"

    def feed_url(self, publications):
        return reverse("disclosures:all_feed")

    def link(self, publications):
        return reverse("disclosures:index")
