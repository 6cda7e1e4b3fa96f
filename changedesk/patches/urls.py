from django.urls import path

from changedesk.lib import converters  # noqa: F401  (registers <id:...>)
from changedesk.patches.views import board, compliance, imports, patches, vendors

app_name = "patches"

urlpatterns = [
    path("", board.board, name="board"),
    path("all/", patches.patch_list, name="list"),
    path("export.csv", patches.patch_export, name="export"),
    path("new/", patches.patch_create, name="create"),
    path("import/", imports.patch_import, name="import"),
    path("run/", board.patch_run, name="run"),
    path("<id:pk>/", patches.patch_detail, name="detail"),
    path("<id:pk>/edit/", patches.patch_edit, name="edit"),
    path("<id:pk>/act/", patches.patch_act, name="act"),
    path("vendors/", vendors.vendor_list, name="vendors"),
    path("vendors/new/", vendors.vendor_create, name="vendor_create"),
    path("vendors/<id:pk>/", vendors.vendor_detail, name="vendor"),
    path("vendors/<id:pk>/edit/", vendors.vendor_edit, name="vendor_edit"),
    path("vendors/<id:pk>/sources/new/", vendors.source_create, name="source_create"),
    path("sources/<id:pk>/edit/", vendors.source_edit, name="source_edit"),
    path("sources/<id:pk>/check/", vendors.source_check, name="source_check"),
    path("sources/<id:pk>/delete/", vendors.source_delete, name="source_delete"),
    path("compliance/", compliance.compliance_page, name="compliance"),
    path("compliance/<slug:slug>/statement/", compliance.statement, name="statement"),
    path("policy/<slug:slug>/", compliance.policy, name="policy"),
    path("items/<id:pk>/", compliance.item_patches, name="item"),
]
