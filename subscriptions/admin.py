from django.contrib import admin

from .models import Subscription


@admin.register(Subscription)
class SubscriptionAdmin(admin.ModelAdmin):
    """Subscribers' addresses: superusers only (to answer a subscriber who writes
    in, or remove an address); staff of the organisations never see them."""

    list_display = ["email", "organization", "confirmed_at"]
    list_filter = [("organization", admin.EmptyFieldListFilter), "organization"]
    search_fields = ["email"]
    readonly_fields = ["email", "organization", "confirmed_at"]

    def has_module_permission(self, request):
        return request.user.is_active and request.user.is_superuser

    def has_view_permission(self, request, obj=None):
        return request.user.is_active and request.user.is_superuser

    def has_delete_permission(self, request, obj=None):
        return request.user.is_active and request.user.is_superuser

    def has_add_permission(self, request):
        return False  # only their owners subscribe (double opt-in)

    def has_change_permission(self, request, obj=None):
        return False
