"""docs/openapi.yaml, the API's description: Redocly lints it clean, the
checker that every integration test runs each answer through catches what
the description lacks, and every operation it describes, called once on a
real server, answers as described."""
import os
import subprocess

from lib import mailstack, openapi
from lib.server import Server

SOURCE = os.environ.get("INVITED_SOURCE_DIR", ".")


def test_the_description_lints_clean_under_redocly():
    redocly = os.path.join(SOURCE, "tests", "browser", "node_modules", ".bin", "redocly")
    env = dict(os.environ, REDOCLY_TELEMETRY="off", REDOCLY_SUPPRESS_UPDATE_NOTICE="true",
               NO_COLOR="1")
    p = subprocess.run([redocly, "lint", "--format=stylish", "--config",
                        os.path.join(SOURCE, "docs", "redocly.yaml"),
                        os.path.join(SOURCE, "docs", "openapi.yaml")],
                       capture_output=True, text=True, timeout=300, env=env)
    out = p.stdout + p.stderr
    assert p.returncode == 0, out
    assert "warning" not in out and "error" not in out.replace("errors", ""), out
    assert "valid" in out, out


def refused(*answer):
    try:
        openapi.check(*answer)
    except AssertionError as e:
        return str(e)
    raise AssertionError(f"the checker let {answer[:3]} through")


def test_the_checker_refuses_what_the_description_lacks():
    json_h = {"content-type": "application/json"}
    # What is described passes.
    openapi.check("GET", "/healthz", 200, json_h, b'{"status":"ok"}')
    openapi.check("GET", "/api/v1/nosuch", 404, json_h,
                  b'{"error":{"code":"not_found","message":"no such resource"}}')
    # A route, a method or a status it lacks does not; nor a body that
    # lacks a field, has one more, or has the wrong type.
    assert "not in docs/openapi.yaml" in refused("GET", "/api/v1/nosuch", 200, json_h, b"{}")
    assert "no such method" in refused("PUT", "/api/v1/events", 200, json_h, b"{}")
    assert "is not listed" in refused("GET", "/healthz", 418, json_h, b"{}")
    assert "does not match" in refused("GET", "/healthz", 200, json_h, b"{}")
    assert "does not match" in refused("GET", "/healthz", 200, json_h,
                                       b'{"status":"ok","extra":1}')
    assert "does not match" in refused("GET", "/api/v1/events", 200, json_h,
                                       b'{"items":[],"next_cursor":7}')
    assert "Content-Type" in refused("GET", "/healthz", 200, {"content-type": "text/html"},
                                     b"<p>ok</p>")
    assert "not an Error" in refused("GET", "/api/v1/nosuch", 404, json_h, b'{"oops":1}')


def test_every_operation_answers_as_described():
    """Each operation of the description, called once where it succeeds
    (the server's answers are checked on the way by Server.http)."""
    mailstack.imap_clear("r50")
    srv = Server.start(**{"webhooks.allow_private": "yes", "webhooks.allow_http": "yes"})
    seen = set()
    ops = {op["operationId"] for item in openapi.spec()["paths"].values()
           for m, op in item.items() if isinstance(op, dict) and "operationId" in op}

    def call(op, method, path, body=None, key=None, want=200):
        status, doc = srv.api(method, path, body, key)
        assert status == want, (op, method, path, status, doc)
        seen.add(op)
        return doc

    try:
        operator = srv.apikey()
        provider = srv.org_create("provider", "Northwind OpenAPI", "p50@example.test")
        reseller = srv.org_create("reseller", "Contoso OpenAPI", "r50@example.test",
                                  domain="example.test")
        pkey, rkey = srv.apikey(provider), srv.apikey(reseller)

        for op, path in (("getHealth", "/healthz"), ("getApiHealth", "/api/v1/healthz"),
                         ("getReady", "/readyz")):
            call(op, "GET", path)
        status, headers, _ = srv.http("GET", "/metrics", None,
                                      {"Authorization": f"Bearer {operator}"})
        assert status == 200
        seen.add("getMetrics")
        status, _, _ = srv.http("GET", "/.well-known/invited/keys")
        assert status == 200
        seen.add("getPublicKeys")

        # Invitations: one mailed (accepted, so that a relationship exists),
        # one draft sent, one draft handed off, one resent, one revoked.
        inv = call("createInvitation", "POST", "/api/v1/invitations",
                   {"kind": "indirect_provider", "email": "r50@example.test",
                    "message": "Welcome"}, pkey, 201)
        call("listInvitations", "GET", "/api/v1/invitations?limit=5", key=pkey)
        call("getInvitation", "GET", f"/api/v1/invitations/{inv['id']}", key=pkey)
        status, _ = srv.form_post(srv.mailed_link(inv["id"]), consent="yes", action="accept")
        assert status == 200
        drafts = [call("createInvitation", "POST", "/api/v1/invitations",
                       {"kind": "indirect_provider", "email": f"u{n}@example.test",
                        "delivery": "draft"}, pkey, 201) for n in (30, 31, 32)]
        call("editInvitation", "PATCH", f"/api/v1/invitations/{drafts[0]['id']}",
             {"subject": "Join us"}, pkey)
        call("sendInvitation", "POST", f"/api/v1/invitations/{drafts[0]['id']}/send", {}, pkey)
        call("handOffInvitation", "POST", f"/api/v1/invitations/{drafts[1]['id']}/handed-off",
             {}, pkey)
        call("resendInvitation", "POST", f"/api/v1/invitations/{drafts[0]['id']}/resend", {},
             pkey)
        call("revokeInvitation", "POST", f"/api/v1/invitations/{drafts[2]['id']}/revoke", {},
             pkey)

        # Organizations and their relationship lists.
        call("getOrg", "GET", f"/api/v1/orgs/{provider}", key=pkey)
        call("listIndirectResellers", "GET", f"/api/v1/orgs/{provider}/indirect-resellers",
             key=pkey)
        call("listIndirectProviders", "GET", f"/api/v1/orgs/{reseller}/indirect-providers",
             key=rkey)
        call("listCustomers", "GET", f"/api/v1/orgs/{reseller}/customers", key=rkey)
        call("checkOrgDomains", "POST", f"/api/v1/orgs/{provider}/domains/check", key=pkey,
             want=202)

        # Enrollment and its review, by the operator.
        enrolled = call("enroll", "POST", "/api/v1/enrollments", {
            "kind": "reseller", "legal_name": "Fabrikam OpenAPI", "address": "1 Main St",
            "country": "us", "domains": ["fabrikam-openapi.test"],
            "primary_contact": {"name": "Fay", "email": "fay@fabrikam-openapi.test",
                                "phone": "+1 555 0100"},
            "support_contact": {"url": "https://fabrikam-openapi.test/help"}}, want=201)
        call("resendVerification", "POST",
             f"/api/v1/enrollments/{enrolled['id']}/resend-verification", {}, want=202)
        call("listEnrollments", "GET", "/api/v1/enrollments?status=pending_verification",
             key=operator)
        others = [srv.org_create("reseller", f"Pending {n}", f"c{n}@example.test",
                                 status="in_review") for n in (47, 48, 49)]
        call("approveOrg", "POST", f"/api/v1/orgs/{others[0]}/approve", {}, operator)
        call("rejectOrg", "POST", f"/api/v1/orgs/{others[1]}/reject", {"reason": "unknown"},
             operator)
        call("suspendOrg", "POST", f"/api/v1/orgs/{others[0]}/suspend", {"reason": "paused"},
             operator)

        # People, events, webhooks, keys.
        user = call("inviteUser", "POST", "/api/v1/users",
                    {"email": "sam@example.test", "role": "sales_agent"}, rkey, 201)
        call("listUsers", "GET", "/api/v1/users", key=rkey)
        call("changeUserRole", "PATCH", f"/api/v1/users/{user['id']}", {"role": "admin_agent"}, rkey)
        call("removeUser", "DELETE", f"/api/v1/users/{user['id']}", key=rkey)
        call("listEvents", "GET", "/api/v1/events?limit=20", key=pkey)
        hook = call("createWebhook", "POST", "/api/v1/webhooks",
                    {"url": "http://127.0.0.1:9/invited"}, pkey, 201)
        call("listWebhooks", "GET", "/api/v1/webhooks", key=pkey)
        call("listDeliveries", "GET", f"/api/v1/webhooks/{hook['id']}/deliveries",
             key=pkey)
        status, _ = srv.api("DELETE", f"/api/v1/webhooks/{hook['id']}", key=pkey)
        assert status == 204
        seen.add("deleteWebhook")
        keys = call("listApiKeys", "GET", "/api/v1/apikeys", key=pkey)
        spare = srv.apikey(provider, role="sales_agent")
        spare_id = next(k["id"] for k in call("listApiKeys", "GET", "/api/v1/apikeys",
                                              key=pkey)["items"]
                        if k["id"] not in {x["id"] for x in keys["items"]})
        status, _ = srv.api("DELETE", f"/api/v1/apikeys/{spare_id}", key=pkey)
        assert status == 204
        seen.add("revokeApiKey")
        assert srv.api("GET", "/api/v1/events", key=spare)[0] == 401

        rel = srv.sql("SELECT id FROM relationships WHERE active = 1")[0][0]
        call("endRelationship", "POST", f"/api/v1/relationships/{rel}/end", {}, rkey)

        assert ops - seen == set(), f"operations never called: {sorted(ops - seen)}"
        assert seen - ops == set(), f"operation ids not in the description: {seen - ops}"
    finally:
        srv.cleanup()
