"""The form's cells and boxes in templates: a cell's kind picks its template
(disclosures/cells.py) and `box` writes a tick box as disclosures.formatting does."""

from django import template

from disclosures.cells import kind_of
from disclosures.formatting import box as form_box

register = template.Library()


@register.filter
def cell_template(cell):
    """The template of a snapshot's cell, by its kind."""
    return kind_of(cell).template_name


@register.filter
def box(value, ticked_value=None):
    """A tick box: `value` ticked when true, or, given an argument, when equal to it
    ({{ item.status|box:"done" }})."""
    return form_box(value if ticked_value is None else value == ticked_value)
