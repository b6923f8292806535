/*
 * db.c: opening a database of either backend, its migrations, and
 * transactions. The path says which backend: postgresql:// (or
 * postgres://) a PostgreSQL database through libpq, anything else an
 * SQLite file.
 */
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store_int.h"

extern const char *const store_migrations[];
extern const int store_migration_count;
extern const char *const store_pg_migrations[];

int store_schema_version(void)
{
	return store_migration_count;
}

int store_is_pg(const char *path)
{
	return strncmp(path, "postgresql://", 13) == 0 || strncmp(path, "postgres://", 11) == 0;
}

/* As libpq reads the URL (percent-encoded names and all). */
int store_url_has_password(const char *path)
{
	if (!store_is_pg(path))
		return 0;
	char *err = NULL;
	PQconninfoOption *opts = PQconninfoParse(path, &err);
	int has = opts == NULL; /* not a URL libpq reads: say so, show nothing */
	for (PQconninfoOption *o = opts; o != NULL && o->keyword != NULL; o++)
		if (strcmp(o->keyword, "password") == 0 && o->val != NULL && o->val[0] != '\0')
			has = 1;
	PQconninfoFree(opts);
	PQfreemem(err);
	return has;
}

const char *store_backend_name(const struct store *st)
{
	return st->be->name;
}

int store_version(struct store *st, int *version_r, const char **error_r)
{
	return st->be->get_version(st, version_r, error_r);
}

/* Apply each migration above the database's version in its own
 * transaction, bumping the version with it; or, without migrate, refuse
 * a database that needs one. A new (empty) database is created whole
 * without a line per step. */
static int migrate(struct store *st, int flags, const char **error_r)
{
	int version, migrate = (flags & STORE_MIGRATE) != 0;
	const char *const *steps = st->be == &store_pg ? store_pg_migrations : store_migrations;
	if (store_version(st, &version, error_r) < 0)
		return STORE_ERROR;
	if (flags & STORE_ANY_VERSION) /* a backup copies pages, whatever they hold */
		return STORE_OK;
	if (version > store_migration_count) {
		*error_r = errorf("store: %s has schema version %d, newer than this build's "
				  "(%d): upgrade invited",
				  st->where, version, store_migration_count);
		return STORE_ERROR;
	}
	if (version < store_migration_count && !migrate) {
		*error_r = errorf("store: %s has schema version %d and this build needs %d: "
				  "run `invited db migrate` first (it takes a moment; back up "
				  "before)",
				  st->where, version, store_migration_count);
		return STORE_ERROR;
	}
	for (int v = version; v < store_migration_count; v++) {
		int now;
		if (st->be->begin(st, 1, error_r) < 0)
			return STORE_ERROR;
		/* Another process (db migrate, a restarted serve) may have
		 * applied it meanwhile: under the write lock, look again. */
		if (store_version(st, &now, error_r) != STORE_OK) {
			store_exec_sql(st, "ROLLBACK", error_r);
			return STORE_ERROR;
		}
		if (now > v) {
			store_exec_sql(st, "COMMIT", error_r);
			v = now - 1;
			continue;
		}
		if ((steps[v][0] != '\0' && store_exec_sql(st, steps[v], error_r) < 0) ||
		    st->be->set_version(st, v + 1, error_r) < 0) {
			const char *why = *error_r;
			store_exec_sql(st, "ROLLBACK", error_r);
			*error_r = errorf("store: migration %d failed (the database stays at "
					  "version %d): %s",
					  v + 1, v, why);
			return STORE_ERROR;
		}
		if (store_exec_sql(st, "COMMIT", error_r) < 0)
			return STORE_ERROR;
		if (version > 0)
			msg_info("store: %s: migration %d of %d applied", st->where, v + 1,
				 store_migration_count);
	}
	/* The statements prepared meanwhile (BEGIN) were of the old schema. */
	if (version < store_migration_count)
		store_stmt_cache_free(st);
	return STORE_OK;
}

int store_open(const char *path, int flags, struct store **st_r, const char **error_r)
{
	struct store *st = calloc(1, sizeof(*st));
	if (st == NULL) {
		*error_r = "store: out of memory";
		return STORE_ERROR;
	}
	int rc = store_is_pg(path) ? store_pg_open(st, path, flags, error_r)
				   : store_sqlite_open(st, path, flags, error_r);
	if (rc != STORE_OK || migrate(st, flags, error_r) < 0) {
		store_close(st);
		return STORE_ERROR;
	}
	*st_r = st;
	return STORE_OK;
}

void store_close(struct store *st)
{
	if (st == NULL)
		return;
	if (st->be != NULL) {
		store_stmt_cache_free(st);
		st->be->close(st);
	}
	free(st);
}

int store_begin(struct store *st, const char **error_r)
{
	if (st->be->begin(st, 1, error_r) != STORE_OK)
		return STORE_ERROR;
	st->in_tx = 1;
	return STORE_OK;
}

int store_begin_read(struct store *st, const char **error_r)
{
	if (st->be->begin(st, 0, error_r) != STORE_OK)
		return STORE_ERROR;
	st->in_tx = 1;
	return STORE_OK;
}

int store_commit(struct store *st, const char **error_r)
{
	static const char sql[] = "COMMIT";
	struct stmt *s = store_stmt(st, sql, error_r);
	if (s == NULL)
		return STORE_ERROR;
	if (store_exec_stmt(st, s, "commit", error_r) != STORE_OK) {
		store_rollback(st);
		return STORE_ERROR;
	}
	st->in_tx = 0;
	return STORE_OK;
}

void store_rollback(struct store *st)
{
	const char *err;
	if (st->be->in_tx(st))
		store_exec_sql(st, "ROLLBACK", &err);
	st->in_tx = 0;
}

int store_savepoint(struct store *st, const char **error_r)
{
	static const char sql[] = "SAVEPOINT part";
	struct stmt *s = store_stmt(st, sql, error_r);
	if (s == NULL)
		return STORE_ERROR;
	return store_exec_stmt(st, s, "savepoint", error_r);
}

int store_savepoint_end(struct store *st, int keep, const char **error_r)
{
	static const char undo[] = "ROLLBACK TO part";
	static const char release[] = "RELEASE part";
	struct stmt *s;
	if (!keep && ((s = store_stmt(st, undo, error_r)) == NULL ||
		      store_exec_stmt(st, s, "undo savepoint", error_r) != STORE_OK))
		return STORE_ERROR;
	if ((s = store_stmt(st, release, error_r)) == NULL)
		return STORE_ERROR;
	return store_exec_stmt(st, s, "release savepoint", error_r);
}

int store_in_tx(struct store *st)
{
	return st->be->in_tx(st);
}

int store_backup(struct store *st, const char *dest, const char **error_r)
{
	return st->be->backup(st, dest, error_r);
}

int store_ping(struct store *st, const char **error_r)
{
	return st->be->ping(st, error_r);
}

int store_bulk_load(struct store *st, const char **error_r)
{
	return st->be->bulk_load(st, error_r);
}

int store_sync_relaxed(struct store *st, const char **error_r)
{
	return st->be->sync_relaxed(st, error_r);
}

int store_integrity_check(struct store *st, char **result_r, const char **error_r)
{
	return st->be->integrity_check(st, result_r, error_r);
}
