"""A LinkedIn Posts API stand-in (versioned /rest endpoints, Rest.li 2.0.0).

Checked like the service documents it: Bearer token; on /rest/* a `LinkedIn-Version`
header naming an active month (YYYYMM, not in the future, at most a year old; otherwise
426 NONEXISTENT_VERSION) and `X-Restli-Protocol-Version: 2.0.0`; the create-post body
(author URN of the token's member or organization, commentary in "little text" with
every reserved character escaped, visibility, distribution, lifecycle state, an article
with source and title). Posts are kept newest first; a created post's URN is returned in
`x-restli-id`. Errors are `{"status", "serviceErrorCode", "code", "message"}` documents.

    with LinkedInStandIn() as li:
        env = li.env()        # LINKEDIN_ACCESS_TOKEN, LINKEDIN_AUTHOR_URN, LINKEDIN_API_URL
        ...
        assert li.delivered("https://example.com/2024/01/post/") == 1
"""

from __future__ import annotations

import itertools
import re
import time
from datetime import UTC, datetime
from typing import Any

from .base import Invalid, Request, Response, StandIn

RESERVED = set("|{}@[]()<>#\\*_~")
TEMPLATE_RE = re.compile(
    r"\{hashtag\|\\#\|(?:[^{}|\\]|\\.)+\}|@\[(?:[^\]\\]|\\.)+\]\(urn:li:[^)]+\)"
)
VISIBILITIES = {"PUBLIC", "CONNECTIONS", "LOGGED_IN", "CONTAINER"}
POST_FIELDS = {
    "author",
    "commentary",
    "visibility",
    "distribution",
    "content",
    "lifecycleState",
    "isReshareDisabledByAuthor",
    "contentLandingPage",
    "contentCallToActionLabel",
    "reshareContext",
    "container",
    "adContext",
}


def little_text_problem(text: str) -> str:
    """'' if every reserved character is escaped or part of a hashtag/mention template."""
    pos = 0
    while pos < len(text):
        m = TEMPLATE_RE.match(text, pos)
        if m:
            pos = m.end()
            continue
        ch = text[pos]
        if ch == "\\":
            if pos + 1 >= len(text):
                return "commentary ends with a lone backslash"
            pos += 2
            continue
        if ch in RESERVED:
            return f"commentary has an unescaped reserved character {ch!r} at {pos}"
        pos += 1
    return ""


class LinkedInStandIn(StandIn):
    name = "linkedin"

    def __init__(
        self,
        *,
        token: str = "li-access-token-0123",  # noqa: S107 (a stand-in's fixed token)
        member_id: str = "AbC123xYz",
        organization: str = "",
    ):
        super().__init__()
        self.token = token
        self.member_id = member_id
        self.organization = organization
        self.posts: list[dict[str, Any]] = []  # newest first
        self._ids = itertools.count(7400000000000000001)

    @property
    def author(self) -> str:
        return self.organization or f"urn:li:person:{self.member_id}"

    def env(self) -> dict[str, str]:
        return {
            "LINKEDIN_ACCESS_TOKEN": self.token,
            "LINKEDIN_AUTHOR_URN": self.author,
            "LINKEDIN_API_URL": self.url,
        }

    def delivered(self, post_url: str) -> int:
        with self.lock:
            return sum(
                1
                for p in self.posts
                if ((p.get("content") or {}).get("article") or {}).get("source") == post_url
                or post_url in p.get("commentary", "")
            )

    # -- the service -----------------------------------------------------------------------
    def error(self, status: int, message: str) -> Response:
        codes = {
            400: ("INVALID_REQUEST", 100),
            401: ("INVALID_ACCESS_TOKEN", 65600),
            403: ("ACCESS_DENIED", 100),
            404: ("NOT_FOUND", 0),
            422: ("UNPROCESSABLE_ENTITY", 0),
            426: ("NONEXISTENT_VERSION", 0),
        }
        code, service = codes.get(status, ("ERROR", 0))
        body = {"status": status, "serviceErrorCode": service, "code": code, "message": message}
        return Response(status, body)

    def route(self, req: Request) -> Response:
        if req.headers.get("authorization") != f"Bearer {self.token}":
            return self.error(401, "Invalid access token")
        if req.path == "/v2/userinfo" and req.method == "GET":
            return Response(
                200,
                {
                    "sub": self.member_id,
                    "name": "Maren Holt",
                    "given_name": "Maren",
                    "family_name": "Holt",
                    "locale": {"country": "GB", "language": "en"},
                },
            )
        if not req.path.startswith("/rest/"):
            return self.error(404, f"No resource found for {req.path}")
        self._check_versioned_headers(req)
        if req.path == "/rest/posts" and req.method == "POST":
            return self._create(req)
        if req.path == "/rest/posts" and req.method == "GET":
            return self._find(req)
        return self.error(404, f"No resource found for {req.method} {req.path}")

    def _check_versioned_headers(self, req: Request) -> None:
        version = req.headers.get("linkedin-version", "")
        if not re.fullmatch(r"\d{6}(\.\d{2})?", version):
            raise Invalid(
                "A version must be present. Please specify a version by adding the "
                "LinkedIn-Version header.",
                400,
            )
        year, month = int(version[:4]), int(version[4:6])
        now = datetime.now(UTC)
        age = (now.year - year) * 12 + (now.month - month)
        if not 1 <= month <= 12 or age < 0 or age > 12:
            raise Invalid(f"Requested version {version} is not active", 426)
        if req.headers.get("x-restli-protocol-version") != "2.0.0":
            raise Invalid("X-Restli-Protocol-Version must be 2.0.0", 400)

    def _create(self, req: Request) -> Response:
        if not req.content_type.startswith("application/json"):
            raise Invalid("Content-Type must be application/json")
        body = req.json()
        if not isinstance(body, dict):
            raise Invalid("The request body must be an object")
        unknown = set(body) - POST_FIELDS
        if unknown:
            raise Invalid(f"Unrecognized field(s): {', '.join(sorted(unknown))}", 422)
        for field in ("author", "visibility", "distribution", "lifecycleState"):
            if field not in body:
                raise Invalid(
                    f"/{field} :: field is required but not found and has no default", 422
                )
        if body["author"] != self.author:
            return self.error(403, f"Not enough permissions to post as {body['author']}")
        if body["visibility"] not in VISIBILITIES:
            raise Invalid(f"/visibility :: {body['visibility']!r} is not an enum symbol", 422)
        if body["lifecycleState"] != "PUBLISHED":
            raise Invalid("/lifecycleState :: only PUBLISHED posts are created here", 422)
        distribution = body["distribution"]
        if not isinstance(distribution, dict) or distribution.get("feedDistribution") not in (
            "MAIN_FEED",
            "NONE",
        ):
            raise Invalid("/distribution/feedDistribution :: must be MAIN_FEED or NONE", 422)
        commentary = body.get("commentary", "")
        if not isinstance(commentary, str):
            raise Invalid("/commentary :: must be a string", 422)
        if len(commentary) > 3000:
            raise Invalid("/commentary :: length must be at most 3000", 422)
        problem = little_text_problem(commentary)
        if problem:
            raise Invalid(problem, 422)
        article = (body.get("content") or {}).get("article")
        if article is not None:
            if not isinstance(article.get("source"), str) or not re.match(
                r"^https?://\S+$", article["source"]
            ):
                raise Invalid("/content/article/source :: must be a URL", 422)
            if not isinstance(article.get("title"), str) or not article["title"]:
                raise Invalid("/content/article/title :: field is required", 422)
            if len(article["title"]) > 400:
                raise Invalid("/content/article/title :: length must be at most 400", 422)
        urn = f"urn:li:share:{next(self._ids)}"
        now_ms = int(time.time() * 1000)
        self.posts.insert(0, {**body, "id": urn, "createdAt": now_ms, "lastModifiedAt": now_ms})
        return Response(201, None, {"x-restli-id": urn})

    def _find(self, req: Request) -> Response:
        if req.arg("q") != "author":
            raise Invalid("Finder 'q' must be 'author'")
        author = req.arg("author", "")
        if author != self.author:
            return self.error(403, f"Not enough permissions to read posts of {author}")
        count = int(req.arg("count", "10") or 10)
        start = int(req.arg("start", "0") or 0)
        if not 1 <= count <= 100:
            raise Invalid("count must be between 1 and 100")
        elements = self.posts[start : start + count]
        return Response(
            200,
            {
                "elements": elements,
                "paging": {"start": start, "count": count, "total": len(self.posts), "links": []},
            },
        )
