"""Who on the staff may use which staff endpoint: model permissions, not only is_staff.

An account with is_staff may log in to the admin; what it may see there is what its permissions
say, and the plain staff views, the staff API and the admin's custom pages follow the same rule
(a staff account made to manage users must not read the crowd ids in a study's export).
"""
from functools import wraps

from django.core.exceptions import PermissionDenied
from django.http import JsonResponse
from rest_framework.permissions import SAFE_METHODS, BasePermission

from jobs.views import staff_required


def has_any_perm(user, perms) -> bool:
    return any(user.has_perm(perm) for perm in perms)


def staff_permission_required(*perms: str, any_of: bool = False):
    """staff_required, and then the permissions (all of them, or any_of): 403 JSON otherwise."""
    def decorator(view):
        @staff_required
        @wraps(view)
        def checked(request, *args, **kwargs):
            allowed = has_any_perm(request.user, perms) if any_of else request.user.has_perms(perms)
            if not allowed:
                return JsonResponse({"error": "your account lacks the permission for this"}, status=403)
            return view(request, *args, **kwargs)
        return checked
    return decorator


def model_perm(model, action: str) -> str:
    return f"{model._meta.app_label}.{action}_{model._meta.model_name}"


class StaffModelPermissions(BasePermission):
    """The staff API's rule (beside IsAdminUser): reads need the view permission of the endpoint's
    model, anything else its change permission. An endpoint names its model by its queryset or a
    `permission_model` attribute; one that names none is refused (never open by omission). An
    action may ask for more with `extra_permissions` ({action name: [perm, ...]})."""

    message = "your account lacks the permission for this"

    def has_permission(self, request, view):
        model = getattr(view, "permission_model", None)
        if model is None and getattr(view, "queryset", None) is not None:
            model = view.queryset.model
        if model is None:
            return False
        needed = [model_perm(model, "view" if request.method in SAFE_METHODS else "change")]
        needed += getattr(view, "extra_permissions", {}).get(getattr(view, "action", None), [])
        return request.user.has_perms(needed)


def admin_view_requiring(admin_site, view, allowed):
    """The admin's own wrapper (staff login, no caching, CSRF) and then `allowed(request)`, the
    ModelAdmin's permission check for what the page does: 403 otherwise (admin_view alone lets
    every staff account in)."""
    @wraps(view)
    def checked(request, *args, **kwargs):
        if not allowed(request):
            raise PermissionDenied
        return view(request, *args, **kwargs)
    return admin_site.admin_view(checked)
