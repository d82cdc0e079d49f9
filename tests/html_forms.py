"""The forms of a page as a browser reads them, and what submitting one sends.

`forms_of(html)` gives each <form> with its method, action, accessible name
(aria-label or the text of aria-labelledby), fields and buttons; a field carries its
accessible name (its aria-label, else the text of its <label>). `Form.query(ticked=…)` is the query string a browser sends for the form with
the given checkboxes ticked, the other fields as the page filled them in.
"""

from dataclasses import dataclass, field
from html.parser import HTMLParser
from urllib.parse import urlencode


@dataclass
class Field:
    tag: str
    type: str
    name: str
    value: str
    checked: bool = False
    label: str = ""
    id: str = ""
    options: list = field(default_factory=list)  # a <select>'s (value, text)


@dataclass
class Form:
    method: str
    action: str
    name: str
    fields: list = field(default_factory=list)
    buttons: list = field(default_factory=list)

    def checkboxes(self):
        return [f for f in self.fields if f.type == "checkbox"]

    def names(self):
        return {f.name for f in self.fields}

    def choose(self, name, text):
        """Select the option of <select name=…> whose text is `text`, as a visitor does."""
        (select,) = [f for f in self.fields if f.name == name and f.tag == "select"]
        (select.value,) = [value for value, option in select.options if option == text]

    def query(self, ticked=None):
        """The query string of a submit, with only the checkboxes whose value is in
        `ticked` ticked (or as the page ticked them when `ticked` is None)."""
        pairs = []
        for f in self.fields:
            if f.type == "checkbox":
                if (f.value in ticked) if ticked is not None else f.checked:
                    pairs.append((f.name, f.value))
            elif f.name and f.type not in ("submit", "button"):
                pairs.append((f.name, f.value))
        return urlencode(pairs)


class _Reader(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.forms, self.texts = [], {}
        self._form, self._select, self._label, self._button = None, None, None, None
        self._option = None
        self._by_id = None  # [id, [text]] of an element whose text names a form
        self._labels_for = {}

    def handle_starttag(self, tag, attrs):
        a = {k: (v or "") for k, v in attrs}
        if a.get("id") and self._by_id is None and tag in ("p", "h2", "span", "legend"):
            self._by_id = [a["id"], [], tag]
        if tag == "form":
            self._form = Form(
                method=(a.get("method") or "get").lower(),
                action=a.get("action", ""),
                name=a.get("aria-label", "") or "@" + a.get("aria-labelledby", ""),
            )
            self.forms.append(self._form)
        if self._form is None:
            return
        if tag == "input":
            input_field = Field(
                "input",
                a.get("type", "text"),
                a.get("name", ""),
                a.get("value", "on" if a.get("type") == "checkbox" else ""),
                "checked" in a,
                label=a.get("aria-label", ""),  # before the <label>, as a screen reader reads it
                id=a.get("id", ""),
            )
            self._form.fields.append(input_field)
            if self._label is not None:
                self._label[1] = input_field
        elif tag == "select":
            self._select = Field("select", "select", a.get("name", ""), "", id=a.get("id", ""))
            self._form.fields.append(self._select)
        elif tag == "option" and self._select is not None:
            self._option = [a.get("value", ""), []]
            if "selected" in a or not (self._select.checked or self._select.options):
                self._select.value, self._select.checked = a.get("value", ""), "selected" in a
        elif tag == "label":
            self._label = [a.get("for", ""), None, []]
        elif tag == "button":
            self._button = []

    def handle_endtag(self, tag):
        if self._by_id and tag == self._by_id[2]:
            self.texts[self._by_id[0]] = "".join(self._by_id[1]).strip()
            self._by_id = None
        if tag == "form":
            self._form = None
        elif tag == "select":
            self._select = None
        elif tag == "option" and self._option is not None:
            self._select.options.append((self._option[0], "".join(self._option[1]).strip()))
            self._option = None
        elif tag == "label" and self._label is not None:
            target_id, input_field, text = self._label
            text = " ".join("".join(text).split())
            if input_field is not None:
                input_field.label = input_field.label or text
            elif target_id:
                self._labels_for[target_id] = text
            self._label = None
        elif tag == "button" and self._button is not None:
            self._form.buttons.append("".join(self._button).strip())
            self._button = None

    def handle_data(self, data):
        buffers = (
            self._label and self._label[2],
            self._button,
            self._by_id and self._by_id[1],
            self._option and self._option[1],
        )
        for buffer in buffers:
            if buffer is not None and buffer is not False:
                buffer.append(data)

    def close(self):
        super().close()
        for form in self.forms:
            if form.name.startswith("@"):
                form.name = self.texts.get(form.name[1:], "")
            for f in form.fields:
                f.label = f.label or self._labels_for.get(f.id, "")


def forms_of(html):
    reader = _Reader()
    reader.feed(html)
    reader.close()
    return reader.forms


def form_to(html, action):
    """The one form of the page that submits to `action`."""
    forms = [f for f in forms_of(html) if f.action == action]
    assert len(forms) == 1, [f.action for f in forms_of(html)]
    return forms[0]
