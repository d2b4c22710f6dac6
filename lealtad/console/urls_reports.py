"""The console's reports: the dashboard (D1) and the CSV exports (D2)."""

from django.urls import path

from lealtad.console import views_reports

urlpatterns = [
    path("dashboard/", views_reports.dashboard, name="dashboard"),
    path("exports/", views_reports.exports, name="exports"),
    path("exports/customers.csv", views_reports.export_customers, name="export_customers"),
    path("exports/movements.csv", views_reports.export_transactions, name="export_transactions"),
    path("exports/ratings.csv", views_reports.export_ratings, name="export_ratings"),
]
