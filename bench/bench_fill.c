/*
 * bench_fill.c: fill an invited database with invitations as the server
 * leaves them, for the store benchmark (bench/store.py).
 *
 *	bench_fill CONFIG BIG_ORG N_ORGS N_INVITATIONS
 *
 * Half of the invitations come from BIG_ORG (an approved provider made by
 * `invited org create`), so that its list is deep; the other half from
 * N_ORGS new organizations, providers and resellers, in turn. Creation
 * times are spread over the last FILL_DAYS days, oldest first; what became
 * of each (sent, accepted, expired, …) follows from its age.
 *
 * The first invitation of each inviter and locale is made as the server
 * makes one: a signed link, its mail rendered from the templates, built as
 * MIME and queued, then recorded as sent. Every later one of that inviter
 * and locale gets its own random codes (reply code, link id, VERP code,
 * Message-ID) and a copy of that first one's subject, bodies, token text
 * and MIME bytes: its own would differ only by the invitee's name and
 * address, and rendering and signing a million takes minutes. Every row
 * goes through the store's API, 20,000 invitations to a transaction, in
 * bulk-load mode (store_bulk_load).
 */
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "invited/invitation.h"
#include "invited/link.h"
#include "invited/log.h"
#include "invited/mailer.h"
#include "invited/outbox.h"
#include "invited/server.h"

#define FILL_DAYS   180
#define ROWS_PER_TX 20000
#define N_LOCALES   2

static const char *const locales[N_LOCALES] = {"en", "ja"};

/* What the first invitation of an inviter and locale left, to copy. */
struct proto {
	int made;
	char subject[MAX_SUBJECT_LEN + 1];
	char *text, *html;
	char token[MAX_TOKEN_LEN + 1];
	char kid[MAX_KID_LEN + 1];
	char *data; /* the MIME message */
	size_t len;
};

struct inviter {
	int64_t id;
	enum org_kind kind;
	struct proto proto[N_LOCALES];
};

/* Random bytes for codes, drawn from libsodium a block at a time: a
 * getrandom() call for each code costs more than a row's insert. */
struct random_pool {
	unsigned char buf[65536];
	size_t used;
};

struct filler {
	struct app app;
	struct random_pool random;
	struct store *st;
	int64_t now;
	int64_t lifetime;
	size_t n_real; /* made as the server makes them */
	size_t pruned; /* sent mails whose bytes [mail] keep_sent dropped */
	size_t by_status[INV_HANDED_OFF + 1];
};

static double seconds(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void random_take(struct random_pool *p, unsigned char *out, size_t n)
{
	if (p->used + n > sizeof(p->buf)) {
		randombytes_buf(p->buf, sizeof(p->buf));
		p->used = 0;
	}
	memcpy(out, p->buf + p->used, n);
	p->used += n;
}

/* A reply or VERP code as mailer_new_code() makes one: 20 of [a-z2-7]. */
static void new_code(struct random_pool *p, char code[MAX_CODE_LEN + 1])
{
	static const char alphabet[] = "abcdefghijklmnopqrstuvwxyz234567";
	unsigned char raw[20];
	random_take(p, raw, sizeof(raw));
	for (size_t i = 0; i < sizeof(raw); i++)
		code[i] = alphabet[raw[i] & 31];
	code[sizeof(raw)] = '\0';
}

/* A link id as links/link.c makes one: 128 random bits, base64url. */
static void new_jti(struct random_pool *p, char jti[MAX_CODE_LEN + 1])
{
	unsigned char raw[16];
	random_take(p, raw, sizeof(raw));
	sodium_bin2base64(jti, MAX_CODE_LEN + 1, raw, sizeof(raw),
			  sodium_base64_VARIANT_URLSAFE_NO_PADDING);
}

static const char *const first_names[] = {"Rita",  "Akira",  "Maria", "Chen",  "Olga",
					  "James", "Fatima", "Lukas", "Priya", "Tomás"};
static const char *const last_names[] = {"Reseller", "Tanaka", "García", "Wang",   "Ivanova",
					 "Smith",    "Haddad", "Müller", "Sharma", "Novák"};

/* ---------------------------------------------------------- who invites */

static int add_org(struct filler *f, int i, struct inviter *who, const char **error_r)
{
	struct org o;
	memset(&o, 0, sizeof(o));
	o.kind = i % 2 == 0 ? ORG_PROVIDER : ORG_RESELLER;
	o.status = ORG_APPROVED;
	o.contact_verified = 1;
	snprintf(o.legal_name, sizeof(o.legal_name), "%s Partners %d K.K.", last_names[i % 10], i);
	snprintf(o.address, sizeof(o.address), "%d-2-3 Marunouchi\nChiyoda-ku, Tokyo", i);
	snprintf(o.country, sizeof(o.country), "JP");
	snprintf(o.contact_name, sizeof(o.contact_name), "%s %s", first_names[i % 10],
		 last_names[(i / 10) % 10]);
	snprintf(o.contact_email, sizeof(o.contact_email), "contact@org%d.example", i);
	snprintf(o.contact_phone, sizeof(o.contact_phone), "+81 3-1234-%04d", i % 10000);
	snprintf(o.support_email, sizeof(o.support_email), "help@org%d.example", i);
	snprintf(o.locale, sizeof(o.locale), "%s", locales[i % 5 == 0]);
	o.n_domains = 1;
	snprintf(o.domains[0], sizeof(o.domains[0]), "org%d.example", i);
	o.created_at = o.updated_at = f->now - (FILL_DAYS + 30) * 86400;
	if (store_org_insert(f->st, &o, error_r) != STORE_OK ||
	    store_event_add(f->st, o.created_at, o.id, 0, "cli", "org.created",
			    errorf("org:%lld", (long long)o.id),
			    errorf("kind=%s status=approved", org_kind_str(o.kind)), NULL,
			    error_r) != STORE_OK)
		return -1;
	who->id = o.id;
	who->kind = o.kind;
	return 0;
}

/* --------------------------------------------------------- what becomes */

/* A choice among n for invitation i that looks random but is repeatable;
 * salt makes the choices of one invitation independent of each other. */
static unsigned pick(size_t i, unsigned salt, unsigned n)
{
	uint64_t h = ((uint64_t)i + salt * 0x10001u) * 0x9E3779B97F4A7C15u;
	return (unsigned)((h >> 32) % n);
}

/*
 * What became of invitation i, made with this expiry: one still open is
 * mostly sent (or a draft, handed off, already answered); an older one
 * was answered, expired, or was revoked or bounced.
 */
static enum inv_status fate(const struct filler *f, int64_t expires_at, size_t i)
{
	unsigned r = pick(i, 0, 100);
	if (expires_at > f->now + 3600) {
		if (r < 75)
			return INV_SENT;
		if (r < 82)
			return INV_DRAFT;
		if (r < 85)
			return INV_HANDED_OFF;
		if (r < 94)
			return INV_ACCEPTED;
		if (r < 97)
			return INV_DECLINED;
		return r < 99 ? INV_REVOKED : INV_BOUNCED;
	}
	if (r < 45)
		return INV_ACCEPTED;
	if (r < 55)
		return INV_DECLINED;
	if (r < 90)
		return INV_EXPIRED;
	return r < 95 ? INV_REVOKED : INV_BOUNCED;
}

static int was_mailed(enum inv_status s)
{
	return s != INV_DRAFT && s != INV_HANDED_OFF;
}

/* When the link stopped working: used, revoked, expired or bounced. */
static int64_t closed_at(const struct invitation *inv, enum inv_status s)
{
	switch (s) {
	case INV_EXPIRED:
		return inv->expires_at;
	case INV_BOUNCED:
		return inv->created_at + 60;
	default:
		return inv->created_at + 86400;
	}
}

/* The invitation's own fields, as a request gives them. */
static void fill_fields(struct filler *f, struct invitation *inv, const struct inviter *who,
			size_t i, int64_t t)
{
	memset(inv, 0, sizeof(*inv));
	inv->kind = who->kind == ORG_PROVIDER ? INV_INDIRECT_PROVIDER : INV_RESELLER;
	inv->inviter_org_id = who->id;
	snprintf(inv->name, sizeof(inv->name), "%s %s", first_names[pick(i, 1, 10)],
		 last_names[pick(i, 2, 10)]);
	snprintf(inv->email, sizeof(inv->email), "%s.%zu@customer%u.example",
		 pick(i, 3, 3) == 0 ? "sales" : "contact", i, pick(i, 4, 50000));
	snprintf(inv->locale, sizeof(inv->locale), "%s", locales[pick(i, 5, 10) == 0]);
	if (pick(i, 6, 3) == 0)
		snprintf(inv->message, sizeof(inv->message),
			 "Hello %s,\nas discussed on the phone, here is the invitation to our "
			 "partner programme. Looking forward to working with you.",
			 inv->name);
	new_code(&f->random, inv->reply_code);
	inv->expires_at = t + f->lifetime;
	inv->created_at = t;
}

/* ------------------------------------------------- the rows, as stored */

static int store_link(struct filler *f, const struct invitation *inv, const char *token,
		      const char *kid, enum inv_status fin, const char **error_r)
{
	struct link_row link;
	memset(&link, 0, sizeof(link));
	snprintf(link.jti, sizeof(link.jti), "%s", inv->jti);
	snprintf(link.purpose, sizeof(link.purpose), "%s",
		 link_purpose_str(link_purpose_of(inv->kind)));
	snprintf(link.kid, sizeof(link.kid), "%s", kid);
	snprintf(link.token, sizeof(link.token), "%s", token);
	link.subject_id = inv->id;
	link.issued_at = inv->created_at;
	link.expires_at = inv->expires_at;
	link.state = LINK_LIVE;
	if (store_link_insert(f->st, &link, error_r) != STORE_OK)
		return -1;
	if (invitation_open(fin))
		return 0;
	int64_t t = closed_at(inv, fin);
	int rc = fin == INV_ACCEPTED || fin == INV_DECLINED
		     ? store_link_use(f->st, inv->jti, t, error_r)
		     : store_link_revoke(f->st, inv->jti, t, error_r);
	return rc == STORE_OK ? 0 : -1;
}

static int audit_create(struct filler *f, const struct invitation *inv, int mailed,
			const char **error_r)
{
	return store_event_add(f->st, inv->created_at, inv->inviter_org_id, 0, "apikey:1",
			       "invitation.created", errorf("invitation:%lld", (long long)inv->id),
			       errorf("kind=%s email=%s delivery=%s", inv_kind_str(inv->kind),
				      inv->email, mailed ? "send" : "draft"),
			       NULL, error_r) == STORE_OK
		   ? 0
		   : -1;
}

/* The outbox row as a sender leaves it after the server said 250. */
static int record_sent(struct filler *f, int64_t outbox_id, int64_t t, const char **error_r)
{
	char reply[64];
	snprintf(reply, sizeof(reply), "2.0.0 Ok: queued as 4X%08llX", (long long)outbox_id);
	return store_outbox_result(f->st, outbox_id, OUTBOX_QUEUED, OUTBOX_SENT, 250, reply, t + 2,
				   t + 2, error_r) == STORE_OK
		   ? 0
		   : -1;
}

/* ------------------------------------------------ made as the server does */

static int render(struct filler *f, struct invitation *inv, const char *token, const char **error_r)
{
	const struct mailer *m = &f->app.mailer;
	struct inv_mail_vars v;
	struct mail_content c;
	char name[64];
	char *url = link_url(m->public_url, token);
	snprintf(name, sizeof(name), "invitation_%s", inv_kind_str(inv->kind));
	int rc = url != NULL && mailer_invitation_vars(m, f->st, inv, &v, error_r) == 0 &&
			 tpl_vars_set(&v.vars, "link", url) == 0 &&
			 mailer_render(m, name, inv->locale, &v.vars, &c, error_r) == 0
		     ? 0
		     : -1;
	free(url);
	if (rc < 0)
		return -1;
	snprintf(inv->subject, sizeof(inv->subject), "%s", c.subject);
	inv->body_text = c.text;
	inv->body_html = c.html;
	c.text = c.html = NULL;
	mail_content_clear(&c);
	return 0;
}

/* Keep what a copy needs from the invitation just made. */
static int keep_proto(struct filler *f, struct proto *p, const struct invitation *inv,
		      const char *token, const char *kid, int64_t outbox_id, const char **error_r)
{
	struct outbox_msg m;
	snprintf(p->subject, sizeof(p->subject), "%s", inv->subject);
	snprintf(p->token, sizeof(p->token), "%s", token);
	snprintf(p->kid, sizeof(p->kid), "%s", kid);
	p->text = strdup(inv->body_text);
	p->html = strdup(inv->body_html);
	if (store_outbox_get(f->st, outbox_id, 1, &m, error_r) != STORE_OK)
		return -1;
	p->data = m.data;
	p->len = m.len;
	p->made = p->text != NULL && p->html != NULL;
	if (!p->made)
		*error_r = "out of memory";
	return p->made ? 0 : -1;
}

/* The row as the server keeps it: bodies the inviter did not edit are
 * rendered when read, not stored (links/invitation.c). */
static int insert_unedited(struct filler *f, struct invitation *inv, const char **error_r)
{
	char *text = inv->body_text, *html = inv->body_html;
	inv->body_text = inv->body_html = NULL;
	int rc = store_invitation_insert(f->st, inv, error_r) == STORE_OK ? 0 : -1;
	inv->body_text = text;
	inv->body_html = html;
	return rc;
}

/*
 * An invitation made as the server makes one (links/invitation.c): link,
 * rendered mail, row, audit line, the mail queued, then sent. It is always
 * mailed, since its mail is what later copies need.
 */
static int add_real(struct filler *f, struct invitation *inv, struct proto *p, enum inv_status fin,
		    const char **error_r)
{
	struct link_claims claims;
	int64_t outbox_id;
	char *token;
	struct inv_env env = {f->st, app_keys(&f->app), &f->app.mailer, f->lifetime,
			      inv->created_at, "apikey:1"};
	if (link_mint(app_keys(&f->app), f->app.mailer.public_url, link_purpose_of(inv->kind),
		      inv->created_at, f->lifetime, &claims, &token, error_r) < 0)
		return -1;
	snprintf(inv->jti, sizeof(inv->jti), "%s", claims.jti);
	inv->status = fin;
	int rc = render(f, inv, token, error_r) == 0 && insert_unedited(f, inv, error_r) == 0 &&
			 store_link(f, inv, token, claims.kid, fin, error_r) == 0 &&
			 audit_create(f, inv, 1, error_r) == 0 &&
			 invitation_queue_mail(&env, inv, &outbox_id, error_r) == 0 &&
			 record_sent(f, outbox_id, inv->created_at, error_r) == 0 &&
			 keep_proto(f, p, inv, token, claims.kid, outbox_id, error_r) == 0
		     ? 0
		     : -1;
	free(token);
	f->n_real++;
	return rc;
}

/* ------------------------------------------------------------ the copies */

/* The mail's own row: fresh VERP code and Message-ID, the copied bytes. */
static int add_copy_mail(struct filler *f, const struct invitation *inv, const struct proto *p,
			 const char **error_r)
{
	const struct mailer *m = &f->app.mailer;
	struct outbox_msg msg;
	memset(&msg, 0, sizeof(msg));
	new_code(&f->random, msg.code);
	snprintf(msg.message_id, sizeof(msg.message_id), "%s@%s", msg.code, m->reply_domain);
	snprintf(msg.env_from, sizeof(msg.env_from), "bounces+%s@%s", msg.code, m->reply_domain);
	msg.kind = OUTBOX_INVITATION;
	snprintf(msg.rcpt, sizeof(msg.rcpt), "%s", inv->email);
	msg.data = p->data;
	msg.len = p->len;
	msg.invitation_id = inv->id;
	msg.org_id = inv->inviter_org_id;
	msg.created_at = inv->created_at;
	msg.expires_at = inv->created_at + m->lifetime;
	if (store_outbox_add(f->st, &msg, error_r) != STORE_OK)
		return -1;
	return record_sent(f, msg.id, inv->created_at, error_r);
}

static int add_copy(struct filler *f, struct invitation *inv, const struct proto *p,
		    enum inv_status fin, const char **error_r)
{
	new_jti(&f->random, inv->jti);
	inv->status = fin;
	snprintf(inv->subject, sizeof(inv->subject), "%s", p->subject);
	int mailed = was_mailed(fin);
	int rc = store_invitation_insert(f->st, inv, error_r) == STORE_OK &&
			 store_link(f, inv, p->token, p->kid, fin, error_r) == 0 &&
			 audit_create(f, inv, mailed, error_r) == 0 &&
			 (!mailed || add_copy_mail(f, inv, p, error_r) == 0)
		     ? 0
		     : -1;
	return rc;
}

/* ------------------------------------------------------------------ fill */

static int add_invitation(struct filler *f, struct inviter *who, size_t i, int64_t t,
			  const char **error_r)
{
	struct invitation inv;
	fill_fields(f, &inv, who, i, t);
	struct proto *p = &who->proto[strcmp(inv.locale, locales[0]) != 0];
	enum inv_status fin = fate(f, inv.expires_at, i);
	if (!p->made && !was_mailed(fin))
		fin = INV_SENT;
	int rc = p->made ? add_copy(f, &inv, p, fin, error_r) : add_real(f, &inv, p, fin, error_r);
	/* A sent invitation whose reminder fell due was reminded by the
	 * server's sweep (its mail is not modelled, like the notices). */
	int64_t before = f->app.cfg.tokens.reminder_before;
	if (rc == 0 && fin == INV_SENT && before > 0 && inv.expires_at - before <= f->now &&
	    store_invitation_set_reminded(f->st, inv.id, inv.expires_at - before, error_r) !=
		    STORE_OK)
		rc = -1;
	invitation_clear(&inv);
	if (rc == 0)
		f->by_status[fin]++;
	return rc;
}

/* What the server's sweep does as the fill's clock moves on: sent mail
 * older than [mail] keep_sent loses its bytes, and later rows reuse the
 * pages freed, as they would over the months the fill stands for. */
static int retain(struct filler *f, int64_t now, const char **error_r)
{
	size_t n;
	do {
		if (outbox_prune(f->st, f->app.cfg.mail.keep_sent, now, ROWS_PER_TX, &n, error_r) < 0)
			return -1;
		f->pruned += n;
	} while (n == ROWS_PER_TX);
	return 0;
}

static int fill(struct filler *f, struct inviter *big, struct inviter *orgs, size_t n_orgs,
		size_t n, const char **error_r)
{
	int64_t span = (int64_t)FILL_DAYS * 86400;
	for (size_t i = 0; i < n; i++) {
		if (i % ROWS_PER_TX == 0 && store_begin(f->st, error_r) != STORE_OK)
			return -1;
		int64_t t = f->now - span + (int64_t)((double)span * (double)i / (double)n);
		struct inviter *who = i % 2 == 0 ? big : &orgs[(i / 2) % n_orgs];
		if (add_invitation(f, who, i, t, error_r) < 0) {
			store_rollback(f->st);
			*error_r = errorf("invitation %zu: %s", i, *error_r);
			return -1;
		}
		if (((i + 1) % ROWS_PER_TX == 0 || i + 1 == n) &&
		    (store_commit(f->st, error_r) != STORE_OK || retain(f, t, error_r) < 0))
			return -1;
	}
	return 0;
}

static int add_orgs(struct filler *f, struct inviter *orgs, size_t n, const char **error_r)
{
	if (store_begin(f->st, error_r) != STORE_OK)
		return -1;
	for (size_t i = 0; i < n; i++) {
		if (add_org(f, (int)i, &orgs[i], error_r) < 0) {
			store_rollback(f->st);
			return -1;
		}
	}
	return store_commit(f->st, error_r) == STORE_OK ? 0 : -1;
}

static void free_protos(struct inviter *who)
{
	for (int l = 0; l < N_LOCALES; l++) {
		free(who->proto[l].text);
		free(who->proto[l].html);
		free(who->proto[l].data);
	}
}

int main(int argc, char **argv)
{
	static struct filler f;
	struct inviter big = {0};
	const char *err = "out of memory";
	if (argc != 5) {
		fprintf(stderr, "usage: bench_fill CONFIG BIG_ORG N_ORGS N_INVITATIONS\n");
		return 2;
	}
	big.id = atoll(argv[2]);
	big.kind = ORG_PROVIDER;
	size_t n_orgs = (size_t)atol(argv[3]), n = (size_t)atol(argv[4]);
	if (big.id <= 0 || n_orgs == 0 || n == 0) {
		fprintf(stderr, "bench_fill: bad arguments\n");
		return 2;
	}
	if (app_init(&f.app, argv[1], &err) < 0 ||
	    store_open(f.app.cfg.server.database_conn, 0, &f.st, &err) != STORE_OK ||
	    store_bulk_load(f.st, &err) != STORE_OK) {
		fprintf(stderr, "bench_fill: %s\n", err);
		return 1;
	}
	f.now = (int64_t)time(NULL);
	f.random.used = sizeof(f.random.buf);
	f.lifetime = f.app.cfg.tokens.invitation_lifetime;

	double start = seconds();
	struct inviter *orgs = calloc(n_orgs, sizeof(*orgs));
	int rc = orgs != NULL && add_orgs(&f, orgs, n_orgs, &err) == 0 &&
			 fill(&f, &big, orgs, n_orgs, n, &err) == 0
		     ? 0
		     : -1;
	double took = seconds() - start;
	if (rc < 0) {
		fprintf(stderr, "bench_fill: %s\n", err);
	} else {
		fprintf(stderr, "bench_fill: %zu invitations (%zu made in full) in %.1f s\n", n,
			f.n_real, took);
		for (int s = INV_DRAFT; s <= INV_HANDED_OFF; s++)
			printf("%s %zu\n", inv_status_str((enum inv_status)s), f.by_status[s]);
		printf("pruned %zu\n", f.pruned);
		printf("seconds %.1f\n", took);
	}
	for (size_t i = 0; orgs != NULL && i < n_orgs; i++)
		free_protos(&orgs[i]);
	free_protos(&big);
	free(orgs);
	store_close(f.st);
	app_free(&f.app);
	return rc < 0 ? 1 : 0;
}
