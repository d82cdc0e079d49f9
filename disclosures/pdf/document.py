"""The publication's document: the auditors' PDF of a version, and the staff's draft preview.

Rendered from the frozen snapshot with the templates the public page uses
(``disclosures/pdf.html`` includes ``disclosures/document.html``), the print CSS and fonts
of ``assets/``, by the generic harness.
"""

from django.template.loader import render_to_string
from django.utils import timezone

from ..display import document_context
from ..formatting import japanese_date
from . import ASSETS_DIR
from .harness import render_pdf

# The @font-face rules, parsed once per process with one font configuration (the
# harness's ``stylesheets``); the template links only the print CSS.
FONT_STYLESHEET = "css/pdf-fonts.css"


def publication_html(snapshot, *, number, published_at, sheet_updated_on, checklist_updated_on, draft=False):
    """The HTML the auditors' PDF of a version is rendered from: the page's document
    templates, print CSS, the organisation, version and publication date on every page.
    ``draft``: the staff's preview of an unpublished draft, marked 下書き on every page."""
    context = document_context(
        snapshot,
        version=number,
        sheet_updated_on=sheet_updated_on,
        checklist_updated_on=checklist_updated_on,
    )
    published_on = japanese_date(timezone.localdate(published_at))
    context.update(published_at=published_at, published_on=published_on, draft=draft, for_pdf=True)
    return render_to_string("disclosures/pdf.html", context)


def render_publication_pdf(
    snapshot, *, number, published_at, sheet_updated_on, checklist_updated_on, draft=False
):
    """The auditors' PDF of a version (or, with ``draft``, the staff's preview of one)."""
    html = publication_html(
        snapshot,
        number=number,
        published_at=published_at,
        sheet_updated_on=sheet_updated_on,
        checklist_updated_on=checklist_updated_on,
        draft=draft,
    )
    published_on = japanese_date(timezone.localdate(published_at))
    organization_name = snapshot["sheet"]["values"]["name"]
    marker = "（下書き）" if draft else ""
    return render_pdf(
        html,
        assets_dir=ASSETS_DIR,
        title=f"{snapshot['sheet']['title']} {organization_name} 第{number}版{marker}",
        author=organization_name,
        subject=(
            f"{snapshot['sheet']['title']} と 別添 {snapshot['checklist']['template']['title']}"
            f"（第{number}版、{published_on}{'プレビュー' if draft else '公開'}）"
        ),
        keywords="代行機関, 特定健診, 特定保健指導, 重要事項, ガイドライン遵守チェックリスト",
        created=published_at,
        stylesheets=(FONT_STYLESHEET,),
    )
