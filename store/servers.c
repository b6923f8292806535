/*
 * servers.c: more than one server on one database. Each process has an
 * id; a serving one beats in the servers table, and its claims (outbox,
 * deliveries) carry its id, so that the claims of a server that stopped
 * beating can be taken back by the others. Locks that one server holds at
 * a time (the IMAP reader's), and rate-limit buckets that every server
 * takes from.
 */
#include <pthread.h>
#include <sodium.h>
#include <stdio.h>

#include "store_int.h"

static char process_id[33];
static pthread_once_t process_once = PTHREAD_ONCE_INIT;

static void make_process_id(void)
{
	unsigned char raw[16];
	randombytes_buf(raw, sizeof(raw));
	sodium_bin2hex(process_id, sizeof(process_id), raw, sizeof(raw));
}

const char *store_process_id(void)
{
	pthread_once(&process_once, make_process_id);
	return process_id;
}

int store_shared(const struct store *st)
{
	return st->be->shared;
}

int store_server_beat(struct store *st, const char *host, int64_t pid, int64_t started,
		      int64_t now, const char **error_r)
{
	static const char sql[] =
		"INSERT INTO servers (id, host, pid, started_at, seen_at) VALUES (?1, ?2, ?3, ?4, ?5)"
		" ON CONFLICT (id) DO UPDATE SET seen_at = ?5";
	struct stmt *s = store_stmt(st, sql, error_r);
	if (s == NULL)
		return STORE_ERROR;
	bind_text(s, 1, store_process_id());
	bind_text(s, 2, host);
	bind_int64(s, 3, pid);
	bind_int64(s, 4, started);
	bind_int64(s, 5, now);
	return store_exec_stmt(st, s, "server beat", error_r);
}

int store_server_gone(struct store *st, const char **error_r)
{
	static const char sql[] = "DELETE FROM servers WHERE id = ?";
	struct stmt *s = store_stmt(st, sql, error_r);
	if (s == NULL)
		return STORE_ERROR;
	bind_text(s, 1, store_process_id());
	return store_exec_stmt(st, s, "server gone", error_r);
}

int store_server_list(struct store *st, store_server_cb *cb, void *ctx, const char **error_r)
{
	static const char sql[] =
		"SELECT id, host, pid, started_at, seen_at FROM servers ORDER BY started_at, id";
	struct stmt *s = store_stmt(st, sql, error_r);
	if (s == NULL)
		return STORE_ERROR;
	int rc;
	while ((rc = store_step(s)) == STEP_ROW) {
		struct server_row r;
		col_text(s, 0, r.id, sizeof(r.id));
		col_text(s, 1, r.host, sizeof(r.host));
		r.pid = col_int64(s, 2);
		r.started_at = col_int64(s, 3);
		r.seen_at = col_int64(s, 4);
		if (cb(ctx, &r) != 0)
			break;
	}
	if (rc == STEP_ERROR)
		*error_r = store_err(st, "list servers");
	store_reset(s);
	return rc == STEP_ERROR ? STORE_ERROR : STORE_OK;
}

int store_now(struct store *st, int64_t *now_r, const char **error_r)
{
	return st->be->now(st, now_r, error_r);
}

int store_lock_hold(struct store *st, int64_t key, int *held_r, const char **error_r)
{
	return st->be->lock_hold(st, key, held_r, error_r);
}

/*
 * One statement, whatever the bucket held: refilled by the seconds since
 * it was last taken from (never past cap; a server whose clock is behind
 * refills nothing and moves no time back), then taken from if it holds
 * the cost. ok says which, for RETURNING (which sees only the new row).
 */
#define ELAPSED "(CASE WHEN ?6 > rate_buckets.last_at THEN ?6 - rate_buckets.last_at ELSE 0 END)"
#define REFILLED                                                                  \
	"(CASE WHEN rate_buckets.units + " ELAPSED " * ?5 > ?3 THEN ?3"           \
	" ELSE rate_buckets.units + " ELAPSED " * ?5 END)"

int store_rate_take(struct store *st, const char *name, const char *client, int64_t cap,
		    int64_t cost, int64_t refill, int64_t now, int *ok_r, int64_t *units_r,
		    const char **error_r)
{
	static const char sql[] =
		"INSERT INTO rate_buckets (name, client, units, last_at, ok)"
		" VALUES (?1, ?2, ?3 - ?4, ?6, 1)"
		" ON CONFLICT (name, client) DO UPDATE SET"
		" ok = CASE WHEN " REFILLED " >= ?4 THEN 1 ELSE 0 END,"
		" units = CASE WHEN " REFILLED " >= ?4 THEN " REFILLED " - ?4 ELSE " REFILLED " END,"
		" last_at = CASE WHEN ?6 > rate_buckets.last_at THEN ?6 ELSE rate_buckets.last_at END"
		" RETURNING ok, units";
	/* Servers' clocks differ; the database's is one. */
	if (st->be->shared && store_now(st, &now, error_r) != STORE_OK)
		return STORE_ERROR;
	struct stmt *s = store_stmt(st, sql, error_r);
	if (s == NULL)
		return STORE_ERROR;
	bind_text(s, 1, name);
	bind_text(s, 2, client);
	bind_int64(s, 3, cap);
	bind_int64(s, 4, cost);
	bind_int64(s, 5, refill);
	bind_int64(s, 6, now);
	int rc = store_step(s);
	if (rc == STEP_ROW) {
		*ok_r = col_int(s, 0) != 0;
		*units_r = col_int64(s, 1);
	} else {
		*error_r = store_err(st, "rate limit");
	}
	store_reset(s);
	return rc == STEP_ROW ? STORE_OK : STORE_ERROR;
}

int store_rate_prune(struct store *st, int64_t before, size_t *n_r, const char **error_r)
{
	static const char sql[] = "DELETE FROM rate_buckets WHERE last_at < ?";
	struct stmt *s = store_stmt(st, sql, error_r);
	if (s == NULL)
		return STORE_ERROR;
	bind_int64(s, 1, before);
	int rc = store_exec_stmt(st, s, "prune rate buckets", error_r);
	*n_r = rc == STORE_OK ? (size_t)store_changes(st) : 0;
	return rc;
}
