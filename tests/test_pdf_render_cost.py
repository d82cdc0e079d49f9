"""What a PDF render costs: the fonts are loaded once per process, the garbage
collector does not run inside a render (disclosures/pdf/harness.py)."""

import datetime
import gc
import shutil
import threading

import pytest

from disclosures.pdf import ASSETS_DIR, PdfRenderError, harness
from disclosures.pdf.document import FONT_STYLESHEET, render_publication_pdf

pytestmark = pytest.mark.django_db


def render_example(publication):
    return render_publication_pdf(
        publication.snapshot,
        number=publication.number,
        published_at=publication.published_at,
        sheet_updated_on=publication.sheet_updated_on,
        checklist_updated_on=publication.checklist_updated_on,
    )


class Counts:
    """Font configurations made, @font-face faces loaded, stylesheets fetched."""

    def __init__(self, monkeypatch):
        self.configurations = self.faces = 0
        self.fetched = []
        font_config_class = harness._font_config_class()
        fetcher_class = harness._fetcher_class()
        make, add_face, fetch = (
            font_config_class.__init__,
            font_config_class.add_font_face,
            fetcher_class.fetch,
        )

        def counted_init(config, *args, **kwargs):
            self.configurations += 1
            make(config, *args, **kwargs)

        def counted_add_face(config, *args, **kwargs):
            self.faces += 1
            return add_face(config, *args, **kwargs)

        def recorded_fetch(fetcher, url, *args, **kwargs):
            self.fetched.append(url)
            return fetch(fetcher, url, *args, **kwargs)

        monkeypatch.setattr(font_config_class, "__init__", counted_init)
        monkeypatch.setattr(font_config_class, "add_font_face", counted_add_face)
        monkeypatch.setattr(fetcher_class, "fetch", recorded_fetch)

    def reset(self):
        self.configurations = self.faces = 0
        self.fetched.clear()


def test_the_font_configuration_and_font_stylesheet_are_made_once_per_process(monkeypatch, example_org):
    publication = example_org.publications.get(number=1)
    monkeypatch.setattr(harness, "_shared_fonts", {})  # as in a new process
    counts = Counts(monkeypatch)

    first = render_example(publication)
    assert counts.configurations == 1
    assert counts.faces == 10  # Portal Sans JP, the fallback and the variants, two weights each
    assert any(url.endswith(FONT_STYLESHEET) for url in counts.fetched)

    counts.reset()
    second = render_example(publication)
    assert counts.configurations == 0
    assert counts.faces == 0
    assert not any(url.endswith(FONT_STYLESHEET) or url.endswith(".ttf") for url in counts.fetched)
    # The same bytes as a render with fonts of its own.
    assert second == first


def test_a_render_runs_without_the_garbage_collector_and_turns_it_on_again(monkeypatch, example_org):
    publication = example_org.publications.get(number=1)
    import weasyprint

    seen = []
    write_pdf = weasyprint.Document.write_pdf

    def observed_write_pdf(document, *args, **kwargs):
        seen.append(gc.isenabled())
        return write_pdf(document, *args, **kwargs)

    collected = []
    collect = gc.collect

    def observed_collect(*generation):
        collected.append(generation)
        return collect(*generation)

    monkeypatch.setattr(weasyprint.Document, "write_pdf", observed_write_pdf)
    monkeypatch.setattr(gc, "collect", observed_collect)
    assert gc.isenabled()
    render_example(publication)
    assert seen == [False]
    assert gc.isenabled()
    assert collected == [()]  # one full pass, when the render ends
    # What lived before it is frozen: later passes do not go over it again.
    assert gc.get_freeze_count() > 0


def test_a_font_stylesheet_that_fails_is_not_kept_and_fails_every_render(tmp_path):
    assets = tmp_path / "assets"
    shutil.copytree(ASSETS_DIR / "css", assets / "css")
    (assets / "css" / "broken-fonts.css").write_text(
        '@font-face { font-family: "Broken"; src: url("pdf.css"); }', encoding="utf-8"
    )
    html = '<html lang="ja"><body><p style="font-family: Broken">本文</p></body></html>'
    for _ in range(2):
        with pytest.raises(PdfRenderError, match="フォント「Broken」を読み込めませんでした"):
            harness.render_pdf(
                html,
                assets_dir=assets,
                title="t",
                author="a",
                subject="s",
                created=datetime.datetime(2026, 1, 15, 12, 0, tzinfo=datetime.UTC),
                stylesheets=("css/broken-fonts.css",),
            )


def test_a_missing_font_stylesheet_is_a_render_error():
    with pytest.raises(PdfRenderError, match="PDF用のファイルが見つかりません"):
        harness.render_pdf(
            '<html lang="ja"><body><p>本文</p></body></html>',
            assets_dir=ASSETS_DIR,
            title="t",
            author="a",
            subject="s",
            created=datetime.datetime(2026, 1, 15, 12, 0, tzinfo=datetime.UTC),
            stylesheets=("css/no-such-fonts.css",),
        )


def test_two_threads_rendering_at_once_share_the_fonts_and_get_the_same_pdf(example_org):
    publication = example_org.publications.get(number=1)
    results, errors = [], []

    def render():
        try:
            results.append(render_example(publication))
        except Exception as error:  # reported below, in the test's thread
            errors.append(error)

    threads = [threading.Thread(target=render) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    assert len(results) == 2 and results[0] == results[1]
    assert gc.isenabled()


class Serialisations:
    """How many times each object of the rendered PDF was turned into bytes (pydyf's
    ``data``) while it was written."""

    def __init__(self, monkeypatch):
        import pydyf

        self.pdf = None
        self.made = {}
        finish = harness._finish

        def finish_recorded(document, pdf):
            finish(document, pdf)
            self.pdf = pdf

        monkeypatch.setattr(harness, "_finish", finish_recorded)
        for cls in (pydyf.Dictionary, pydyf.Stream, pydyf.Array):
            data = cls.data

            def counted(obj, data=data):
                self.made[id(obj)] = self.made.get(id(obj), 0) + 1
                return data.fget(obj)

            monkeypatch.setattr(cls, "data", property(counted))

    def of_objects(self):
        return [self.made.get(id(obj), 0) for obj in self.pdf.objects if obj.free != "f"]


def test_each_object_of_the_pdf_is_made_and_compressed_once(monkeypatch, example_org):
    """pydyf makes every object a second time to hash them into the PDF/A trailer's /ID:
    each stream compressed again (the fonts' 354 KB at zlib level 9). Not any more."""
    publication = example_org.publications.get(number=1)
    serialisations = Serialisations(monkeypatch)
    pdf = render_example(publication)
    counts = serialisations.of_objects()
    assert len(counts) > 1000  # fonts, pages, their contents, the structure tree…
    assert set(counts) == {1}
    assert b"/ID [" in pdf  # the PDF/A identifier is still written


def test_the_pdf_written_once_has_the_same_bytes(monkeypatch, example_org):
    publication = example_org.publications.get(number=1)
    written_once = render_example(publication)
    monkeypatch.setattr(harness, "_finish", harness._text_on_its_element)  # without the memo
    serialisations = Serialisations(monkeypatch)
    written_twice = render_example(publication)
    # What pydyf does on its own: all twice but the cross-reference stream, made last.
    counts = serialisations.of_objects()
    assert counts[:-1] == [2] * (len(counts) - 1) and counts[-1] == 1
    assert written_once == written_twice
