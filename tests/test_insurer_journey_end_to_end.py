"""Issue 15's "Done when", tried as a new visitor would, through the pages only.

With 1,000 generated agencies (manage.py generate_directory_bench, about 4 s here):
filter the directory to 健診機関グループ in 東京都 that have 遵守済, compare three of the
results by ticking them, download the comparison's CSV and read it as Excel would
(UTF-8 with a BOM), subscribe to one of them, confirm from the mail received by the
test SMTP server, get one mail when that agency publishes (every link in it opens),
unsubscribe with its link in one click, and a later publish mails no one.

Every step goes through the forms and links the pages show (tests/html_forms.py reads
them as a browser does), never through a URL the test makes up, so a page that stops
offering a step fails here.
"""

import csv
import io
import re
from html import unescape
from urllib.parse import urlsplit

import pytest
from django.core.management import call_command

from checklist.models import Compliance
from disclosures.layout import COMPLIANCE_FIELD
from disclosures.models import Classification, Organization, Publication
from disclosures.publishing import publish
from subscriptions.models import Subscription

from .factories import change_sheet
from .html_forms import form_to
from .smtp import run_queued_tasks
from .test_directory import DirectoryReader

pytestmark = pytest.mark.django_db

AGENCIES = 1000
SITE = "https://disclosure.example.jp"  # SITE_URL of the smtp_server fixture
LINK = re.compile(r"https://disclosure\.example\.jp/\S+")
EMAIL = "hokensha.tanto@example.jp"
CLASSIFICATION = Classification.INSTITUTION_GROUP.label  # 健診・保健指導機関サイド（健診機関グループ）
COMPLIED = Compliance.COMPLIED.label  # 最低限のガイドラインを遵守済


def page(client, url):
    response = client.get(url)
    assert response.status_code == 200, (url, response.status_code)
    return response.content.decode()


def matching_slugs():
    """What the filter should find, read from the published snapshots themselves
    (not from the directory's own table)."""
    slugs = set()
    for publication in Publication.objects.current().select_related("organization"):
        values = publication.snapshot["sheet"]["values"]
        if (
            values["classification"] == Classification.INSTITUTION_GROUP
            and "東京都" in values["facility_prefectures"].split("、")
            and values[COMPLIANCE_FIELD] == Compliance.COMPLIED
        ):
            slugs.add(publication.organization.slug)
    return slugs


def filtered_directory(client):
    """The directory filtered as a visitor does it: the form's selects, 絞り込む, then
    every page of the results. Returns the first page's HTML and every card."""
    filters = form_to(page(client, "/"), "/")
    filters.choose("classification", CLASSIFICATION)
    filters.choose("prefecture", "東京都")
    filters.choose("compliance", COMPLIED)
    first = url = "/?" + filters.query()
    cards = []
    while url:
        html = page(client, url)
        cards += DirectoryReader(html).entries
        following = re.search(r'<a href="([^"]*)" rel="next">', html)
        url = "/" + unescape(following.group(1)) if following else None
    return page(client, first), cards


def table_row_labels(html):
    """Each row of the comparison table (after the version facts): its labels joined by
    ' › ' as the CSV writes them, and whether the page marks it 違いあり."""
    rows = []
    for row_class, row_html in re.findall(r'<tr class="(differs|same)">(.*?)</tr>', html, re.S):
        labels = re.findall(r'<span class="label-text">(.*?)</span>', row_html.split("</th>")[0], re.S)
        rows.append((" › ".join(unescape(label) for label in labels), row_class == "differs"))
    return rows


def links_in(mail, inbox):
    return [link.removeprefix(SITE) for link in LINK.findall(inbox.body(mail))]


def publish_new_version(organization, note):
    change_sheet(organization.sheet, hours_system=f"平日 9:00-18:00（{note}）")
    return publish(organization.sheet, change_note=note)


def test_an_insurer_finds_compares_subscribes_and_unsubscribes(client, official_template, smtp_server):
    call_command("generate_directory_bench", count=AGENCIES, verbosity=0)
    assert Publication.objects.current().count() == AGENCIES

    # 1. The directory filtered to 健診機関グループ in 東京都 that have 遵守済: those only, all of them.
    first_page, cards = filtered_directory(client)
    expected = matching_slugs()
    assert len(expected) >= 3, "the bench data must give something to compare"
    assert len(cards) == len(expected)
    assert f"条件に合う代行機関 {len(expected)}件" in DirectoryReader(first_page).count
    for card in cards:
        assert card["代行機関の分類"] == CLASSIFICATION
        assert "東京都" in card["都道府県名"].split("、")
        assert card["ガイドラインの遵守"] == COMPLIED
    names = {Organization.objects.get(slug=slug).name for slug in expected}
    assert {card["名称"] for card in cards} == names

    # 2. Three of them ticked on the directory and compared.
    choose = form_to(first_page, "/compare/")
    three = [box.value for box in choose.checkboxes()[:3]]
    assert set(three) <= expected
    comparison = page(client, "/compare/?" + choose.query(ticked=set(three)))
    headings = re.findall(r'<th scope="col" class="agency"><a href="([^"]*)">([^<]*)</a></th>', comparison)
    assert [href for href, _name in headings] == [f"/{slug}/" for slug in three]
    titles = [unescape(name) for _href, name in headings]
    rows = table_row_labels(comparison)
    assert len(rows) > 40 and any(differs for _label, differs in rows)  # the form's rows, the checklist's

    # 3. Its CSV, read as Excel reads it: UTF-8 with a BOM, the table's rows.
    (csv_url,) = re.findall(r'<a href="([^"]*)" download>', comparison)
    response = client.get(unescape(csv_url))
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"].startswith("attachment; filename=")
    assert response.content.startswith(b"\xef\xbb\xbf")
    table = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"), newline="")))
    assert table[0] == ["見出し", "項目", *titles, "違い"]
    assert [row[0] for row in table[1:4]] == ["公開版"] * 3
    assert [(row[1], row[-1] == "違いあり") for row in table[4:]] == rows
    assert all(len(row) == 2 + 3 + 1 for row in table)

    # 4. Subscribing to the first of them with the form on its page.
    slug = three[0]
    agency = Organization.objects.get(slug=slug)
    subscribe = form_to(page(client, f"/{slug}/"), f"/{slug}/subscribe/")
    assert subscribe.method == "post"
    response = client.post(subscribe.action, {"email": EMAIL})
    assert response.status_code == 200
    assert not Subscription.objects.exists(), "nothing is stored before the mail's link is followed"

    # 5. Confirming from the mail the test SMTP server received: its link, then 登録する.
    run_queued_tasks()
    (confirmation,) = smtp_server.to(EMAIL)
    (link,) = [url for url in links_in(confirmation, smtp_server) if "/subscribe/confirm/" in url]
    confirm = form_to(page(client, link), urlsplit(link).path)
    assert confirm.method == "post" and confirm.buttons == ["登録する"]
    assert client.post(confirm.action).status_code == 200
    assert Subscription.objects.get(email=EMAIL).organization == agency
    smtp_server.messages.clear()

    # 6. The agency publishes: one mail, with links that open.
    publish_new_version(agency, "健診結果の受付時間を変更しました。")
    assert smtp_server.messages == []  # sent by the worker
    run_queued_tasks()
    (notice,) = smtp_server.messages
    assert notice.envelope_recipients == [EMAIL]
    assert f"{agency.name} 第2版を公開しました" in notice["Subject"]
    assert "健診結果の受付時間を変更しました。" in smtp_server.body(notice)
    links = links_in(notice, smtp_server)
    (stop,) = [url for url in links if "/subscribe/stop/" in url]
    assert notice["List-Unsubscribe"].strip() == f"<{SITE}{stop}>"
    assert notice["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    for path in (f"/{slug}/versions/2/", f"/{slug}/versions/2/diff/", f"/{slug}/versions/2/pdf/"):
        assert path in links
    for url in links:
        if url != stop:
            response = client.get(url)
            assert response.status_code == 200, url
    assert client.get(f"/{slug}/versions/2/pdf/").content.startswith(b"%PDF-")
    assert "健診結果の受付時間を変更しました。" in page(client, f"/{slug}/versions/2/")

    # 7. One click on the mail's link unsubscribes; the next version mails no one.
    stopped = page(client, stop)
    assert f"「{agency.name}」の更新のお知らせのメールを停止し" in stopped
    assert not Subscription.objects.exists()
    smtp_server.messages.clear()
    publish_new_version(agency, "もう一度変更しました。")
    run_queued_tasks()
    assert smtp_server.messages == []
