from django.contrib import admin

from .models import ChecklistTemplate, Item, Note, Section


class SectionInline(admin.TabularInline):
    model = Section
    extra = 0
    show_change_link = True


class NoteInline(admin.TabularInline):
    model = Note
    extra = 0


@admin.register(ChecklistTemplate)
class ChecklistTemplateAdmin(admin.ModelAdmin):
    list_display = ["guideline_title", "title", "code", "is_default"]
    search_fields = ["guideline_title", "title", "code"]
    inlines = [SectionInline, NoteInline]


class ItemInline(admin.StackedInline):
    model = Item
    extra = 0
    fields = ["number", "text", "sub_items", "note"]

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "note":
            kwargs["queryset"] = Note.objects.select_related("template")
        return super().formfield_for_foreignkey(db_field, request, **kwargs)


@admin.register(Section)
class SectionAdmin(admin.ModelAdmin):
    list_display = ["title", "order", "template"]
    list_filter = ["template"]
    list_select_related = ["template"]
    search_fields = ["title", "items__text"]
    inlines = [ItemInline]

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        # A new item must be answerable in every checklist of the template.
        for checklist in form.instance.template.checklists.all():
            checklist.add_missing_answers()
