/*
 * pg_int.h: what the PostgreSQL backend's two halves share: the
 * connection's state (pg.c) and the statements run on it (pg_stmt.c).
 */
#ifndef INVITED_PG_INT_H
#define INVITED_PG_INT_H

#include <libpq-fe.h>
#include <stddef.h>
#include <stdint.h>

#include "store_int.h"

#define PG_MAX_PARAMS 32              /* the most a statement binds */

struct pg_conn {
	char err[512];   /* the last failed statement's message */
	int64_t changes; /* rows the last statement changed */
	unsigned next;   /* the next statement's name */
	unsigned epoch;  /* connections made so far: a statement prepared in an
			  * earlier one is prepared again */
	int64_t lock_key; /* the advisory lock held, on connection lock_epoch */
	unsigned lock_epoch;
};

#define CONN(st) ((PGconn *)(st)->conn)
#define STATE(st) ((struct pg_conn *)(st)->be_state)

/* The last failed statement's message, for errmsg. */
void pg_set_err(struct store *st, const char *msg);
/* 1 when a lost connection was made again (outside a transaction only). */
int pg_reconnect(struct store *st);

/* The statements (pg_stmt.c), for the backend's table of functions. */
void *pg_prepare(struct store *st, const char *sql, const char **error_r);
void pg_finalize(void *h);
int pg_step(struct store *st, void *h);
void pg_reset(void *h);
void pg_bind_int64(void *h, int i, int64_t v);
void pg_bind_text(void *h, int i, const char *v);
void pg_bind_blob(void *h, int i, const void *p, size_t n);
void pg_bind_null(void *h, int i);
int64_t pg_col_int64(void *h, int i);
const char *pg_col_text(void *h, int i);
size_t pg_col_bytes(void *h, int i);
const void *pg_col_blob(void *h, int i);
int pg_col_count(void *h);
const char *pg_col_name(void *h, int i);
int pg_col_type(void *h, int i);
int pg_reprepares(void *h);

#endif
