from __future__ import annotations

from django.urls import path
from drf_spectacular.views import SpectacularAPIView
from rest_framework.permissions import AllowAny

from twinai.console.api import views

urlpatterns = [
    path("predict/", views.PredictView.as_view(), name="api-predict"),
    path("models/", views.ModelsView.as_view(), name="api-models"),
    path(
        "schema/",
        SpectacularAPIView.as_view(
            permission_classes=[AllowAny], authentication_classes=[]
        ),
        name="api-schema",
    ),
]
