/*
 * relationships.c: provider -> reseller and seller -> customer rows.
 * Rows are ended, never deleted; at most one active row links two orgs
 * in one kind (a partial unique index keeps that true under races).
 */
#include "store_int.h"

int store_rel_insert(struct store *st, struct relationship *r, const char **error_r)
{
	static const char sql[] =
		"INSERT INTO relationships (kind, up_org_id, down_org_id,"
		" invitation_id, active, created_at) VALUES (?, ?, ?, ?, 1, ?) RETURNING id";
	struct stmt *s = store_stmt(st, sql, error_r);
	if (s == NULL)
		return STORE_ERROR;
	bind_text(s, 1, rel_kind_str(r->kind));
	bind_int64(s, 2, r->up_org_id);
	bind_int64(s, 3, r->down_org_id);
	bind_id(s, 4, r->invitation_id);
	bind_int64(s, 5, r->created_at);
	int rc = store_insert(st, s, &r->id, "insert relationship", error_r);
	if (rc == STORE_CONFLICT)
		*error_r = "an active relationship already links these organizations";
	if (rc != STORE_OK)
		return rc;
	r->active = 1;
	return STORE_OK;
}

int store_rel_active(struct store *st, enum rel_kind kind, int64_t up,
		     int64_t down, const char **error_r)
{
	static const char sql[] =
		"SELECT 1 FROM relationships WHERE kind = ? AND up_org_id = ?"
		" AND down_org_id = ? AND active = 1";
	struct stmt *s = store_stmt(st, sql, error_r);
	if (s == NULL)
		return STORE_ERROR;
	bind_text(s, 1, rel_kind_str(kind));
	bind_int64(s, 2, up);
	bind_int64(s, 3, down);
	int rc = store_step(s);
	store_reset(s);
	if (rc == STEP_ROW)
		return STORE_OK;
	if (rc == STEP_DONE)
		return STORE_NOT_FOUND;
	*error_r = store_err(st, "relationship");
	return STORE_ERROR;
}

int store_rel_end(struct store *st, enum rel_kind kind, int64_t up, int64_t down,
		  int64_t now, int64_t *id_r, const char **error_r)
{
	static const char sql[] =
		"UPDATE relationships SET active = 0, ended_at = ? WHERE kind = ?"
		" AND up_org_id = ? AND down_org_id = ? AND active = 1 RETURNING id";
	struct stmt *s = store_stmt(st, sql, error_r);
	if (s == NULL)
		return STORE_ERROR;
	bind_int64(s, 1, now);
	bind_text(s, 2, rel_kind_str(kind));
	bind_int64(s, 3, up);
	bind_int64(s, 4, down);
	*id_r = 0;
	return store_one_row(st, s, store_read_int64, id_r, "end relationship", error_r);
}

#define REL_COLUMNS                                                            \
	"r.id, r.kind, r.up_org_id, r.down_org_id, coalesce(r.invitation_id, 0),"\
	" r.active, r.created_at, coalesce(r.ended_at, 0), "
#define REL_SHARED                                                             \
	" AND (?3 = 0 OR EXISTS (SELECT 1 FROM relationships r2 WHERE"         \
	" r2.kind = r.kind AND r2.active = 1 AND r2.up_org_id = ?3"            \
	" AND r2.down_org_id = r.down_org_id))"                                \
	" AND (?4 = 0 OR r.id < ?4) ORDER BY r.id DESC LIMIT ?5"

static void read_rel(struct stmt *s, void *out)
{
	struct relationship *r = out;
	char kind[32];
	memset(r, 0, sizeof(*r));
	r->id = col_int64(s, 0);
	col_text(s, 1, kind, sizeof(kind));
	r->kind = strcmp(kind, "indirect_provider") == 0 ? REL_INDIRECT_PROVIDER
							 : REL_RESELLER_OF_RECORD;
	r->up_org_id = col_int64(s, 2);
	r->down_org_id = col_int64(s, 3);
	r->invitation_id = col_int64(s, 4);
	r->active = col_int(s, 5);
	r->created_at = col_int64(s, 6);
	r->ended_at = col_int64(s, 7);
}

int store_rel_get(struct store *st, int64_t id, struct relationship *r, const char **error_r)
{
	static const char sql[] = "SELECT " REL_COLUMNS "0 FROM relationships r WHERE r.id = ?";
	struct stmt *s = store_stmt(st, sql, error_r);
	if (s == NULL)
		return STORE_ERROR;
	bind_int64(s, 1, id);
	return store_one_row(st, s, read_rel, r, "get relationship", error_r);
}

int store_rel_list(struct store *st, const struct rel_filter *f,
		   store_rel_cb *cb, void *ctx, const char **error_r)
{
	static const char down[] =
		"SELECT " REL_COLUMNS ORG_COLUMNS_OF("o.") " FROM relationships r"
		" JOIN orgs o ON o.id = r.down_org_id WHERE r.up_org_id = ?1"
		" AND r.kind = ?2 AND r.active = 1" REL_SHARED;
	static const char up[] =
		"SELECT " REL_COLUMNS ORG_COLUMNS_OF("o.") " FROM relationships r"
		" JOIN orgs o ON o.id = r.up_org_id WHERE r.down_org_id = ?1"
		" AND r.kind = ?2 AND r.active = 1" REL_SHARED;
	struct stmt *s = store_stmt(st, f->side == REL_LIST_DOWN ? down : up, error_r);
	if (s == NULL)
		return STORE_ERROR;
	bind_int64(s, 1, f->org_id);
	bind_text(s, 2, rel_kind_str(f->kind));
	bind_int64(s, 3, f->shared_with);
	bind_int64(s, 4, f->before_id);
	bind_int64(s, 5, f->limit > 0 ? f->limit : 50);
	int rc;
	struct relationship r;
	struct org o;
	/* The callback must not use this connection: rows are read live. */
	while ((rc = store_step(s)) == STEP_ROW) {
		read_rel(s, &r);
		store_read_org(s, 8, &o);
		if (cb(ctx, &r, &o) != 0)
			break;
	}
	store_reset(s);
	if (rc != STEP_ROW && rc != STEP_DONE) {
		*error_r = store_err(st, "list relationships");
		return STORE_ERROR;
	}
	return STORE_OK;
}

int store_org_counts(struct store *st, int64_t org_id, struct org_counts *out,
		     const char **error_r)
{
	static const char partners[] =
		"SELECT count(*) FROM relationships WHERE kind = 'indirect_provider'"
		" AND active = 1 AND (up_org_id = ?1 OR down_org_id = ?1)";
	static const char customers[] =
		"SELECT count(*) FROM relationships WHERE kind = 'reseller_of_record'"
		" AND active = 1 AND up_org_id = ?1";
	static const char invitations[] =
		"SELECT count(*) FROM invitations WHERE inviter_org_id = ?1 AND status = ?2";
	const char *const sql[] = {partners, customers};
	int64_t *to[] = {&out->partners, &out->customers};
	memset(out, 0, sizeof(*out));
	for (size_t i = 0; i < 2; i++) {
		struct stmt *s = store_stmt(st, sql[i], error_r);
		if (s == NULL)
			return STORE_ERROR;
		bind_int64(s, 1, org_id);
		if (store_count(st, s, to[i], "count relationships", error_r) != STORE_OK)
			return STORE_ERROR;
	}
	for (int status = INV_DRAFT; status <= INV_HANDED_OFF; status++) {
		struct stmt *s = store_stmt(st, invitations, error_r);
		if (s == NULL)
			return STORE_ERROR;
		bind_int64(s, 1, org_id);
		bind_text(s, 2, inv_status_str((enum inv_status)status));
		if (store_count(st, s, &out->invitations[status], "count invitations",
				error_r) != STORE_OK)
			return STORE_ERROR;
	}
	return STORE_OK;
}
