"""A Mailchimp Marketing API 3.0 stand-in for the real `mailchimp-marketing` SDK.

Every request is validated against ../shared/specs/mailchimp/marketing-openapi3.json and
must carry Basic auth with the configured API key. State is kept like the service's:
lists with campaign defaults, interest categories and interests, segments (tags are static
segments), campaigns moving save → sending → sent, their content, and search. Errors are
`application/problem+json` documents (type, title, status, detail, instance).

    with MailchimpStandIn() as mc:
        env = mc.env()            # MAILCHIMP_API_KEY, MAILCHIMP_LIST_ID, MAILCHIMP_API_URL
        ...                       # run the channel
        assert mc.delivered("https://example.com/2024/01/post/") == 1

`delivered(url)` counts campaigns actually sent (status sending or sent) whose HTML or
plain-text content mentions the URL; `sends` records every accepted send action, `tests`
every test email. Set-up for tests: `add_interest()`, `add_tag()`, `add_campaign()` (a
campaign as a crashed run left it), `fail(status, detail=...)` (a problem document through
the base's fault injection), `limit(n, per_seconds)` (429 beyond n requests), `reset()`.
The stand-in's own answers are validated against the spec as well: a mismatch is recorded
in `violations`, like a bad request.
"""

from __future__ import annotations

import base64
import copy
import functools
import itertools
import re
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from werkzeug.datastructures import Headers

from .base import Request, Response, StandIn
from .openapi import _OpenAPIRequest, load_spec, validate

SPEC = "mailchimp/marketing-openapi3.json"
# The SDK's host with "server" replaced; the spec's server entry only needs the path prefix.
SPEC_SERVER = "http://127.0.0.1/3.0"
PREFIX = "/3.0"
ERROR_DOCS = "https://mailchimp.com/developer/marketing/docs/errors/"


class Problem(Exception):
    """A service error (not a spec violation): answered as problem+json."""

    def __init__(self, status: int, title: str, detail: str):
        super().__init__(detail)
        self.status = status
        self.title = title
        self.detail = detail


def _not_found(what: str = "") -> Problem:
    where = f" {what}" if what else ""
    return Problem(404, "Resource Not Found", f"The requested resource{where} could not be found.")


def _now() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


def _iso(dt: datetime | None) -> str:
    return dt.isoformat() if dt else ""


def _parse_time(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


@functools.cache
def _warm_up() -> None:
    spec = load_spec(SPEC, SPEC_SERVER)
    ping = Request("GET", f"{PREFIX}/ping", {}, {"authorization": "Basic eDp5"}, b"", "")
    validate(spec, ping, "http://127.0.0.1")
    answer = Response(200, {"health_status": "Everything's Chimpy!"})
    spec.validate_response(_OpenAPIRequest(ping, "http://127.0.0.1"), _OpenAPIResponse(answer))


class _OpenAPIResponse:
    """A stand-in Response as openapi-core's Response protocol."""

    def __init__(self, resp: Response):
        self.status_code = resp.status
        self.data = resp.payload()
        self.content_type = resp.content_type
        self.headers = Headers({"Content-Type": resp.content_type, **resp.headers})


class MailchimpStandIn(StandIn):
    name = "mailchimp"

    def __init__(
        self,
        *,
        api_key: str = "0123456789abcdef" * 2 + "-us21",  # a test key of the real shape
        list_id: str = "a1b2c3d4e5",
        list_name: str = "Front Porch Notes readers",
        from_name: str = "Maren Holt",
        from_email: str = "maren@frontporch.example",
    ):
        super().__init__()
        self.api_key = api_key
        self.list_id = list_id
        self._initial = (list_name, from_name, from_email)
        self.reset()

    def reset(self):
        """Forget everything: requests, faults, state (tests share one running server)."""
        list_name, from_name, from_email = self._initial
        with self.lock:
            self.requests.clear()
            self.violations.clear()
            self.faults.clear()
            self.hooks.clear()
            self._ids = itertools.count(1)
            self.lists: dict[str, dict[str, Any]] = {}
            self.categories: dict[str, dict[str, Any]] = {}  # id -> category (+ "interests")
            self.segments: dict[int, dict[str, Any]] = {}
            self.campaigns: dict[str, dict[str, Any]] = {}  # insertion order = create order
            self.contents: dict[str, dict[str, str]] = {}
            self.sends: list[str] = []  # campaign ids, one per accepted send action
            self.tests: list[dict[str, Any]] = []  # test emails: campaign id, addresses, type
            self.engagement: dict[str, dict[str, int]] = {}  # campaign id -> report counts
            self._seen_sending: set[str] = set()
            self.rate_limit: tuple[int, float] | None = None  # (requests, per seconds)
            self._served: list[float] = []
            self.add_list(self.list_id, list_name, from_name=from_name, from_email=from_email)

    # -- state set-up for tests ----------------------------------------------------
    def _next(self, prefix: str = "") -> str:
        return f"{prefix}{next(self._ids):06x}"

    def add_list(self, list_id: str, name: str, *, from_name: str = "", from_email: str = ""):
        self.lists[list_id] = {
            "id": list_id,
            "web_id": next(self._ids),
            "name": name,
            "campaign_defaults": {
                "from_name": from_name,
                "from_email": from_email,
                "subject": "",
                "language": "en",
            },
            "stats": {"member_count": 3},
        }
        return self.lists[list_id]

    def add_interest(self, category_title: str, name: str, list_id: str | None = None) -> str:
        """Add an interest (creating its category if needed); return the interest id."""
        list_id = list_id or self.list_id
        category = next(
            (
                c
                for c in self.categories.values()
                if c["title"] == category_title and c["list_id"] == list_id
            ),
            None,
        )
        if category is None:
            cid = self._next("c")
            category = {
                "id": cid,
                "list_id": list_id,
                "title": category_title,
                "display_order": len(self.categories),
                "type": "checkboxes",
                "interests": {},
            }
            self.categories[cid] = category
        iid = self._next("i")
        category["interests"][iid] = {
            "id": iid,
            "category_id": category["id"],
            "list_id": list_id,
            "name": name,
            "subscriber_count": "1",
            "display_order": len(category["interests"]),
        }
        return iid

    def add_tag(self, name: str, list_id: str | None = None) -> int:
        """Add a tag (a static segment, as Mailchimp models tags); return its id."""
        sid = next(self._ids)
        self.segments[sid] = {
            "id": sid,
            "name": name,
            "member_count": 1,
            "type": "static",
            "list_id": list_id or self.list_id,
            "created_at": _iso(_now()),
            "updated_at": _iso(_now()),
        }
        return sid

    def add_campaign(self, title: str, *, status: str = "save", html: str = "") -> str:
        """Put a campaign in place as an earlier (crashed) run would have left it."""
        cid = self._create({"type": "regular", "recipients": {"list_id": self.list_id}})
        self.campaigns[cid]["settings"]["title"] = title
        self.contents[cid] = {"html": html, "plain_text": ""}
        self.campaigns[cid]["status"] = status
        if status in ("sending", "sent"):
            self.campaigns[cid]["send_time"] = _iso(_now())
            self.campaigns[cid]["emails_sent"] = 3
        return cid

    def engage(
        self,
        cid: str,
        *,
        opens: int = 0,
        unique_opens: int | None = None,
        clicks: int = 0,
        unique_clicks: int | None = None,
        unsubscribes: int = 0,
    ) -> None:
        """Readers open, click and unsubscribe: what `GET /reports/{id}` then counts."""
        with self.lock:
            stats = self.engagement.setdefault(cid, {})
            stats["opens"] = stats.get("opens", 0) + opens
            stats["unique_opens"] = stats.get("unique_opens", 0) + (
                opens if unique_opens is None else unique_opens
            )
            stats["clicks"] = stats.get("clicks", 0) + clicks
            stats["unique_clicks"] = stats.get("unique_clicks", 0) + (
                clicks if unique_clicks is None else unique_clicks
            )
            stats["unsubscribes"] = stats.get("unsubscribes", 0) + unsubscribes

    def campaign_for(self, post_url: str) -> str:
        """The id of the sent campaign whose content mentions `post_url`."""
        with self.lock:
            for cid, campaign in self.campaigns.items():
                content = self.contents.get(cid, {})
                if campaign["status"] in ("sending", "sent") and post_url in content.get(
                    "html", ""
                ):
                    return cid
        raise KeyError(post_url)

    def _report(self, cid: str) -> dict[str, Any]:
        campaign = self.campaigns[cid]
        if campaign["status"] not in ("sending", "sent"):
            raise _not_found()
        stats = self.engagement.get(cid, {})
        sent = int(campaign.get("emails_sent") or 3)
        lst = self.lists.get(campaign["recipients"].get("list_id", ""), {})
        return {
            "id": cid,
            "campaign_title": campaign["settings"].get("title", ""),
            "type": campaign["type"],
            "list_id": lst.get("id", ""),
            "list_is_active": True,
            "list_name": lst.get("name", ""),
            "subject_line": campaign["settings"].get("subject_line", ""),
            "emails_sent": sent,
            "abuse_reports": 0,
            "unsubscribed": stats.get("unsubscribes", 0),
            "send_time": campaign.get("send_time") or _iso(_now()),
            "opens": {
                "opens_total": stats.get("opens", 0),
                "unique_opens": stats.get("unique_opens", 0),
                "open_rate": min(1.0, stats.get("unique_opens", 0) / sent),
            },
            "clicks": {
                "clicks_total": stats.get("clicks", 0),
                "unique_clicks": stats.get("unique_clicks", 0),
                "unique_subscriber_clicks": stats.get("unique_clicks", 0),
                "click_rate": min(1.0, stats.get("unique_clicks", 0) / sent),
            },
        }

    # -- what tests read -------------------------------------------------------------
    def env(self) -> dict[str, str]:
        return {
            "MAILCHIMP_API_KEY": self.api_key,
            "MAILCHIMP_LIST_ID": self.list_id,
            "MAILCHIMP_API_URL": f"{self.url}{PREFIX}",
        }

    def delivered(self, post_url: str) -> int:
        """Campaigns actually sent (sending or sent) whose content mentions post_url."""
        with self.lock:
            count = 0
            for cid, campaign in self.campaigns.items():
                if campaign["status"] not in ("sending", "sent"):
                    continue
                content = self.contents.get(cid, {})
                if post_url in content.get("html", "") or post_url in content.get("plain_text", ""):
                    count += 1
            return count

    def fail(
        self,
        status: int,
        *,
        detail: str = "",
        title: str = "",
        times: int = 1,
        match: str = "",
        headers: dict[str, str] | None = None,
        delay: float = 0.0,
    ):
        """Inject a service error with Mailchimp's problem document as its body."""
        titles = {
            401: "API Key Invalid",
            403: "Forbidden",
            404: "Resource Not Found",
            429: "Too Many Requests",
            500: "Internal Server Error",
            503: "Service Unavailable",
        }
        body = self._problem(
            status,
            title or titles.get(status, "Error"),
            detail or "An unexpected error occurred.",
        )
        self.inject(
            "status",
            times=times,
            match=match,
            status=status,
            headers=headers,
            body=body,
            delay=delay,
        )

    # -- serving -----------------------------------------------------------------------
    @staticmethod
    def _problem(status: int, title: str, detail: str) -> dict[str, Any]:
        return {
            "type": ERROR_DOCS,
            "title": title,
            "status": status,
            "detail": detail,
            "instance": str(uuid.uuid4()),
        }

    def error(self, status: int, message: str) -> Response:
        title = "Invalid Resource" if status == 400 else "Error"
        return Response(
            status,
            self._problem(status, title, message),
            content_type="application/problem+json",
        )

    def _authorized(self, req: Request) -> bool:
        header = req.headers.get("authorization", "")
        if not header.startswith("Basic "):
            return False
        try:
            decoded = base64.b64decode(header[6:]).decode("utf-8")
        except ValueError:
            return False
        _user, _, key = decoded.partition(":")
        return key == self.api_key

    def start(self) -> str:
        """Serve, with the spec already compiled: the first validation takes seconds,
        longer than a client with a short timeout waits (once per process)."""
        _warm_up()
        return super().start()

    def limit(self, requests: int, per_seconds: float = 60.0):
        """Answer 429 once more than `requests` arrive within `per_seconds`."""
        self.rate_limit = (requests, per_seconds)

    def _over_limit(self) -> bool:
        if not self.rate_limit:
            return False
        allowed, window = self.rate_limit
        now = time.monotonic()
        self._served = [t for t in self._served if now - t < window]
        if len(self._served) >= allowed:
            return True
        self._served.append(now)
        return False

    def route(self, req: Request) -> Response:
        if not req.path.startswith(PREFIX + "/"):
            return self.error(404, f"The requested resource {req.path} could not be found.")
        if not self._authorized(req):
            return Response(
                401,
                self._problem(
                    401,
                    "API Key Invalid",
                    "Your API key may be invalid, or you've attempted to access the wrong "
                    "datacenter.",
                ),
                content_type="application/problem+json",
            )
        if self._over_limit():
            return Response(
                429,
                self._problem(
                    429,
                    "Too Many Requests",
                    "You have exceeded the limit of simultaneous connections.",
                ),
                content_type="application/problem+json",
            )
        validate(load_spec(SPEC, SPEC_SERVER), req, "http://127.0.0.1")
        path = req.path[len(PREFIX) :]
        try:
            resp = self._dispatch(req, path)
        except Problem as p:
            return Response(
                p.status,
                self._problem(p.status, p.title, p.detail),
                content_type="application/problem+json",
            )
        if resp.status == 200:
            self._check_response(req, resp)
        return resp

    def _check_response(self, req: Request, resp: Response):
        """The stand-in's own answers must match the spec too (recorded as violations)."""
        spec = load_spec(SPEC, SPEC_SERVER)
        try:
            spec.validate_response(_OpenAPIRequest(req, "http://127.0.0.1"), _OpenAPIResponse(resp))
        except Exception as e:
            nested = getattr(e.__cause__, "schema_errors", None) or []
            details = "; ".join(str(se.message)[:200] for se in list(nested)[:3]) or str(e)
            self.violations.append(f"response to {req.method} {req.path}: {details}")

    def _dispatch(self, req: Request, path: str) -> Response:
        m = req.method
        parts = path.strip("/").split("/")
        if path == "/ping" and m == "GET":
            return Response(200, {"health_status": "Everything's Chimpy!"})
        if parts[0] == "lists" and len(parts) >= 2:
            lst = self._list(parts[1])
            if len(parts) == 2 and m == "GET":
                return Response(200, self._fields(req, lst))
            if parts[2:] == ["interest-categories"] and m == "GET":
                cats = [
                    {k: v for k, v in c.items() if k != "interests"}
                    for c in self.categories.values()
                    if c["list_id"] == lst["id"]
                ]
                return Response(200, self._page(req, "categories", cats, list_id=lst["id"]))
            if len(parts) == 5 and parts[2] == "interest-categories" and parts[4] == "interests":
                cat = self.categories.get(parts[3])
                if cat is None or cat["list_id"] != lst["id"]:
                    raise Problem(
                        404, "Resource Not Found", "The requested resource could not be found."
                    )
                return Response(
                    200,
                    self._page(
                        req,
                        "interests",
                        list(cat["interests"].values()),
                        list_id=lst["id"],
                        category_id=cat["id"],
                    ),
                )
            if parts[2:] == ["segments"] and m == "GET":
                segs = [s for s in self.segments.values() if s["list_id"] == lst["id"]]
                if req.arg("type"):
                    segs = [s for s in segs if s["type"] == req.arg("type")]
                return Response(200, self._page(req, "segments", segs, list_id=lst["id"]))
        if path == "/campaigns" and m == "GET":
            return Response(200, self._list_campaigns(req))
        if path == "/campaigns" and m == "POST":
            cid = self._create(req.json())
            return Response(200, self._public(cid))
        if path == "/search-campaigns" and m == "GET":
            query = (req.arg("query") or "").lower()
            results = [
                {"campaign": self._public(cid), "snippet": c["settings"].get("title", "")}
                for cid, c in self.campaigns.items()
                if query and query in c["settings"].get("title", "").lower()
            ]
            return Response(200, {"results": results, "total_items": len(results)})
        if parts[0] == "reports" and len(parts) == 2 and m == "GET":
            if parts[1] not in self.campaigns:
                raise _not_found()
            return Response(200, self._fields(req, self._report(parts[1])))
        if parts[0] == "campaigns" and len(parts) >= 2:
            cid = parts[1]
            if cid not in self.campaigns:
                raise Problem(
                    404, "Resource Not Found", "The requested resource could not be found."
                )
            rest = parts[2:]
            if not rest and m == "GET":
                self._progress(cid)
                return Response(200, self._fields(req, self._public(cid)))
            if not rest and m == "PATCH":
                return Response(200, self._update(cid, req.json()))
            if not rest and m == "DELETE":
                self._require_status(cid, ("save", "paused"), "delete")
                del self.campaigns[cid]
                return Response(204)
            if rest == ["content"] and m == "PUT":
                return Response(200, self._set_content(cid, req.json()))
            if rest == ["content"] and m == "GET":
                content = self.contents.get(cid, {"html": "", "plain_text": ""})
                return Response(200, dict(content))
            if rest == ["actions", "send"] and m == "POST":
                self._send(cid)
                return Response(204)
            if rest == ["actions", "test"] and m == "POST":
                self._test(cid, req.json())
                return Response(204)
        raise Problem(
            404, "Resource Not Found", f"The requested resource {path} could not be found."
        )

    # -- helpers ---------------------------------------------------------------------------
    def _list(self, list_id: str) -> dict[str, Any]:
        lst = self.lists.get(list_id)
        if lst is None:
            raise _not_found()
        return lst

    @staticmethod
    def _page(req: Request, key: str, items: list, **extra) -> dict[str, Any]:
        count = int(req.arg("count", "10") or 10)
        offset = int(req.arg("offset", "0") or 0)
        return {key: items[offset : offset + count], **extra, "total_items": len(items)}

    @staticmethod
    def _fields(req: Request, doc: dict[str, Any]) -> dict[str, Any]:
        """Honour `fields` (top-level names and dotted prefixes, like the service)."""
        fields = req.arg("fields")
        if not fields:
            return doc
        tops = {f.split(".")[0] for f in fields.split(",") if f}
        return {k: v for k, v in doc.items() if k in tops}

    def _create(self, body: dict[str, Any]) -> str:
        recipients = body.get("recipients") or {}
        list_id = recipients.get("list_id", "")
        if body.get("type") == "regular" and list_id not in self.lists:
            raise Problem(400, "Invalid Resource", "The resource submitted could not be validated.")
        segment_opts = recipients.get("segment_opts")
        if segment_opts:
            self._check_segment(list_id, segment_opts)
        cid = uuid.uuid4().hex[:10]
        settings = dict(body.get("settings") or {})
        settings.setdefault("title", "")
        created = _now()
        # Creation times strictly increase, so sorting by create_time is stable.
        if self.campaigns:
            last = _parse_time(list(self.campaigns.values())[-1]["create_time"])
            created = max(created, last + timedelta(seconds=1))
        self.campaigns[cid] = {
            "id": cid,
            "web_id": next(self._ids),
            "type": body.get("type", "regular"),
            "create_time": _iso(created),
            "archive_url": f"https://mailchi.mp/frontporch/{cid}",
            "long_archive_url": f"https://us21.campaign-archive.com/?u=0&id={cid}",
            "status": "save",
            "emails_sent": 0,
            "content_type": "template",
            "recipients": {
                "list_id": list_id,
                "list_is_active": True,
                "list_name": self.lists.get(list_id, {}).get("name", ""),
                "segment_opts": copy.deepcopy(segment_opts) if segment_opts else {},
                "recipient_count": 3,
            },
            "settings": settings,
        }
        return cid

    def _check_segment(self, list_id: str, opts: dict[str, Any]):
        """Conditions must name interests and static segments that exist (the spec
        leaves conditions open; the service rejects unknown ids)."""
        if opts.get("match") not in (None, "any", "all"):
            raise Problem(400, "Invalid Resource", "segment_opts.match must be any or all.")
        for cond in opts.get("conditions") or []:
            kind = cond.get("condition_type")
            if kind == "Interests":
                m = re.fullmatch(r"interests-(.+)", cond.get("field", ""))
                cat = self.categories.get(m.group(1)) if m else None
                if cat is None or cat["list_id"] != list_id:
                    raise Problem(400, "Invalid Resource", f"Unknown interest category in {cond}.")
                if cond.get("op") not in (
                    "interestcontains",
                    "interestcontainsall",
                    "interestnotcontains",
                ):
                    raise Problem(400, "Invalid Resource", f"Invalid op in {cond}.")
                values = cond.get("value")
                if not isinstance(values, list) or not values:
                    raise Problem(400, "Invalid Resource", f"value must be a list in {cond}.")
                for iid in values:
                    if iid not in cat["interests"]:
                        raise Problem(400, "Invalid Resource", f"Unknown interest {iid!r}.")
            elif kind == "StaticSegment":
                seg = self.segments.get(cond.get("value"))
                if (
                    cond.get("field") != "static_segment"
                    or cond.get("op") not in ("static_is", "static_not")
                    or seg is None
                    or seg["list_id"] != list_id
                ):
                    raise Problem(400, "Invalid Resource", f"Unknown static segment in {cond}.")
            else:
                raise Problem(400, "Invalid Resource", f"Unsupported condition {kind!r}.")

    def _public(self, cid: str) -> dict[str, Any]:
        return copy.deepcopy(self.campaigns[cid])

    def _progress(self, cid: str):
        """A campaign seen `sending` once is `sent` the next time it is read."""
        campaign = self.campaigns[cid]
        if campaign["status"] == "sending" and cid in self._seen_sending:
            campaign["status"] = "sent"
        elif campaign["status"] == "sending":
            self._seen_sending.add(cid)

    def _list_campaigns(self, req: Request) -> dict[str, Any]:
        items = list(self.campaigns)
        for cid in items:
            self._progress(cid)
        selected = []
        for cid in items:
            c = self.campaigns[cid]
            if req.arg("list_id") and c["recipients"]["list_id"] != req.arg("list_id"):
                continue
            if req.arg("status") and c["status"] != req.arg("status"):
                continue
            if req.arg("type") and c["type"] != req.arg("type"):
                continue
            created = _parse_time(c["create_time"])
            if req.arg("since_create_time") and created < _parse_time(req.arg("since_create_time")):
                continue
            if req.arg("before_create_time") and created >= _parse_time(
                req.arg("before_create_time")
            ):
                continue
            selected.append(self._public(cid))
        if req.arg("sort_field"):
            key = req.arg("sort_field")
            selected.sort(key=lambda c: c.get(key) or "", reverse=req.arg("sort_dir") == "DESC")
        page = self._page(req, "campaigns", selected)
        fields = req.arg("fields")
        if fields:
            wanted = {f.split(".", 2)[1] for f in fields.split(",") if f.startswith("campaigns.")}
            if wanted:
                page["campaigns"] = [
                    {k: v for k, v in c.items() if k in wanted} for c in page["campaigns"]
                ]
        return page

    def _require_status(self, cid: str, allowed: tuple[str, ...], action: str):
        status = self.campaigns[cid]["status"]
        if status not in allowed:
            raise Problem(
                400,
                "Bad Request",
                f"Cannot {action} this campaign: its status is {status!r}.",
            )

    def _update(self, cid: str, body: dict[str, Any]) -> dict[str, Any]:
        self._require_status(cid, ("save", "paused"), "update")
        campaign = self.campaigns[cid]
        if "settings" in body:
            campaign["settings"].update(body["settings"])
        recipients = body.get("recipients")
        if recipients:
            if recipients.get("segment_opts"):
                self._check_segment(campaign["recipients"]["list_id"], recipients["segment_opts"])
            campaign["recipients"].update(recipients)
        return self._public(cid)

    def _set_content(self, cid: str, body: dict[str, Any]) -> dict[str, Any]:
        self._require_status(cid, ("save", "paused"), "update the content of")
        if "html" not in body:
            raise Problem(400, "Invalid Resource", "The campaign content requires html.")
        self.contents[cid] = {
            "html": body.get("html", ""),
            "plain_text": body.get("plain_text", ""),
        }
        return {"html": self.contents[cid]["html"], "plain_text": self.contents[cid]["plain_text"]}

    def _checklist(self, cid: str) -> list[str]:
        c = self.campaigns[cid]
        s = c["settings"]
        problems = []
        for name in ("subject_line", "from_name", "reply_to"):
            if not s.get(name):
                problems.append(f"settings.{name} is missing")
        if not self.contents.get(cid, {}).get("html"):
            problems.append("content is missing")
        elif "*|UNSUB|*" not in self.contents[cid]["html"]:
            problems.append("the content has no *|UNSUB|* link")
        return problems

    def _send(self, cid: str):
        status = self.campaigns[cid]["status"]
        if status not in ("save", "paused"):
            raise Problem(
                400,
                "Bad Request",
                f"This campaign cannot be sent because its status is {status!r}.",
            )
        problems = self._checklist(cid)
        if problems:
            raise Problem(
                400,
                "Bad Request",
                "Your Campaign is not ready to send. " + "; ".join(problems),
            )
        self.campaigns[cid]["status"] = "sending"
        self.campaigns[cid]["send_time"] = _iso(_now())
        self.campaigns[cid]["emails_sent"] = self.campaigns[cid]["recipients"]["recipient_count"]
        self.sends.append(cid)

    def _test(self, cid: str, body: dict[str, Any]):
        problems = self._checklist(cid)
        if problems:
            raise Problem(
                400,
                "Bad Request",
                "Your Campaign is not ready to send. " + "; ".join(problems),
            )
        bad = [a for a in body["test_emails"] if "@" not in a]
        if bad:
            raise Problem(400, "Invalid Resource", f"Invalid test email address: {bad[0]}")
        self.tests.append(
            {"campaign": cid, "emails": list(body["test_emails"]), "type": body["send_type"]}
        )
