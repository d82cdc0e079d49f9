"""Every error of a failed admin save, listed at the top of the page.

Django's admin says only 「下記のエラーを修正してください。」 and marks each field
where it stands: on the checklist's 56 rows the flagged one may be thousands of
pixels away. The summary names each field and links to it.
"""

from dataclasses import dataclass

from django import template
from django.core.exceptions import ObjectDoesNotExist

register = template.Library()


@dataclass(frozen=True)
class FieldError:
    label: str
    message: str
    anchor: str  # the id of an element of the page, without "#"


def form_errors(form, *, label_prefix="", row_anchor):
    """A form's errors: field errors link to the field, the others to its row."""
    for message in form.non_field_errors():
        yield FieldError(label_prefix.strip(), message, row_anchor)
    for bound_field in form:
        for message in bound_field.errors:
            # A hidden field cannot be pointed at: its row can.
            anchor = row_anchor if bound_field.is_hidden else bound_field.auto_id
            yield FieldError(f"{label_prefix}{bound_field.label}", message, anchor)


def inline_form_label(inline_admin_formset, index, form):
    """The row's name: an inline's own `error_label(form)`, else its object or number."""
    describe = getattr(inline_admin_formset.opts, "error_label", None)
    label = describe(form) if describe is not None else None
    if label:
        return label
    if form.instance.pk is not None:
        try:
            return str(form.instance)
        except ObjectDoesNotExist:  # a __str__ reading a relation the bad row lacks
            pass
    return f"{inline_admin_formset.opts.verbose_name} {index + 1}"


@register.inclusion_tag("admin/_error_summary.html")
def admin_error_summary(adminform, inline_admin_formsets, opts):
    form_anchor = f"{opts.model_name}_form"  # the id Django gives the admin's <form>
    errors = list(form_errors(adminform.form, row_anchor=form_anchor))
    for inline_admin_formset in inline_admin_formsets:
        formset = inline_admin_formset.formset
        group_anchor = f"{formset.prefix}-group"
        errors.extend(FieldError("", message, group_anchor) for message in formset.non_form_errors())
        for index, form in enumerate(formset.forms):
            if not form.errors:
                continue
            label = inline_form_label(inline_admin_formset, index, form)
            errors.extend(form_errors(form, label_prefix=f"{label} ", row_anchor=f"{formset.prefix}-{index}"))
    return {"field_errors": errors}
