from __future__ import annotations

from django.urls import path

from twinai.console.accounts import views

app_name = "accounts"

urlpatterns = [
    path("login/", views.login_view, name="login"),
    path("logout/", views.logout_view, name="logout"),
    path("register/", views.register, name="register"),
    path("pending/", views.pending, name="pending"),
    path("profile/", views.profile_view, name="profile"),
    path("profile/edit/", views.profile_edit, name="profile-edit"),
    path("password/", views.password_change, name="password"),
    path("token/", views.token_rotate, name="token"),
]
