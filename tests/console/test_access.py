"""The authorisation matrix: every page against every persona."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User
from django.urls import reverse

from twinai.console.accounts.models import Profile, Status
from twinai.console.detection.models import PredictionBatch, Source

from .conftest import client_for

PUBLIC = ["accounts:login", "accounts:register", "accounts:pending", "api-schema"]
AUTHORISED = [
    "predict",
    "history",
    "accounts:profile",
    "accounts:profile-edit",
    "accounts:password",
]
OPERATOR = [
    "dashboard",
    "datasets",
    "training",
    "results",
    "bundles",
    "predictions",
    "ratio",
    "operator-users",
    "audit",
]
DOWNLOADS = [
    ("predictions-download", {"fmt": "csv"}),
    ("predictions-download", {"fmt": "json"}),
]
PERSONAS = ["anonymous", "pending", "suspended", "remote", "operator"]


@pytest.fixture
def people(
    operator: User, remote: User, pending: User, suspended: User
) -> dict[str, User | None]:
    return {
        "anonymous": None,
        "pending": pending,
        "suspended": suspended,
        "remote": remote,
        "operator": operator,
    }


@pytest.mark.parametrize("persona", PERSONAS)
@pytest.mark.parametrize("name", PUBLIC)
def test_public_pages_answer_everyone(
    name: str, persona: str, people: dict[str, User | None]
) -> None:
    response = client_for(people[persona]).get(reverse(name))

    assert response.status_code == 200


@pytest.mark.parametrize("persona", PERSONAS)
@pytest.mark.parametrize("name", AUTHORISED)
def test_user_pages_need_an_authorised_account(
    name: str, persona: str, people: dict[str, User | None]
) -> None:
    response = client_for(people[persona]).get(reverse(name))

    if persona == "anonymous":
        assert response.status_code == 302
        assert response["Location"].startswith("/accounts/login/?next=")
    elif persona in ("pending", "suspended"):
        assert response.status_code == 302
        assert response["Location"] == f"/accounts/pending/?status={persona}"
    else:
        assert response.status_code == 200


@pytest.mark.parametrize("persona", PERSONAS)
@pytest.mark.parametrize("name,kwargs", [(n, {}) for n in OPERATOR] + DOWNLOADS)
def test_operator_pages_refuse_everyone_else(
    name: str, kwargs: dict[str, str], persona: str, people: dict[str, User | None]
) -> None:
    response = client_for(people[persona]).get(reverse(name, kwargs=kwargs))

    if persona == "anonymous":
        assert response.status_code == 302
        assert response["Location"].startswith("/accounts/login/")
    elif persona == "operator":
        assert response.status_code == 200
    else:
        assert response.status_code == 403
        assert b"This page is for operators" in response.content


def test_pending_user_is_signed_out_by_the_first_page(pending: User) -> None:
    client = client_for(pending)

    client.get(reverse("predict"))

    assert "_auth_user_id" not in client.session


@pytest.mark.parametrize(
    "persona,expected",
    [
        ("anonymous", 302),
        ("pending", 302),
        ("remote", 404),
        ("other", 200),
        ("operator", 200),
    ],
)
@pytest.mark.parametrize("page", ["batch", "batch-download"])
def test_a_batch_is_seen_only_by_its_owner_and_operators(
    persona: str,
    expected: int,
    page: str,
    people: dict[str, User | None],
    other_remote: User,
) -> None:
    batch = PredictionBatch.objects.create(
        owner=other_remote, source=Source.FORM, bundle="x"
    )
    people["other"] = other_remote
    kwargs = {"batch_id": batch.pk} | (
        {"fmt": "csv"} if page == "batch-download" else {}
    )

    response = client_for(people[persona]).get(reverse(page, kwargs=kwargs))

    assert response.status_code == expected


@pytest.mark.parametrize(
    "persona,expected",
    [("anonymous", 302), ("pending", 403), ("remote", 403), ("operator", 302)],
)
@pytest.mark.parametrize(
    "action,after", [("authorise", Status.AUTHORISED), ("suspend", Status.SUSPENDED)]
)
def test_only_operators_decide_about_users(
    persona: str,
    expected: int,
    action: str,
    after: str,
    people: dict[str, User | None],
    db: None,
) -> None:
    from .conftest import make_user

    target = make_user(
        "newbie", status=Status.PENDING if action == "authorise" else Status.AUTHORISED
    )
    url = reverse(
        "operator-user-decide", kwargs={"user_id": target.pk, "action": action}
    )

    response = client_for(people[persona]).post(url)

    assert response.status_code == expected
    status = Profile.objects.get(user=target).status
    if persona == "operator":
        assert status == after
    else:
        assert status != after


@pytest.mark.parametrize("persona", PERSONAS)
def test_only_operators_choose_the_serving_bundle(
    persona: str, people: dict[str, User | None]
) -> None:
    response = client_for(people[persona]).post(
        reverse("bundle-serve", kwargs={"bundle_id": 0})
    )

    assert response.status_code == {"operator": 302, "anonymous": 302}.get(persona, 403)
    if persona == "anonymous":
        assert response["Location"].startswith("/accounts/login/")


@pytest.mark.parametrize("persona", PERSONAS)
def test_home_sends_each_role_to_its_start_page(
    persona: str, people: dict[str, User | None]
) -> None:
    response = client_for(people[persona]).get("/")

    expected = {"operator": "/operator/", "remote": "/predict/"}.get(
        persona, "/accounts/login/"
    )
    assert response["Location"] == expected
