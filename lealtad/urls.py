from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path, re_path

from lealtad.api.api import api
from lealtad.cashier import views as cashier_views
from lealtad.console.signup import signup
from lealtad.core.media import media
from lealtad.core.views import favicon, healthz, home

# A failure outside a view (a middleware's query): problem+json on the API, 503 while the
# database is away (lealtad/api/unavailable.py).
handler500 = "lealtad.api.unavailable.server_error"

urlpatterns = [
    path("", home, name="home"),
    path("healthz", healthz, name="healthz"),
    path("favicon.ico", favicon, name="favicon"),
    path("admin/", admin.site.urls),
    path("login/", cashier_views.SignIn.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("i18n/", include("django.conf.urls.i18n")),
    path("cashier/", include("lealtad.cashier.urls")),
    path("console/", include("lealtad.console.urls")),
    path("signup/", signup, name="signup"),
    # F1/F4: the customer's rating page, opened from a signed link (no sign-in).
    path("rate/", include("lealtad.ratings.urls")),
    path("api/v1/", api.urls),
    # A1–A8: the customer's app (installable, mobile-first).
    path("app/", include("lealtad.app.urls")),
]

# Uploaded prize pictures (MEDIA_ROOT) from every node when SERVE_MEDIA is on (by default with
# DEBUG; 404 otherwise): through the storage API, safe for any name (lealtad/core/media.py).
urlpatterns.append(re_path(r"^media/(?P<name>.+)\Z", media, name="media"))
