"""What the API's tests share: a client that sends a personal token."""

from rest_framework.test import APIClient

from tracker.api_tokens import api_token_create


def token_client(user, *, keyword: str = "Bearer") -> APIClient:
    """An API client sending a new token of `user` in its Authorization header."""
    _token, text = api_token_create(user=user, name="Script")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"{keyword} {text}")
    return client
