/*
 * events.c: the append-only event log (SPEC "Events and webhooks"): one
 * row per change of anything, written in the change's transaction. The
 * audit log, the events API and the webhooks read it.
 */
#include "store_int.h"

#define STR_(x) #x
#define STR(x) STR_(x)

/*
 * The event's deliveries, in its transaction: one for every live endpoint
 * of an organization the event concerns, or of the operator, whose filter
 * is empty or names the event or "<thing>.*".
 */
static int queue_deliveries(struct store *st, int64_t event_id, int64_t now, int64_t org_id,
			    int64_t peer_org_id, const char *name, const char **error_r)
{
	static const char sql[] =
		"INSERT INTO deliveries (webhook_id, event_id, status, next_attempt_at,"
		" expires_at, created_at)"
		" SELECT id, ?1, 'pending', ?2, ?2 + " STR(WEBHOOK_RETRY_FOR) ", ?2 FROM webhooks"
		" WHERE deleted_at IS NULL AND (org_id IS NULL OR org_id = ?3 OR org_id = ?4)"
		" AND (events = '' OR instr(',' || events || ',', ',' || ?5 || ',') > 0"
		" OR instr(',' || events || ',', ',' || substr(?5, 1, instr(?5, '.')) || '*,') > 0)";
	struct stmt *s = store_stmt(st, sql, error_r);
	if (s == NULL)
		return STORE_ERROR;
	bind_int64(s, 1, event_id);
	bind_int64(s, 2, now);
	bind_int64(s, 3, org_id > 0 ? org_id : -1);
	bind_int64(s, 4, peer_org_id > 0 ? peer_org_id : -1);
	bind_text(s, 5, name);
	return store_exec_stmt(st, s, "queue deliveries", error_r);
}

int store_event_add(struct store *st, int64_t now, int64_t org_id, int64_t peer_org_id,
		    const char *actor, const char *name, const char *subject,
		    const char *details, int64_t *id_r, const char **error_r)
{
	static const char sql[] =
		"INSERT INTO events (at, org_id, peer_org_id, actor, name, subject, details)"
		" VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id";
	struct stmt *s = store_stmt(st, sql, error_r);
	if (s == NULL)
		return STORE_ERROR;
	bind_int64(s, 1, now);
	bind_id(s, 2, org_id);
	bind_id(s, 3, peer_org_id);
	bind_text(s, 4, actor);
	bind_text(s, 5, name);
	bind_text(s, 6, subject);
	bind_text(s, 7, details ? details : "");
	int64_t id;
	int rc = store_insert(st, s, &id, "add event", error_r);
	if (rc != STORE_OK)
		return rc;
	if (id_r != NULL)
		*id_r = id;
	return queue_deliveries(st, id, now, org_id, peer_org_id, name, error_r);
}

int store_event_on(struct store *st, int64_t now, int64_t org_id, int64_t peer_org_id,
		   const char *actor, const char *name, const char *thing, int64_t id,
		   const char *details, const char **error_r)
{
	char subject[64];
	snprintf(subject, sizeof(subject), "%s:%lld", thing, (long long)id);
	return store_event_add(st, now, org_id, peer_org_id, actor, name, subject, details, NULL,
			       error_r);
}

static void read_event(struct stmt *s, struct event *e)
{
	*e = (struct event){
		.id = col_int64(s, 0),
		.at = col_int64(s, 1),
		.org_id = col_int64(s, 2),
		.peer_org_id = col_int64(s, 3),
		.actor = col_str(s, 4),
		.name = col_str(s, 5),
		.subject = col_str(s, 6),
		.details = col_str(s, 7),
	};
}

#define EVENT_COLUMNS "id, at, org_id, peer_org_id, actor, name, subject, details"

/*
 * One statement per shape, so that each walks one index from its cursor:
 * all events by id; an organization's by (org_id, id) and (peer_org_id,
 * id), which SQLite merges for the OR.
 */
int store_event_list(struct store *st, const struct event_filter *f, store_event_cb *cb,
		     void *ctx, const char **error_r)
{
	static const char all_new[] = "SELECT " EVENT_COLUMNS " FROM events"
				      " WHERE id < ?2 ORDER BY id DESC LIMIT ?4";
	static const char all_old[] = "SELECT " EVENT_COLUMNS " FROM events"
				      " WHERE id > ?3 ORDER BY id LIMIT ?4";
	static const char org_new[] = "SELECT " EVENT_COLUMNS " FROM events"
				      " WHERE (org_id = ?1 OR peer_org_id = ?1) AND id < ?2"
				      " ORDER BY id DESC LIMIT ?4";
	static const char org_old[] = "SELECT " EVENT_COLUMNS " FROM events"
				      " WHERE (org_id = ?1 OR peer_org_id = ?1) AND id > ?3"
				      " ORDER BY id LIMIT ?4";
	const char *sql = f->org_id > 0 ? (f->oldest_first ? org_old : org_new)
					: (f->oldest_first ? all_old : all_new);
	struct stmt *s = store_stmt(st, sql, error_r);
	if (s == NULL)
		return STORE_ERROR;
	bind_int64(s, 1, f->org_id);
	bind_int64(s, 2, f->before_id > 0 ? f->before_id : INT64_MAX);
	bind_int64(s, 3, f->since_id);
	bind_int64(s, 4, f->limit > 0 ? f->limit : 100);
	int rc;
	while ((rc = store_step(s)) == STEP_ROW) {
		struct event e;
		read_event(s, &e);
		/* The callback must not use the store: rows are read live. */
		if (cb(ctx, &e) != 0)
			break;
	}
	store_reset(s);
	if (rc != STEP_ROW && rc != STEP_DONE) {
		*error_r = store_err(st, "list events");
		return STORE_ERROR;
	}
	return STORE_OK;
}

struct event_reader {
	store_event_cb *cb;
	void *ctx;
};

static void read_to_cb(struct stmt *s, void *out)
{
	struct event_reader *r = out;
	struct event e;
	read_event(s, &e);
	r->cb(r->ctx, &e);
}

int store_event_get(struct store *st, int64_t id, store_event_cb *cb, void *ctx,
		    const char **error_r)
{
	static const char sql[] = "SELECT " EVENT_COLUMNS " FROM events WHERE id = ?";
	struct event_reader r = {cb, ctx};
	struct stmt *s = store_stmt(st, sql, error_r);
	if (s == NULL)
		return STORE_ERROR;
	bind_int64(s, 1, id);
	return store_one_row(st, s, read_to_cb, &r, "get event", error_r);
}
