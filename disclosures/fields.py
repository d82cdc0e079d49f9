"""Model fields for the form's groups of tick boxes."""

from django import forms
from django.core import checks, exceptions
from django.db import models


class ChoiceListField(models.JSONField):
    """A group of tick boxes where several boxes may be ticked, stored as a list of choice values.

    Stored in the declared order of the choices whatever order they were given in,
    so that two equal selections compare equal (publishing detects changes by value).
    """

    def __init__(self, *args, choice_options=(), **kwargs):
        self.choice_options = list(choice_options)
        kwargs.setdefault("default", list)
        kwargs.setdefault("blank", True)
        super().__init__(*args, **kwargs)

    def deconstruct(self):
        name, path, args, kwargs = super().deconstruct()
        kwargs["choice_options"] = self.choice_options
        if kwargs.get("default") is list:
            del kwargs["default"]
        if kwargs.get("blank") is True:
            del kwargs["blank"]
        return name, path, args, kwargs

    def check(self, **kwargs):
        errors = super().check(**kwargs)
        if not self.choice_options:
            errors.append(checks.Error("ChoiceListField needs choice_options.", obj=self))
        return errors

    @property
    def option_labels(self):
        return dict(self.choice_options)

    def normalize(self, values):
        chosen = set(values or [])
        return [value for value, _label in self.choice_options if value in chosen]

    def pre_save(self, model_instance, add):
        value = self.normalize(getattr(model_instance, self.attname))
        setattr(model_instance, self.attname, value)
        return value

    def validate(self, value, model_instance):
        super().validate(value, model_instance)
        if not isinstance(value, list):
            raise exceptions.ValidationError("選択肢の一覧で入力してください。", code="invalid")
        unknown = [v for v in value if v not in self.option_labels]
        if unknown:
            raise exceptions.ValidationError(
                "選択肢にない値です: %(values)s",
                code="invalid_choice",
                params={"values": "、".join(map(str, unknown))},
            )

    def formfield(self, **kwargs):
        defaults = {
            "form_class": forms.MultipleChoiceField,
            "choices": self.choice_options,
            "widget": forms.CheckboxSelectMultiple,
            "required": not self.blank,
            "show_hidden_initial": False,
        }
        defaults.update(kwargs)
        # JSONField.formfield would force its own form class; go to Field's.
        return models.Field.formfield(self, **defaults)


class URLField(models.URLField):
    """A URL typed without its scheme is read as https:// (Django 6's default)."""

    def formfield(self, **kwargs):
        return super().formfield(**{"assume_scheme": "https", **kwargs})
