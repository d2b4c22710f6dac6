"""The console's reports: the dashboard (D1) and the CSV exports (D2)."""

urlpatterns = []
