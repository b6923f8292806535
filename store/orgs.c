/*
 * orgs.c: organizations and the email domains they own.
 */
#include <sodium.h>

#include "store_int.h"

#define ORG_COLUMNS ORG_COLUMNS_OF("")

void store_read_org(struct stmt *s, int base, struct org *o)
{
	char buf[32];
	memset(o, 0, sizeof(*o));
	o->id = col_int64(s, base + 0);
	col_text(s, base + 1, buf, sizeof(buf));
	org_kind_parse(buf, &o->kind);
	col_text(s, base + 2, buf, sizeof(buf));
	org_status_parse(buf, &o->status);
	col_text(s, base + 3, o->legal_name, sizeof(o->legal_name));
	col_text(s, base + 4, o->address, sizeof(o->address));
	col_text(s, base + 5, o->country, sizeof(o->country));
	col_text(s, base + 6, o->partner_id, sizeof(o->partner_id));
	col_text(s, base + 7, o->contact_name, sizeof(o->contact_name));
	col_text(s, base + 8, o->contact_email, sizeof(o->contact_email));
	col_text(s, base + 9, o->contact_phone, sizeof(o->contact_phone));
	col_text(s, base + 10, o->support_email, sizeof(o->support_email));
	col_text(s, base + 11, o->support_phone, sizeof(o->support_phone));
	col_text(s, base + 12, o->support_url, sizeof(o->support_url));
	col_text(s, base + 13, o->locale, sizeof(o->locale));
	col_text(s, base + 14, o->status_reason, sizeof(o->status_reason));
	o->contact_verified = col_int(s, base + 15);
	o->created_at = col_int64(s, base + 16);
	o->updated_at = col_int64(s, base + 17);
}

#define read_org(s, o) store_read_org(s, 0, o)

static void read_proof(struct stmt *s, int base, struct domain_proof *p)
{
	char state[16];
	col_text(s, base, state, sizeof(state));
	p->state = store_domain_state_parse(state);
	col_text(s, base + 1, p->method, sizeof(p->method));
	col_text(s, base + 2, p->token, sizeof(p->token));
	p->checked_at = col_int64(s, base + 3);
}

int store_load_domains(struct store *st, struct org *o, const char **error_r)
{
	static const char sql[] =
		"SELECT domain, state, method, token, checked_at FROM org_domains"
		" WHERE org_id = ? ORDER BY domain";
	struct stmt *s = store_stmt(st, sql, error_r);
	if (s == NULL)
		return STORE_ERROR;
	bind_int64(s, 1, o->id);
	o->n_domains = 0;
	int rc;
	while ((rc = store_step(s)) == STEP_ROW && o->n_domains < MAX_DOMAINS) {
		col_text(s, 0, o->domains[o->n_domains], MAX_DOMAIN_LEN + 1);
		read_proof(s, 1, &o->proofs[o->n_domains++]);
	}
	store_reset(s);
	if (rc != STEP_DONE && rc != STEP_ROW) {
		*error_r = store_err(st, "org domains");
		return STORE_ERROR;
	}
	return STORE_OK;
}

int store_domain_owner(struct store *st, const char *domain, int64_t except_id,
		       int64_t *org_id_r, const char **error_r)
{
	static const char sql[] =
		"SELECT o.id FROM org_domains d JOIN orgs o ON o.id = d.org_id"
		" WHERE d.domain = ? AND d.state = 'proven' AND o.status = 'approved'"
		" AND o.id != ? LIMIT 1";
	struct stmt *s = store_stmt(st, sql, error_r);
	if (s == NULL)
		return STORE_ERROR;
	bind_text(s, 1, domain);
	bind_int64(s, 2, except_id);
	int rc = store_step(s);
	*org_id_r = rc == STEP_ROW ? col_int64(s, 0) : 0;
	store_reset(s);
	if (rc != STEP_ROW && rc != STEP_DONE) {
		*error_r = store_err(st, "domain owner");
		return STORE_ERROR;
	}
	return STORE_OK;
}

int store_org_insert(struct store *st, struct org *o, const char **error_r)
{
	static const char sql[] =
		"INSERT INTO orgs (kind, status, legal_name, address, country,"
		" partner_id, contact_name, contact_email, contact_phone,"
		" support_email, support_phone, support_url, locale,"
		" status_reason, contact_verified, created_at, updated_at)"
		" VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?) RETURNING id";
	static const char sql_domain[] =
		"INSERT INTO org_domains (org_id, domain, token) VALUES (?, ?, ?)"
		" ON CONFLICT DO NOTHING";

	for (size_t i = 0; i < o->n_domains; i++) {
		int64_t owner;
		if (store_domain_owner(st, o->domains[i], 0, &owner, error_r) < 0)
			return STORE_ERROR;
		if (owner != 0) {
			*error_r = errorf("domain %s is already owned by an approved "
					  "organization", o->domains[i]);
			return STORE_CONFLICT;
		}
	}
	struct stmt *s = store_stmt(st, sql, error_r);
	if (s == NULL)
		return STORE_ERROR;
	bind_text(s, 1, org_kind_str(o->kind));
	bind_text(s, 2, org_status_str(o->status));
	bind_text(s, 3, o->legal_name);
	bind_text(s, 4, o->address);
	bind_text(s, 5, o->country);
	bind_text(s, 6, o->partner_id);
	bind_text(s, 7, o->contact_name);
	bind_text(s, 8, o->contact_email);
	bind_text(s, 9, o->contact_phone);
	bind_text(s, 10, o->support_email);
	bind_text(s, 11, o->support_phone);
	bind_text(s, 12, o->support_url);
	bind_text(s, 13, o->locale[0] ? o->locale : "en");
	bind_text(s, 14, o->status_reason);
	bind_int64(s, 15, o->contact_verified);
	bind_int64(s, 16, o->created_at);
	bind_int64(s, 17, o->updated_at ? o->updated_at : o->created_at);
	int rc = store_insert(st, s, &o->id, "insert org", error_r);
	if (rc != STORE_OK)
		return rc;

	for (size_t i = 0; i < o->n_domains; i++) {
		s = store_stmt(st, sql_domain, error_r);
		if (s == NULL)
			return STORE_ERROR;
		/* The TXT record's token: 128 random bits, in lower-case hex. */
		unsigned char raw[DOMAIN_TOKEN_LEN / 2];
		char token[DOMAIN_TOKEN_LEN + 1];
		randombytes_buf(raw, sizeof(raw));
		sodium_bin2hex(token, sizeof(token), raw, sizeof(raw));
		bind_int64(s, 1, o->id);
		bind_text(s, 2, o->domains[i]);
		bind_text(s, 3, token);
		if ((rc = store_exec_stmt(st, s, "insert org domain", error_r)) != STORE_OK)
			return rc;
	}
	return STORE_OK;
}

int store_org_get(struct store *st, int64_t id, struct org *o,
		  const char **error_r)
{
	static const char sql[] = "SELECT " ORG_COLUMNS " FROM orgs WHERE id = ?";
	struct stmt *s = store_stmt(st, sql, error_r);
	if (s == NULL)
		return STORE_ERROR;
	bind_int64(s, 1, id);
	int rc = store_step(s);
	if (rc == STEP_ROW)
		read_org(s, o);
	store_reset(s);
	if (rc == STEP_DONE)
		return STORE_NOT_FOUND;
	if (rc != STEP_ROW) {
		*error_r = store_err(st, "get org");
		return STORE_ERROR;
	}
	return store_load_domains(st, o, error_r);
}

int store_org_set_status(struct store *st, int64_t id, int from,
			 enum org_status to, const char *reason, int64_t now,
			 const char **error_r)
{
	static const char sql[] =
		"UPDATE orgs SET status = ?, status_reason = ?, updated_at = ?"
		" WHERE id = ? AND (? IS NULL OR status = ?)";
	struct stmt *s = store_stmt(st, sql, error_r);
	if (s == NULL)
		return STORE_ERROR;
	bind_text(s, 1, org_status_str(to));
	bind_text(s, 2, reason ? reason : "");
	bind_int64(s, 3, now);
	bind_int64(s, 4, id);
	bind_text(s, 5, from >= 0 ? org_status_str((enum org_status)from) : NULL);
	bind_text(s, 6, from >= 0 ? org_status_str((enum org_status)from) : NULL);
	int rc = store_exec_stmt(st, s, "set org status", error_r);
	if (rc != STORE_OK)
		return rc;
	if (store_changes(st) == 0) {
		*error_r = "organization is not in the expected state";
		return STORE_CONFLICT;
	}
	return STORE_OK;
}

int store_org_set_contact_verified(struct store *st, int64_t id, int64_t now,
				   const char **error_r)
{
	static const char sql[] =
		"UPDATE orgs SET contact_verified = 1, updated_at = ? WHERE id = ?";
	struct stmt *s = store_stmt(st, sql, error_r);
	if (s == NULL)
		return STORE_ERROR;
	bind_int64(s, 1, now);
	bind_int64(s, 2, id);
	return store_exec_stmt(st, s, "set contact verified", error_r);
}

/* The first approved org of kind found by one statement and one text. */
static int find_one(struct store *st, const char *sql, enum org_kind kind,
		    const char *value, struct org *o, const char **error_r)
{
	struct stmt *s = store_stmt(st, sql, error_r);
	if (s == NULL)
		return STORE_ERROR;
	bind_text(s, 1, value);
	bind_text(s, 2, org_kind_str(kind));
	int rc = store_step(s);
	if (rc == STEP_ROW)
		read_org(s, o);
	store_reset(s);
	if (rc == STEP_DONE)
		return STORE_NOT_FOUND;
	if (rc != STEP_ROW) {
		*error_r = store_err(st, "find org");
		return STORE_ERROR;
	}
	return store_load_domains(st, o, error_r);
}

static const char by_contact[] =
	"SELECT " ORG_COLUMNS " FROM orgs WHERE contact_email = ?"
	" AND kind = ?2 AND (?2 = 'customer' OR status = 'approved')"
	" ORDER BY id LIMIT 1";

int store_org_find_by_contact(struct store *st, enum org_kind kind, const char *email,
			      struct org *o, const char **error_r)
{
	return find_one(st, by_contact, kind, email, o, error_r);
}

int store_org_find_by_email(struct store *st, enum org_kind kind,
			    const char *email, struct org *o,
			    const char **error_r)
{
	static const char by_domain[] =
		"SELECT " ORG_COLUMNS " FROM orgs WHERE id = (SELECT o.id FROM"
		" org_domains d JOIN orgs o ON o.id = d.org_id WHERE d.domain = ?"
		" AND d.state = 'proven'"
		" AND o.kind = ?2 AND (?2 = 'customer' OR o.status = 'approved')"
		" ORDER BY o.id LIMIT 1)";

	int rc = find_one(st, by_contact, kind, email, o, error_r);
	if (rc != STORE_NOT_FOUND)
		return rc;
	const char *domain = strchr(email, '@');
	if (domain == NULL)
		return STORE_NOT_FOUND;
	/* The address's domain, then each parent domain: a contact at
	 * sales.example.com belongs to the owner of example.com. */
	for (domain++; domain != NULL; domain = strchr(domain, '.')) {
		if (*domain == '.')
			domain++;
		if (strchr(domain, '.') == NULL)
			break; /* never match a bare top-level domain */
		rc = find_one(st, by_domain, kind, domain, o, error_r);
		if (rc != STORE_NOT_FOUND)
			return rc;
	}
	return STORE_NOT_FOUND;
}

int store_org_list(struct store *st, const struct org_filter *f,
		   store_org_cb *cb, void *ctx, const char **error_r)
{
	static const char sql[] =
		"SELECT " ORG_COLUMNS " FROM orgs WHERE (?1 IS NULL OR kind = ?1)"
		" AND (?2 IS NULL OR status = ?2) AND (?3 = 0 OR id < ?3)"
		" AND (?5 = 0 OR status != '') ORDER BY id DESC LIMIT ?4";
	struct stmt *s = store_stmt(st, sql, error_r);
	if (s == NULL)
		return STORE_ERROR;
	bind_text(s, 1, f->kind > 0 ? org_kind_str((enum org_kind)f->kind) : NULL);
	bind_text(s, 2, f->status >= 0 ? org_status_str((enum org_status)f->status) : NULL);
	bind_int64(s, 3, f->before_id);
	bind_int64(s, 4, f->limit > 0 ? f->limit : 100);
	bind_int64(s, 5, f->enrolled_only);

	/* Rows are copied out first: the callback may use the store. */
	int n = 0, rc = STEP_DONE, cap = f->limit > 0 ? f->limit : 100;
	struct org *rows = calloc((size_t)cap, sizeof(*rows));
	if (rows == NULL) {
		store_reset(s);
		*error_r = "out of memory";
		return STORE_ERROR;
	}
	while (n < cap && (rc = store_step(s)) == STEP_ROW)
		read_org(s, &rows[n++]);
	store_reset(s);
	int ret = STORE_OK;
	if (n < cap && rc != STEP_DONE) {
		*error_r = store_err(st, "list orgs");
		ret = STORE_ERROR;
	}
	for (int i = 0; ret == STORE_OK && i < n; i++) {
		if (store_load_domains(st, &rows[i], error_r) < 0)
			ret = STORE_ERROR;
		else if (cb(ctx, &rows[i]) != 0)
			break;
	}
	free(rows);
	return ret;
}

int store_org_pending_for_contact(struct store *st, const char *email, int64_t *id_r,
				  const char **error_r)
{
	static const char sql[] = "SELECT id FROM orgs WHERE contact_email = ?"
				  " AND status = 'pending_verification' LIMIT 1";
	struct stmt *s = store_stmt(st, sql, error_r);
	if (s == NULL)
		return STORE_ERROR;
	bind_text(s, 1, email);
	return store_one_row(st, s, store_read_int64, id_r, "find pending enrollment", error_r);
}

int store_domain_prove(struct store *st, int64_t org_id, const char *domain,
		       const char *method, int64_t now, const char **error_r)
{
	/* Only an approved organization's proof stands in the way: a rejected,
	 * withdrawn or pending one's must not block the domain's owner. */
	static const char taken[] =
		"SELECT count(*) FROM org_domains mine JOIN org_domains other"
		" ON other.domain = mine.domain AND other.org_id != mine.org_id"
		" AND other.state = 'proven' JOIN orgs o ON o.id = other.org_id"
		" AND o.status = 'approved'"
		" WHERE mine.org_id = ?1 AND (?2 IS NULL OR mine.domain = ?2)";
	static const char sql[] =
		"UPDATE org_domains SET state = 'proven', method = ?3, checked_at = ?4"
		" WHERE org_id = ?1 AND (?2 IS NULL OR domain = ?2)"
		" AND (state != 'proven' OR method = 'dns')"; /* a lasting proof stays */
	struct stmt *s = store_stmt(st, taken, error_r);
	if (s == NULL)
		return STORE_ERROR;
	bind_int64(s, 1, org_id);
	bind_text(s, 2, domain); /* NULL: every domain */
	int64_t n;
	int rc = store_count(st, s, &n, "domain proven elsewhere", error_r);
	if (rc != STORE_OK)
		return rc;
	if (n > 0) {
		*error_r = "another organization has proven that domain";
		return STORE_CONFLICT;
	}
	if ((s = store_stmt(st, sql, error_r)) == NULL)
		return STORE_ERROR;
	bind_int64(s, 1, org_id);
	bind_text(s, 2, domain); /* NULL: every domain */
	bind_text(s, 3, method);
	bind_int64(s, 4, now);
	if ((rc = store_exec_stmt(st, s, "prove domain", error_r)) != STORE_OK)
		return rc;
	return store_changes(st) > 0 ? STORE_OK : STORE_NOT_FOUND;
}

int store_domain_checked(struct store *st, int64_t org_id, const char *domain,
			 enum domain_state state, int64_t now, const char **error_r)
{
	/* Only a row still DNS's to decide: a lasting proof made meanwhile
	 * (the contact verified while DNS was asked) is kept. */
	static const char sql[] =
		"UPDATE org_domains SET state = ?3, method = CASE ?3 WHEN 'proven' THEN 'dns'"
		" ELSE '' END, checked_at = ?4 WHERE org_id = ?1 AND domain = ?2"
		" AND (state != 'proven' OR method = 'dns')";
	struct stmt *s = store_stmt(st, sql, error_r);
	if (s == NULL)
		return STORE_ERROR;
	bind_int64(s, 1, org_id);
	bind_text(s, 2, domain);
	bind_text(s, 3, domain_state_str(state));
	bind_int64(s, 4, now);
	int rc = store_exec_stmt(st, s, "domain checked", error_r);
	if (rc != STORE_OK)
		return rc;
	return store_changes(st) > 0 ? STORE_OK : STORE_NOT_FOUND;
}

int store_domains_due(struct store *st, int64_t org_id, int64_t before, int limit,
		      store_domain_cb *cb, void *ctx, const char **error_r)
{
	static const char sql[] =
		"SELECT d.org_id, d.domain, d.state, d.method, d.token, d.checked_at"
		" FROM org_domains d JOIN orgs o ON o.id = d.org_id"
		" WHERE (?1 = 0 OR d.org_id = ?1) AND d.checked_at < ?2"
		" AND (d.state != 'proven' OR d.method = 'dns') AND o.status != 'rejected'"
		" AND o.contact_verified = 1"
		" ORDER BY d.checked_at LIMIT ?3";
	struct stmt *s = store_stmt(st, sql, error_r);
	if (s == NULL)
		return STORE_ERROR;
	bind_int64(s, 1, org_id);
	bind_int64(s, 2, before);
	bind_int64(s, 3, limit);
	/* Rows are copied out first: the callback may use the store. */
	struct domain_due *rows = calloc((size_t)(limit > 0 ? limit : 1), sizeof(*rows));
	if (rows == NULL) {
		store_reset(s);
		*error_r = "out of memory";
		return STORE_ERROR;
	}
	int n = 0, rc = STEP_DONE;
	while (n < limit && (rc = store_step(s)) == STEP_ROW) {
		rows[n].org_id = col_int64(s, 0);
		col_text(s, 1, rows[n].domain, sizeof(rows[n].domain));
		read_proof(s, 2, &rows[n].proof);
		n++;
	}
	store_reset(s);
	int ret = STORE_OK;
	if (n < limit && rc != STEP_DONE) {
		*error_r = store_err(st, "domains due");
		ret = STORE_ERROR;
	}
	for (int i = 0; ret == STORE_OK && i < n; i++)
		if (cb(ctx, &rows[i]) != 0)
			break;
	free(rows);
	return ret;
}

int store_domains_ask(struct store *st, int64_t org_id, int64_t seen_before,
		      const char **error_r)
{
	static const char sql[] =
		"UPDATE org_domains SET checked_at = 0 WHERE org_id = ? AND checked_at < ?"
		" AND (state != 'proven' OR method = 'dns')";
	struct stmt *s = store_stmt(st, sql, error_r);
	if (s == NULL)
		return STORE_ERROR;
	bind_int64(s, 1, org_id);
	bind_int64(s, 2, seen_before);
	return store_exec_stmt(st, s, "ask domains", error_r);
}
