"""Where the dashboards may send a user after sign-in: only paths of this server."""

from __future__ import annotations

import pytest

from views.auth import is_local_path


@pytest.mark.parametrize("url", ["/", "/manager", "/seller?lang=en", "/manager#team"])
def test_paths_of_this_server_are_followed(url: str) -> None:
    assert is_local_path(url)


@pytest.mark.parametrize(
    "url",
    [
        "",
        "manager",
        "//evil.example",
        "/\\evil.example",
        "/\\/evil.example",
        "https://evil.example/",
        "javascript:alert(1)",
        "/manager\r\nSet-Cookie: x=1",
        "/\tevil",
    ],
)
def test_anything_a_browser_could_read_as_another_host_is_refused(url: str) -> None:
    assert not is_local_path(url)
