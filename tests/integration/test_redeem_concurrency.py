"""Redeems under load, on the real server: its HTTP threads hand accepts to
the redeemer, which commits them in groups. Many posts at once must use
each link exactly once, and a server stopped in the middle of a burst must
have committed every redeem it answered "Done"."""
import concurrent.futures
import http.client
import re
import signal
import threading
import time
import urllib.parse

from lib.server import Server, free_port

DONE = b'<h1 id="result">Done</h1>'


def prepared_posts(srv, key, n, tag):
    """n customer invitations from the reseller of key, mailed (their mail
    waits in the outbox: see start), each page fetched once as a browser
    would; the accepting POST of each, as (path, headers, form)."""
    posts = []
    for i in range(n):
        status, inv = srv.api("POST", "/api/v1/invitations",
                              {"kind": "reseller", "email": f"c{i}@{tag}{i}.test",
                               "name": f"Carol {i}"}, key)
        assert status == 201, (status, inv)
        path = urllib.parse.urlsplit(srv.mailed_link(inv["id"])).path
        posts.append(accept_post(srv, path, f"Customer {tag} {i} K.K."))
    return posts


def accept_post(srv, path, org_name):
    """A link's page fetched once as a browser would (its cookie and
    anti-forgery field): its accepting POST, as (path, headers, form)."""
    status, headers, body = srv.http("GET", path)
    assert status == 200, (status, body[:300])
    cookie = headers["set-cookie"].split(";")[0]
    csrf = re.search(rb'name="csrf" value="([^"]+)"', body).group(1).decode()
    form = urllib.parse.urlencode({"csrf": csrf, "action": "accept", "consent": "yes",
                                   "org_name": org_name})
    return (path, {"Content-Type": "application/x-www-form-urlencoded", "Cookie": cookie},
            form)


def post(port, path, headers, form):
    """(status, body), or the exception that ended the exchange."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        conn.request("POST", path, body=form, headers=headers)
        r = conn.getresponse()
        return r.status, r.read()
    except (OSError, http.client.HTTPException) as e:
        return e, b""
    finally:
        conn.close()


def start(**overrides):
    # Nothing listens on the SMTP port: the invitations stay queued, their
    # mail in the outbox, and the links are the mailed ones (a draft's link
    # would only ask for a confirmation mail).
    srv = Server.start(**{"smtp.port": str(free_port()), **overrides})
    # A user of the test stack: each accept mails the reseller a notice.
    reseller = srv.org_create("reseller", "Contoso Resellers", "reseller@example.test")
    return srv, srv.apikey(reseller)


def test_every_link_posted_twice_at_once_is_used_once():
    srv, key = start()
    posts = prepared_posts(srv, key, 40, "twice")
    # Each link twice, interleaved, 32 at a time: both posts of a link
    # often land in the same batch, where the second must find it used.
    work = [p for pair in zip(posts, posts) for p in pair]
    with concurrent.futures.ThreadPoolExecutor(32) as pool:
        results = list(pool.map(lambda p: post(srv.port, *p), work))
    done = [r for r in results if r[0] == 200 and DONE in r[1]]
    used = [r for r in results if r[0] == 409 and b'data-code="used"' in r[1]]
    assert len(done) == 40 and len(used) == 40, [(r[0], r[1][:200]) for r in results
                                                 if r not in done and r not in used][:3]
    for i in range(0, len(results), 2):
        assert {results[i][0], results[i + 1][0]} == {200, 409}, (i, results[i][0],
                                                                 results[i + 1][0])
    assert srv.sql("SELECT count(*) FROM relationships") == [(40,)]
    assert srv.sql("SELECT count(*) FROM orgs WHERE kind = 'customer'") == [(40,)]
    assert srv.sql("SELECT count(*) FROM invitations WHERE status = 'accepted'") == [(40,)]
    assert srv.sql("SELECT count(*) FROM links WHERE state = 'live'") == [(0,)]
    # Each accept tells the inviter, once.
    assert srv.sql("SELECT count(*) FROM outbox WHERE kind = 'notice'") == [(40,)]
    srv.cleanup()


def test_stopping_in_a_burst_commits_everything_answered_done():
    srv, key = start(**{"server.threads": "2"})
    posts = prepared_posts(srv, key, 400, "burst")
    results = [None] * len(posts)
    answered = threading.Event()

    def one(i):
        results[i] = post(srv.port, *posts[i])
        if results[i][0] == 200:
            answered.set()

    with concurrent.futures.ThreadPoolExecutor(32) as pool:
        futures = [pool.submit(one, i) for i in range(len(posts))]
        assert answered.wait(30), "no redeem answered"
        at_signal = sum(1 for r in results if r is not None)
        srv.proc.send_signal(signal.SIGTERM)
        rc = srv.proc.wait(timeout=30)
        concurrent.futures.wait(futures, timeout=60)
    assert rc == 0, srv.log()[-3000:]
    print(f"{at_signal} answered at SIGTERM")

    done = {i for i, r in enumerate(results) if r[0] == 200 and DONE in r[1]}
    others = [r for i, r in enumerate(results) if i not in done]
    # Anything else is a connection the stopping server closed or refused,
    # never an error page.
    assert all(not isinstance(r[0], int) for r in others), [r[:1] for r in others][:5]
    assert 0 < len(done), len(done)
    print(f"{len(done)} of {len(posts)} answered Done before the stop")
    accepted = {r[0] for r in srv.sql(
        "SELECT l.jti FROM links l JOIN invitations i ON i.id = l.subject_id"
        " WHERE i.status = 'accepted' AND l.state = 'used'")}
    # Every "Done" is in the store: as many accepted invitations as there
    # were Done pages at least (a redeem committed just before the stop may
    # have lost its connection), each with its relationship.
    n_accepted = srv.sql("SELECT count(*) FROM invitations WHERE status = 'accepted'")[0][0]
    assert n_accepted >= len(done), (n_accepted, len(done))
    assert srv.sql("SELECT count(*) FROM relationships") == [(n_accepted,)]
    assert len(accepted) == n_accepted
    # Restarted, the links not redeemed still work.
    srv.serve()
    left = [i for i in range(len(posts)) if i not in done]
    for i in left:
        status, body = post(srv.port, *posts[i])
        assert status in (200, 409), (status, body[:300])
    assert srv.sql("SELECT count(*) FROM invitations WHERE status = 'accepted'") == [
        (len(posts),)]
    srv.cleanup()
