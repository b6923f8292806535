/*
 * store.h: the store, the only module that speaks SQL: an embedded SQLite
 * file, or a PostgreSQL database shared by several servers. It holds
 * organizations, API keys, invitations, link tokens, relationships,
 * contact verifications, the outbox, inbound mail state and the event log
 * (their functions in the headers under store/, included at the end).
 * One struct store is one connection: use it from one thread at a time,
 * and open one per thread. Every statement is prepared once per
 * connection and bound; nothing is concatenated into SQL.
 *
 * Functions return STORE_OK, a positive outcome (STORE_NOT_FOUND,
 * STORE_CONFLICT), or STORE_ERROR with *error_r set.
 */
#ifndef INVITED_STORE_H
#define INVITED_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "limits.h"

enum store_rc {
	STORE_ERROR = -1,
	STORE_OK = 0,
	STORE_NOT_FOUND = 1,
	STORE_CONFLICT = 2, /* a uniqueness rule or a state precondition */
};

struct store;

/* ------------------------------------------------------------ lifecycle */

/*
 * Open the database at path, in WAL mode with foreign keys on.
 * STORE_CREATE creates the file (0600) when missing; STORE_MIGRATE brings
 * its schema to this build's version, logging each step. Without it, a
 * database that needs migrating is refused, with the command to run; a
 * newer schema than this build's is refused too. STORE_ANY_VERSION takes
 * any schema as it is: only for store_backup, which copies pages.
 */
enum { STORE_CREATE = 1, STORE_MIGRATE = 2, STORE_ANY_VERSION = 4 };
int store_open(const char *path, int flags, struct store **st_r, const char **error_r);
/* Whether path names a PostgreSQL database (postgresql://, postgres://):
 * then the store speaks to it through libpq, and the path's flags are
 * PostgreSQL's business (the database exists; migrations are the same). */
int store_is_pg(const char *path);
/* Whether a PostgreSQL URL carries a password (user:password@, or a
 * password parameter however encoded, as libpq reads it), or cannot be
 * read at all: refused where the URL is shown or logged. */
int store_url_has_password(const char *path);
/* "sqlite" or "postgresql". */
const char *store_backend_name(const struct store *st);
/* The database's schema version (PRAGMA user_version), of an open store
 * or of the file at path (opened read-only, migrated or not). */
int store_version(struct store *st, int *version_r, const char **error_r);
int store_file_version(const char *path, int *version_r, const char **error_r);
void store_close(struct store *st);

/* A read the store must answer: 0, or -1 with why (for /readyz). */
int store_ping(struct store *st, const char **error_r);

/* An online, consistent copy of the database into dest (a new file, 0600):
 * one read snapshot, while writers go on (WAL). */
int store_backup(struct store *st, const char *dest, const char **error_r);

/*
 * How many times SQLite had to prepare a cached statement again, and (in
 * *sql_r, when not NULL) one that was. Should stay 0: a statement whose
 * bound value decides whether a partial index applies (`kind = ?` beside
 * an index WHERE kind = 'confirm') is prepared again at every bind, which
 * costs more than the query itself; such statements are written one per
 * value instead. The tests assert it.
 */
int store_reprepares(struct store *st, const char **sql_r);

/* The schema version this build writes (PRAGMA user_version). */
int store_schema_version(void);

/* BEGIN IMMEDIATE … COMMIT. Transactions do not nest. */
int store_begin(struct store *st, const char **error_r);
int store_commit(struct store *st, const char **error_r);
void store_rollback(struct store *st);
/* A savepoint in the current transaction (they do not nest either), and
 * its end: kept (RELEASE) or undone (ROLLBACK TO, then RELEASE). An error
 * may have ended the whole transaction: see store_in_tx(). */
int store_savepoint(struct store *st, const char **error_r);
int store_savepoint_end(struct store *st, int keep, const char **error_r);
/* 1 while a transaction is open on this connection. */
int store_in_tx(struct store *st);
/* A read transaction (BEGIN DEFERRED), ended by store_rollback(): the reads
 * in it see one snapshot and take the WAL read lock once, not once each. */
int store_begin_read(struct store *st, const char **error_r);

/*
 * Bulk loading, for a database no other process has open (a benchmark's
 * fill, an import): until store_close, the connection holds the file
 * locked, keeps no journal, never syncs, skips CHECK constraints, has a
 * larger page cache and reads through mmap, so that big transactions run
 * at the speed of the inserts. Only rows made through this API belong
 * there, and a crash meanwhile can leave the file damaged. The next
 * store_open puts the database back in WAL mode.
 */
int store_bulk_load(struct store *st, const char **error_r);

/*
 * A checkpointer: a thread with its own connection that copies the WAL
 * into the database, so that commits never do it within a request. A
 * connection handed to it with store_checkpoint_by() (use it from that
 * connection's thread, before anything else) wakes it once the WAL holds
 * `pages` pages instead of checkpointing itself (unless the thread falls
 * four times that far behind). Stop it after every connection handed to
 * it is closed or taken back (store_checkpoint_by(st, NULL)).
 */
struct store_checkpointer;
int store_checkpointer_start(const char *path, int pages,
			     struct store_checkpointer **cp_r, const char **error_r);
void store_checkpointer_stop(struct store_checkpointer *cp);
void store_checkpoint_by(struct store *st, struct store_checkpointer *cp);

/*
 * synchronous = NORMAL for this connection: its commits survive a crash
 * of the process but not of the machine, and cost no fsync. Only for a
 * connection whose lost commits lose nothing: the outbox sender's (a lost
 * claim or outcome only means a mail sent again; the next durable commit
 * of any connection makes them durable too, as the WAL is one file).
 */
int store_sync_relaxed(struct store *st, const char **error_r);

/*
 * Copy every row of from into to, an empty database of either backend at
 * this build's schema version: one read snapshot of from, one transaction
 * of to, ids kept. cb (if not NULL) hears each table and its row count as
 * it is done. For `invited db copy`, with the servers stopped: what they
 * write meanwhile is not in the copy. From PostgreSQL, rows are read
 * STORE_COPY_BATCH at a time (a cursor), so memory does not grow with a
 * table.
 */
#define STORE_COPY_BATCH 1000
typedef void store_copy_cb(void *ctx, const char *table, int64_t rows);
int store_copy(struct store *from, struct store *to, store_copy_cb *cb, void *ctx,
	       const char **error_r);
/* The tables a copy moves, and how many: for checking it by counts. */
int store_copy_tables(const char *const **tables_r);
/* The rows of one of those tables. */
int store_count_rows(struct store *st, const char *table, int64_t *n_r, const char **error_r);

/*
 * More than one server on one database. Each process has an id (random,
 * made at first use) that its claims of messages and deliveries carry;
 * a serving process beats (its row in servers: host, pid, when it
 * started, seen_at now) every few seconds, and the claims of one that
 * has not beaten for a while are taken back by the others. store_shared
 * is 1 when other servers may use the database at once (PostgreSQL).
 */
const char *store_process_id(void);
int store_shared(const struct store *st);
/* The database's clock, in unix seconds: on a shared database the one
 * clock that beats, the cut-off for a silent server and the rate buckets
 * use, whatever each server's own says (SQLite: this machine's). */
int store_now(struct store *st, int64_t *now_r, const char **error_r);
int store_server_beat(struct store *st, const char *host, int64_t pid, int64_t started,
		      int64_t now, const char **error_r);
/* This process stops serving: its row goes. */
int store_server_gone(struct store *st, const char **error_r);
/* The servers' rows (for `invited db check` and the tests). */
struct server_row {
	char id[40];
	char host[256];
	int64_t pid, started_at, seen_at;
};
typedef int store_server_cb(void *ctx, const struct server_row *s);
int store_server_list(struct store *st, store_server_cb *cb, void *ctx, const char **error_r);
/*
 * A lock by number for as long as this connection lives, if no other
 * connection holds it (PostgreSQL's session advisory lock; SQLite has one
 * server, which always holds it): *held_r 1 when this connection holds it
 * now. Asking again while holding it keeps it.
 */
int store_lock_hold(struct store *st, int64_t key, int *held_r, const char **error_r);
/*
 * A token bucket shared by every server: bucket (name, client) holds up to
 * cap units, refills refill units a second, and a request costs cost;
 * *ok_r 1 when this one is allowed (taken), else 0 with *units_r what the
 * bucket holds. client is a keyed hash, never an address. On a shared
 * database now is the database's clock (store_now), not the argument.
 */
int store_rate_take(struct store *st, const char *name, const char *client, int64_t cap,
		    int64_t cost, int64_t refill, int64_t now, int *ok_r, int64_t *units_r,
		    const char **error_r);
/* Buckets untouched since before `before` (full again by then) go. */
int store_rate_prune(struct store *st, int64_t before, size_t *n_r, const char **error_r);

/* PRAGMA integrity_check; *result_r is malloc'd ("ok" when sound). */
int store_integrity_check(struct store *st, char **result_r,
			  const char **error_r);

/* The tables, part by part (each included from here only). */
#include "store/orgs.h"
#include "store/invitations.h"
#include "store/mail.h"
#include "store/events.h"

#endif
