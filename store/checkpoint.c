/*
 * checkpoint.c: copying the WAL into the database from a thread of its
 * own. With SQLite's automatic checkpoint, the commit that fills the WAL
 * past its limit does the copy and two fsyncs before it returns, inside
 * whatever request made it. Connections handed to a checkpointer stop
 * doing that: their commits only wake the thread, which runs PASSIVE
 * checkpoints (they never block a writer or a reader) on its own
 * connection.
 */
#include <pthread.h>
#include <sqlite3.h>
#include <stdlib.h>

#include "store_int.h"

/* Should the checkpointer fall this many times its threshold behind, and
 * the WAL hold at least SELF_MIN_PAGES (64 MiB), a commit checkpoints
 * itself, as SQLite would. The floor keeps a small threshold (the server's
 * is 100 pages) from sending every commit of a burst into a checkpoint's
 * fsync, which the thread is there to spare them. */
#define SELF_TIMES 4
#define SELF_MIN_PAGES 16000

struct store_checkpointer {
	struct store *st;
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t wake;
	int pages; /* the WAL size at which a commit wakes the thread */
	int due;
	int stopping;
};

static void *checkpointer_main(void *arg)
{
	struct store_checkpointer *cp = arg;
	pthread_mutex_lock(&cp->lock);
	for (;;) {
		while (!cp->due && !cp->stopping)
			pthread_cond_wait(&cp->wake, &cp->lock);
		if (cp->stopping)
			break;
		cp->due = 0;
		pthread_mutex_unlock(&cp->lock);
		int log = 0, done = 0;
		if (sqlite3_wal_checkpoint_v2((sqlite3 *)cp->st->conn, NULL, SQLITE_CHECKPOINT_PASSIVE, &log,
					      &done) != SQLITE_OK &&
		    sqlite3_errcode((sqlite3 *)cp->st->conn) != SQLITE_BUSY)
			msg_warn("store: checkpoint: %s", sqlite3_errmsg((sqlite3 *)cp->st->conn));
		pthread_mutex_lock(&cp->lock);
	}
	pthread_mutex_unlock(&cp->lock);
	return NULL;
}

/* Everything but the thread, which has been joined or never started. */
static void checkpointer_free(struct store_checkpointer *cp)
{
	pthread_mutex_destroy(&cp->lock);
	pthread_cond_destroy(&cp->wake);
	store_close(cp->st);
	free(cp);
}

int store_checkpointer_start(const char *path, int pages, struct store_checkpointer **cp_r,
			     const char **error_r)
{
	if (store_is_pg(path)) { /* PostgreSQL checkpoints itself */
		*cp_r = NULL;
		return STORE_OK;
	}
	struct store_checkpointer *cp = calloc(1, sizeof(*cp));
	if (cp == NULL) {
		*error_r = "store: out of memory";
		return STORE_ERROR;
	}
	if (store_open(path, 0, &cp->st, error_r) != STORE_OK) {
		free(cp);
		return STORE_ERROR;
	}
	cp->pages = pages > 0 ? pages : 1;
	pthread_mutex_init(&cp->lock, NULL);
	pthread_cond_init(&cp->wake, NULL);
	if (pthread_create(&cp->thread, NULL, checkpointer_main, cp) != 0) {
		*error_r = "store: cannot start the checkpointer thread";
		checkpointer_free(cp);
		return STORE_ERROR;
	}
	*cp_r = cp;
	return STORE_OK;
}

void store_checkpointer_stop(struct store_checkpointer *cp)
{
	if (cp == NULL)
		return;
	pthread_mutex_lock(&cp->lock);
	cp->stopping = 1;
	pthread_cond_signal(&cp->wake);
	pthread_mutex_unlock(&cp->lock);
	pthread_join(cp->thread, NULL);
	/* What the last commits left in the WAL goes in now, so that a
	 * stopped server leaves a short WAL behind. */
	sqlite3_wal_checkpoint_v2((sqlite3 *)cp->st->conn, NULL, SQLITE_CHECKPOINT_PASSIVE, NULL, NULL);
	checkpointer_free(cp);
}

/* SQLite calls this after each commit of a connection handed over. */
static int on_commit(void *arg, sqlite3 *db, const char *name, int pages)
{
	struct store_checkpointer *cp = arg;
	if (pages >= SELF_TIMES * cp->pages && pages >= SELF_MIN_PAGES) {
		/* Far behind (a long reader holds old pages): copy what can
		 * be copied now rather than let the WAL grow on. */
		sqlite3_wal_checkpoint_v2(db, name, SQLITE_CHECKPOINT_PASSIVE, NULL, NULL);
		return SQLITE_OK;
	}
	if (pages >= cp->pages) {
		pthread_mutex_lock(&cp->lock);
		cp->due = 1;
		pthread_cond_signal(&cp->wake);
		pthread_mutex_unlock(&cp->lock);
	}
	return SQLITE_OK;
}

void store_checkpoint_by(struct store *st, struct store_checkpointer *cp)
{
	if (st->be != &store_sqlite)
		return;
	if (cp != NULL)
		sqlite3_wal_hook(st->conn, on_commit, cp);
	else /* back to checkpointing in its own commits, as store_open set it */
		sqlite3_wal_autocheckpoint(st->conn, STORE_AUTOCHECKPOINT);
}
