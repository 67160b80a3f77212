"""Forms of registration and profile editing."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib.auth.forms import UserCreationForm
from django.contrib.auth.models import User

from twinai.console.accounts.models import Profile, Role, Status


class RegistrationForm(UserCreationForm):
    """A remote user's sign-up; the account starts waiting for authorisation."""

    email = forms.EmailField(required=True)
    organisation = forms.CharField(max_length=200)
    address = forms.CharField(max_length=1000, widget=forms.Textarea(attrs={"rows": 3}))

    class Meta(UserCreationForm.Meta):
        model = User
        fields = ("username", "email")

    def clean_email(self) -> str:
        email: str = self.cleaned_data["email"].strip().lower()
        if User.objects.filter(email__iexact=email).exists():
            raise forms.ValidationError("An account with this e-mail already exists.")
        return email

    def save(self, commit: bool = True) -> User:
        user: User = super().save(commit=False)
        user.email = self.cleaned_data["email"]
        user.save()
        Profile.objects.create(
            user=user,
            role=Role.REMOTE,
            status=Status.PENDING,
            organisation=self.cleaned_data["organisation"],
            address=self.cleaned_data["address"],
        )
        return user


class ProfileForm(forms.Form):
    """The fields a user may change about themselves."""

    first_name = forms.CharField(max_length=150, required=False)
    last_name = forms.CharField(max_length=150, required=False)
    email = forms.EmailField()
    organisation = forms.CharField(max_length=200)
    address = forms.CharField(max_length=1000, widget=forms.Textarea(attrs={"rows": 3}))

    def __init__(self, *args: Any, user: User, **kwargs: Any) -> None:
        self.user = user
        super().__init__(*args, **kwargs)

    def clean_email(self) -> str:
        email: str = self.cleaned_data["email"].strip().lower()
        taken = User.objects.filter(email__iexact=email).exclude(pk=self.user.pk)
        if taken.exists():
            raise forms.ValidationError("Another account uses this e-mail.")
        return email

    def save(self) -> None:
        data = self.cleaned_data
        self.user.first_name = data["first_name"]
        self.user.last_name = data["last_name"]
        self.user.email = data["email"]
        self.user.save(update_fields=["first_name", "last_name", "email"])
        profile = self.user.profile
        profile.organisation = data["organisation"]
        profile.address = data["address"]
        profile.save(update_fields=["organisation", "address"])
