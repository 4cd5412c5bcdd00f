"""Base URL rules and safe path building."""

from __future__ import annotations

import pytest
import yarl

from bulkmod.client.urls import (
    api_path,
    api_url,
    is_loopback_host,
    next_link,
    next_page,
    normalize_base_url,
)


@pytest.mark.parametrize(
    ("given", "origin"),
    [
        ("https://canvas.example.edu", "https://canvas.example.edu"),
        ("https://canvas.example.edu/", "https://canvas.example.edu"),
        ("https://Canvas.Example.EDU/api/v1", "https://canvas.example.edu"),
        ("HTTPS://canvas.example.edu/api/v1/", "https://canvas.example.edu"),
        ("  https://canvas.example.edu:8443/ ", "https://canvas.example.edu:8443"),
        ("http://127.0.0.1:8080", "http://127.0.0.1:8080"),
        ("http://127.9.8.7", "http://127.9.8.7"),
        ("http://localhost:3000/api/v1", "http://localhost:3000"),
        ("http://[::1]:9000", "http://[::1]:9000"),
    ],
)
def test_origins_accepted(given: str, origin: str) -> None:
    """Origins, with /api/v1 or / after them, come back as the bare origin."""
    assert normalize_base_url(given, allow_insecure_http=False) == origin


def test_plain_http_refused_off_loopback() -> None:
    """http:// to a host that is not literally loopback is refused with advice."""
    with pytest.raises(ValueError, match="--allow-insecure-http"):
        normalize_base_url("http://canvas.example.edu", allow_insecure_http=False)
    for host in ("localhost.example.edu", "10.0.0.1", "128.0.0.1", "[::2]"):
        with pytest.raises(ValueError):
            normalize_base_url(f"http://{host}", allow_insecure_http=False)


def test_plain_http_allowed_when_asked() -> None:
    """--allow-insecure-http lets http:// through to any host."""
    got = normalize_base_url("http://canvas.example.edu/", allow_insecure_http=True)
    assert got == "http://canvas.example.edu"


@pytest.mark.parametrize(
    "given",
    [
        "canvas.example.edu",
        "ftp://canvas.example.edu",
        "https://",
        "https://canvas.example.edu/courses",
        "https://canvas.example.edu/api/v2",
        "https://canvas.example.edu/?x=1",
        "https://canvas.example.edu/#top",
        "https://canvas.example.edu:99999",
    ],
)
def test_not_an_origin_refused(given: str) -> None:
    """Anything but an origin (other scheme, path, query, bad port) is refused."""
    with pytest.raises(ValueError):
        normalize_base_url(given, allow_insecure_http=True)


def test_userinfo_refused_without_echo() -> None:
    """A URL with credentials is refused and the credentials are not repeated."""
    with pytest.raises(ValueError) as caught:
        normalize_base_url(
            "https://me:s3cret@canvas.example.edu", allow_insecure_http=False
        )
    assert "s3cret" not in str(caught.value)
    assert "user name or password" in str(caught.value)


def test_loopback_hosts() -> None:
    """Only localhost, 127.0.0.0/8 and ::1 are loopback."""
    assert is_loopback_host("localhost")
    assert is_loopback_host("127.255.0.1")
    assert is_loopback_host("[::1]")
    assert not is_loopback_host("localhost.localdomain")
    assert not is_loopback_host("0.0.0.0")


def test_plain_parts() -> None:
    """Integers and Canvas id forms fill the template; ':' and '~' stay."""
    path = api_path(
        "/courses/{course}/modules/{module}", course="sis_course_id:BIO-101", module=7
    )
    assert path == "/courses/sis_course_id:BIO-101/modules/7"
    assert api_path("/courses/{course}", course="12~345") == "/courses/12~345"


@pytest.mark.parametrize(
    ("part", "segment"),
    [
        ("../x", "..%2Fx"),
        ("a/b", "a%2Fb"),
        ("?x", "%3Fx"),
        ("%2e%2e", "%252e%252e"),
        ("#frag", "%23frag"),
        ("a b", "a%20b"),
        ("é", "%C3%A9"),
    ],
)
def test_hostile_parts_stay_one_segment(part: str, segment: str) -> None:
    """A part that could escape its segment is percent-encoded into one."""
    assert api_path("/courses/{course}/modules", course=part) == (
        f"/courses/{segment}/modules"
    )


@pytest.mark.parametrize("part", ["", ".", ".."])
def test_dot_and_empty_parts_refused(part: str) -> None:
    """Empty, '.' and '..' parts are refused: they would change the path."""
    with pytest.raises(ValueError):
        api_path("/courses/{course}/modules", course=part)


def test_template_and_parts_must_match() -> None:
    """A missing part, an unused part or a bad value type is refused."""
    with pytest.raises(ValueError, match="needs part 'module'"):
        api_path("/courses/{course}/modules/{module}", course=1)
    with pytest.raises(ValueError, match="has no part 'item'"):
        api_path("/courses/{course}", course=1, item=2)
    with pytest.raises(ValueError):
        api_path("/courses/{course}", course=True)
    with pytest.raises(ValueError):
        api_path("courses/{course}", course=1)


def test_next_link_parsing() -> None:
    """rel may be quoted, unquoted or one of several; other rels are ignored."""
    assert next_link('<https://h/a?page=2>; rel="next"') == "https://h/a?page=2"
    assert next_link("<https://h/b>; rel=next") == "https://h/b"
    assert next_link('<https://h/c>; rel="last next"') == "https://h/c"
    assert (
        next_link('<https://h/x>; rel="prev",<https://h/y>; rel="NEXT"')
        == "https://h/y"
    )
    assert next_link('<https://h/x>; rel="last"') is None
    assert next_link("") is None


def test_api_url_joins_origin_prefix_and_query() -> None:
    """The URL is origin + /api/v1 + path, with query pairs form-encoded."""
    url = api_url("https://h.edu", "/courses/a%2Fb", [("include[]", "items")])
    assert str(url) == "https://h.edu/api/v1/courses/a%2Fb?include%5B%5D=items"
    assert url.raw_path == "/api/v1/courses/a%2Fb"


def test_next_page_taken_as_given_and_checked() -> None:
    """The next URL is kept byte for byte on the same origin, refused elsewhere."""
    current = yarl.URL("https://h.edu/api/v1/courses/1/modules?per_page=100")
    given = "https://h.edu/api/v1/courses/1/modules?include%5B%5D=items&page=2"
    got = next_page(current, f'<{given}>; rel="next"', as_user=None)
    assert got is not None and str(got) == given
    assert next_page(current, "", as_user=None) is None
    with pytest.raises(ValueError, match="another origin"):
        next_page(current, '<https://evil.example/api/v1/x>; rel="next"', as_user=None)
    with pytest.raises(ValueError, match="outside the API"):
        next_page(current, '<https://h.edu/login>; rel="next"', as_user=None)
