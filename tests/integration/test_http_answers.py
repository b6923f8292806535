"""What every HTTP answer owes its client beyond the body: a 405 names the
methods the resource answers (Allow), a 401 says how to authenticate
(WWW-Authenticate, RFC 6750), on the API, the link pages and the console."""
from lib.server import Server


def test_405_names_the_methods_and_401_the_scheme():
    srv = Server.start()
    try:
        org = srv.org_create("reseller", "Allow Co", "admin@allow.example")
        key = srv.apikey(org)
        auth = {"Authorization": f"Bearer {key}"}
        cases = [
            ("PUT", "/api/v1/invitations", "GET, POST"),
            ("DELETE", "/api/v1/invitations/1", "GET, PATCH"),
            ("GET", "/api/v1/invitations/1/revoke", "POST"),
            ("POST", f"/api/v1/orgs/{org}", "GET"),
            ("DELETE", f"/api/v1/orgs/{org}/customers", "GET"),
            ("DELETE", f"/api/v1/orgs/{org}/approve", "POST"),
            ("PUT", "/api/v1/users", "GET, POST"),
            ("GET", "/api/v1/users/1", "PATCH, DELETE"),
            ("POST", "/api/v1/events", "GET"),
            ("PUT", "/api/v1/webhooks", "GET, POST"),
            ("POST", "/api/v1/webhooks/1/deliveries", "GET"),
            ("GET", "/api/v1/webhooks/1", "DELETE"),
            ("POST", "/api/v1/apikeys", "GET"),
            ("GET", "/api/v1/apikeys/1", "DELETE"),
            ("GET", "/api/v1/relationships/1/end", "POST"),
            ("DELETE", "/api/v1/enrollments", "GET, POST"),
            ("GET", "/api/v1/enrollments/1/resend-verification", "POST"),
            ("PUT", "/l/whatever", "GET, HEAD, POST"),
            ("DELETE", "/console", "GET, HEAD, POST"),
        ]
        for method, path, allow in cases:
            status, headers, body = srv.http(method, path, b"{}" if method != "GET" else None,
                                             dict(auth, **{"Content-Type": "application/json"}))
            assert status == 405, (method, path, status, body[:200])
            assert headers.get("allow") == allow, (method, path, headers.get("allow"))
            if path.startswith("/api/"):
                assert b'"method_not_allowed"' in body, body

        status, headers, body = srv.http("GET", "/api/v1/invitations")
        assert status == 401, status
        assert headers["www-authenticate"] == 'Bearer realm="invited"', headers
        status, headers, body = srv.http("GET", "/api/v1/invitations", None,
                                         {"Authorization": "Bearer not-a-key"})
        assert status == 401, status
        assert headers["www-authenticate"] == \
            'Bearer realm="invited", error="invalid_token"', headers
        assert b"not-a-key" not in body  # a key sent is never echoed
        # A 403 is not a 401: the key is good, the right is missing.
        status, headers, _ = srv.http("GET", "/api/v1/enrollments", None, auth)
        assert status == 403 and "www-authenticate" not in headers, (status, headers)
        # Other answers carry no Allow.
        status, headers, _ = srv.http("GET", "/api/v1/invitations", None, auth)
        assert status == 200 and "allow" not in headers, (status, headers)
    finally:
        srv.cleanup()
