/*
 * audit.c: the append-only audit log: who did what to which subject, when.
 */
#include "store_int.h"

int store_audit(struct store *st, int64_t now, const char *actor,
		const char *action, const char *subject, const char *details,
		const char **error_r)
{
	static const char sql[] =
		"INSERT INTO audit (at, actor, action, subject, details)"
		" VALUES (?, ?, ?, ?, ?)";
	sqlite3_stmt *s = store_stmt(st, sql, error_r);
	if (s == NULL)
		return STORE_ERROR;
	sqlite3_bind_int64(s, 1, now);
	bind_text(s, 2, actor);
	bind_text(s, 3, action);
	bind_text(s, 4, subject);
	bind_text(s, 5, details ? details : "");
	return store_exec_stmt(st, s, "audit", error_r);
}

int store_audit_list(struct store *st, int64_t before_id, int limit,
		     store_audit_cb *cb, void *ctx, const char **error_r)
{
	static const char sql[] =
		"SELECT id, at, actor, action, subject, details FROM audit"
		" WHERE (?1 = 0 OR id < ?1) ORDER BY id DESC LIMIT ?2";
	sqlite3_stmt *s = store_stmt(st, sql, error_r);
	if (s == NULL)
		return STORE_ERROR;
	sqlite3_bind_int64(s, 1, before_id);
	sqlite3_bind_int(s, 2, limit > 0 ? limit : 100);
	int rc;
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		struct audit_entry e = {
			.id = sqlite3_column_int64(s, 0),
			.at = sqlite3_column_int64(s, 1),
			.actor = (const char *)sqlite3_column_text(s, 2),
			.action = (const char *)sqlite3_column_text(s, 3),
			.subject = (const char *)sqlite3_column_text(s, 4),
			.details = (const char *)sqlite3_column_text(s, 5),
		};
		/* The callback must not use the store: rows are read live. */
		if (cb(ctx, &e) != 0)
			break;
	}
	sqlite3_reset(s);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
		*error_r = store_err(st, "list audit");
		return STORE_ERROR;
	}
	return STORE_OK;
}
