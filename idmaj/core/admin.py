from django.contrib import admin

from .models import AuditEntry, Notification, Role, RoleAssignment, User


@admin.register(User)
class UserAdmin(admin.ModelAdmin):
    list_display = ["username", "full_name_ar", "first_name", "last_name", "is_active"]
    search_fields = ["username", "full_name_ar", "first_name", "last_name"]
    exclude = ["password"]


@admin.register(Role)
class RoleAdmin(admin.ModelAdmin):
    list_display = ["code", "label", "read_only"]


@admin.register(RoleAssignment)
class RoleAssignmentAdmin(admin.ModelAdmin):
    list_display = ["user", "role", "level", "region", "facility"]
    list_filter = ["role", "level"]


@admin.register(AuditEntry)
class AuditEntryAdmin(admin.ModelAdmin):
    list_display = ["at", "actor_username", "action", "object_type", "object_id", "chain", "seq"]

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def has_add_permission(self, request):
        return False


@admin.register(Notification)
class NotificationAdmin(admin.ModelAdmin):
    list_display = ["created_at", "channel", "recipient", "template", "status", "attempts"]
