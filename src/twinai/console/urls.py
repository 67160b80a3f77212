"""URL map of the console."""

from __future__ import annotations

from django.urls import include, path

from twinai.console.accounts import operator_views as user_admin
from twinai.console.accounts import views as accounts
from twinai.console.detection import operator_views as detection_admin
from twinai.console.detection import views as detection
from twinai.console.training import views as training

urlpatterns = [
    path("", accounts.home, name="home"),
    path("accounts/", include("twinai.console.accounts.urls")),
    # remote users (and operators)
    path("predict/", detection.predict, name="predict"),
    path("predict/batch/<int:batch_id>/", detection.batch_detail, name="batch"),
    path(
        "predict/batch/<int:batch_id>/download.<str:fmt>",
        detection.batch_download,
        name="batch-download",
    ),
    path("history/", detection.history, name="history"),
    # operator
    path("operator/", detection_admin.dashboard, name="dashboard"),
    path("operator/datasets/", training.datasets, name="datasets"),
    path(
        "operator/datasets/<int:dataset_id>/", training.dataset_detail, name="dataset"
    ),
    path("operator/training/", training.training, name="training"),
    path("operator/training/jobs/<int:job_id>/", training.job_detail, name="job"),
    path("operator/results/", training.results, name="results"),
    path("operator/bundles/", training.bundles, name="bundles"),
    path(
        "operator/bundles/<int:bundle_id>/serve/",
        training.bundle_serve,
        name="bundle-serve",
    ),
    path("operator/predictions/", detection_admin.predictions, name="predictions"),
    path(
        "operator/predictions/download.<str:fmt>",
        detection_admin.predictions_download,
        name="predictions-download",
    ),
    path("operator/ratio/", detection_admin.ratio, name="ratio"),
    path("operator/users/", user_admin.user_list, name="operator-users"),
    path(
        "operator/users/<int:user_id>/<str:action>/",
        user_admin.user_decide,
        name="operator-user-decide",
    ),
    path("operator/audit/", user_admin.audit_trail, name="audit"),
    path("api/v1/", include("twinai.console.api.urls")),
]
