/*
 * inbound.c: what the IMAP reader has handled. imap_state says where it
 * stands in each mailbox; inbound keeps one row per handled message, keyed
 * by (mailbox, UIDVALIDITY, UID), so that no message is acted on twice.
 */
#include "store_int.h"

#define INBOUND_COLUMNS                                                        \
	"id, mailbox, uidvalidity, uid, message_id, class, tag, code,"         \
	" coalesce(invitation_id, 0), coalesce(verification_id, 0),"           \
	" coalesce(outbox_id, 0), from_addr, subject, action, detail, received_at"

int store_imap_state_get(struct store *st, const char *mailbox, uint32_t *uidvalidity_r,
			 uint32_t *last_uid_r, const char **error_r)
{
	static const char sql[] =
		"SELECT uidvalidity, last_uid FROM imap_state WHERE mailbox = ?";
	struct stmt *s = store_stmt(st, sql, error_r);
	if (s == NULL)
		return STORE_ERROR;
	bind_text(s, 1, mailbox);
	int rc = store_step(s);
	if (rc == STEP_ROW) {
		*uidvalidity_r = (uint32_t)col_int64(s, 0);
		*last_uid_r = (uint32_t)col_int64(s, 1);
	}
	store_reset(s);
	if (rc == STEP_DONE)
		return STORE_NOT_FOUND;
	if (rc != STEP_ROW) {
		*error_r = store_err(st, "imap_state");
		return STORE_ERROR;
	}
	return STORE_OK;
}

int store_imap_state_set(struct store *st, const char *mailbox, uint32_t uidvalidity,
			 uint32_t last_uid, const char **error_r)
{
	static const char sql[] =
		"INSERT INTO imap_state (mailbox, uidvalidity, last_uid) VALUES (?1, ?2, ?3)"
		" ON CONFLICT (mailbox) DO UPDATE SET"
		"  last_uid = CASE WHEN imap_state.uidvalidity = ?2 AND imap_state.last_uid > ?3"
		"   THEN imap_state.last_uid ELSE ?3 END,"
		"  uidvalidity = ?2";
	struct stmt *s = store_stmt(st, sql, error_r);
	if (s == NULL)
		return STORE_ERROR;
	bind_text(s, 1, mailbox);
	bind_int64(s, 2, uidvalidity);
	bind_int64(s, 3, last_uid);
	return store_exec_stmt(st, s, "imap_state", error_r);
}

int store_inbound_add(struct store *st, struct inbound_row *r, const char **error_r)
{
	static const char sql[] =
		"INSERT INTO inbound (mailbox, uidvalidity, uid, message_id, class, tag,"
		" code, invitation_id, verification_id, outbox_id, from_addr, subject,"
		" action, detail, received_at)"
		" VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id";
	struct stmt *s = store_stmt(st, sql, error_r);
	if (s == NULL)
		return STORE_ERROR;
	bind_text(s, 1, r->mailbox);
	bind_int64(s, 2, r->uidvalidity);
	bind_int64(s, 3, r->uid);
	bind_text(s, 4, r->message_id);
	bind_text(s, 5, r->cls);
	bind_text(s, 6, r->tag);
	bind_text(s, 7, r->code);
	bind_id(s, 8, r->invitation_id);
	bind_id(s, 9, r->verification_id);
	bind_id(s, 10, r->outbox_id);
	bind_text(s, 11, r->from_addr);
	bind_text(s, 12, r->subject);
	bind_text(s, 13, inbound_action_str(r->action));
	bind_text(s, 14, r->detail);
	bind_int64(s, 15, r->received_at);
	int rc = store_insert(st, s, &r->id, "inbound", error_r);
	if (rc == STORE_CONFLICT)
		*error_r = "this message was already handled";
	return rc;
}

static void read_row(struct stmt *s, void *out)
{
	struct inbound_row *r = out;
	memset(r, 0, sizeof(*r));
	r->id = col_int64(s, 0);
	col_text(s, 1, r->mailbox, sizeof(r->mailbox));
	r->uidvalidity = (uint32_t)col_int64(s, 2);
	r->uid = (uint32_t)col_int64(s, 3);
	col_text(s, 4, r->message_id, sizeof(r->message_id));
	col_text(s, 5, r->cls, sizeof(r->cls));
	col_text(s, 6, r->tag, sizeof(r->tag));
	col_text(s, 7, r->code, sizeof(r->code));
	r->invitation_id = col_int64(s, 8);
	r->verification_id = col_int64(s, 9);
	r->outbox_id = col_int64(s, 10);
	col_text(s, 11, r->from_addr, sizeof(r->from_addr));
	col_text(s, 12, r->subject, sizeof(r->subject));
	char action[24];
	col_text(s, 13, action, sizeof(action));
	inbound_action_parse(action, &r->action);
	col_text(s, 14, r->detail, sizeof(r->detail));
	r->received_at = col_int64(s, 15);
}

static int get_one(struct store *st, struct stmt *s, struct inbound_row *r,
		   const char **error_r)
{
	return store_one_row(st, s, read_row, r, "inbound", error_r);
}

int store_inbound_get(struct store *st, const char *mailbox, uint32_t uidvalidity,
		      uint32_t uid, struct inbound_row *r, const char **error_r)
{
	static const char sql[] =
		"SELECT " INBOUND_COLUMNS " FROM inbound"
		" WHERE mailbox = ? AND uidvalidity = ? AND uid = ?";
	struct stmt *s = store_stmt(st, sql, error_r);
	if (s == NULL)
		return STORE_ERROR;
	bind_text(s, 1, mailbox);
	bind_int64(s, 2, uidvalidity);
	bind_int64(s, 3, uid);
	return get_one(st, s, r, error_r);
}

int store_inbound_same(struct store *st, const struct inbound_row *m, struct inbound_row *r,
		       const char **error_r)
{
	static const char sql[] =
		"SELECT " INBOUND_COLUMNS " FROM inbound"
		" WHERE mailbox = ? AND message_id = ? AND message_id != ''"
		" AND from_addr = ? AND tag = ? AND code = ?"
		" ORDER BY id LIMIT 1";
	struct stmt *s = store_stmt(st, sql, error_r);
	if (s == NULL)
		return STORE_ERROR;
	bind_text(s, 1, m->mailbox);
	bind_text(s, 2, m->message_id);
	bind_text(s, 3, m->from_addr);
	bind_text(s, 4, m->tag);
	bind_text(s, 5, m->code);
	return get_one(st, s, r, error_r);
}

int store_inbound_relayed(struct store *st, int64_t invitation_id, int *yes_r,
			  const char **error_r)
{
	static const char sql[] = "SELECT EXISTS (SELECT 1 FROM inbound WHERE invitation_id = ?"
				  " AND action = 'relayed')";
	struct stmt *s = store_stmt(st, sql, error_r);
	if (s == NULL)
		return STORE_ERROR;
	bind_int64(s, 1, invitation_id);
	int64_t n;
	int rc = store_count(st, s, &n, "relayed replies", error_r);
	*yes_r = n != 0;
	return rc;
}

int store_inbound_relays_since(struct store *st, int64_t invitation_id, int64_t since,
			       int64_t *n_r, const char **error_r)
{
	static const char sql[] = "SELECT count(*) FROM inbound WHERE invitation_id = ?"
				  " AND action = 'relayed' AND received_at >= ?";
	struct stmt *s = store_stmt(st, sql, error_r);
	if (s == NULL)
		return STORE_ERROR;
	bind_int64(s, 1, invitation_id);
	bind_int64(s, 2, since);
	return store_count(st, s, n_r, "relayed replies", error_r);
}

int store_inbound_list(struct store *st, int64_t invitation_id, store_inbound_cb *cb,
		       void *ctx, const char **error_r)
{
	static const char sql[] =
		"SELECT " INBOUND_COLUMNS " FROM inbound WHERE invitation_id = ? ORDER BY id";
	struct stmt *s = store_stmt(st, sql, error_r);
	if (s == NULL)
		return STORE_ERROR;
	bind_int64(s, 1, invitation_id);
	int rc;
	struct inbound_row r;
	while ((rc = store_step(s)) == STEP_ROW) {
		read_row(s, &r);
		if (cb(ctx, &r) != 0)
			break;
	}
	store_reset(s);
	if (rc != STEP_ROW && rc != STEP_DONE) {
		*error_r = store_err(st, "inbound");
		return STORE_ERROR;
	}
	return STORE_OK;
}
