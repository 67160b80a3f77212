from __future__ import annotations

from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "twinai.console.accounts"
    label = "accounts"
    verbose_name = "Accounts"
