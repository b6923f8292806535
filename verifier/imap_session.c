/*
 * imap_session.c: the IMAP conversation itself, on libetpan: log in
 * (plain, STARTTLS or implicit TLS), make sure the folders exist, select
 * the mailbox, search, fetch, move messages out, and wait in IDLE. What a
 * pass does with the messages is imap_reader.c's business.
 */
#include <libetpan/libetpan.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "imap_int.h"
#include "invited/log.h"

#define IDLE_MAX 25 * 60            /* RFC 2177: renew IDLE within 29 min */
#define TIMEOUT 60                  /* seconds for any one command */

/* libetpan's code with the server's last words, as one sentence. */
const char *imap_error(struct imap_session *s, const char *what, int r)
{
	const char *said = s->imap != NULL ? s->imap->imap_response : NULL;
	if (r == MAILIMAP_ERROR_STREAM || r == MAILIMAP_ERROR_CONNECTION_REFUSED)
		return errorf("IMAP %s:%d: %s: connection %s", s->cfg->host, s->cfg->port, what,
			      r == MAILIMAP_ERROR_STREAM ? "lost" : "refused");
	return errorf("IMAP %s:%d: %s failed (libetpan error %d)%s%s", s->cfg->host,
		      s->cfg->port, what, r, said != NULL && said[0] ? ": " : "",
		      said != NULL ? said : "");
}

int imap_ok(int r)
{
	return r == MAILIMAP_NO_ERROR || r == MAILIMAP_NO_ERROR_AUTHENTICATED ||
	       r == MAILIMAP_NO_ERROR_NON_AUTHENTICATED;
}

static int connect_tls(struct imap_session *s, const char **error_r)
{
	const struct imap_config *c = s->cfg;
	char *host = (char *)c->host;
	int r;
	if (c->tls == IMAP_TLS_IMPLICIT)
		r = mailimap_ssl_connect_with_callback(s->imap, host, (uint16_t)c->port,
							 imap_tls_server_name, host);
	else
		r = mailimap_socket_connect(s->imap, host, (uint16_t)c->port);
	if (!imap_ok(r)) {
		*error_r = imap_error(s, "connect", r);
		return -1;
	}
	if (c->tls == IMAP_TLS_STARTTLS) {
		r = mailimap_socket_starttls_with_callback(s->imap, imap_tls_server_name, host);
		if (!imap_ok(r)) {
			*error_r = imap_error(s, "STARTTLS", r);
			return -1;
		}
	}
	/* Nothing more is said, the password least of all, to a server whose
	 * certificate does not verify. */
	if (c->tls != IMAP_TLS_NONE && imap_tls_verify(s, error_r) < 0)
		return -1;
	return 0;
}

/* Create folder unless LIST shows it. */
static int ensure_folder(struct imap_session *s, const char *folder, const char **error_r)
{
	clist *found = NULL;
	int r = mailimap_list(s->imap, "", folder, &found);
	if (!imap_ok(r)) {
		*error_r = imap_error(s, errorf("LIST %s", folder), r);
		return -1;
	}
	int exists = found != NULL && clist_count(found) > 0;
	if (found != NULL)
		mailimap_list_result_free(found);
	if (exists)
		return 0;
	r = mailimap_create(s->imap, folder);
	if (!imap_ok(r)) {
		*error_r = imap_error(s, errorf("CREATE %s", folder), r);
		return -1;
	}
	msg_info("imap: created folder %s", folder);
	return 0;
}

int imap_session_open(const struct imap_config *cfg, struct imap_session **s_r,
		      const char **error_r)
{
	struct imap_session *s = calloc(1, sizeof(*s));
	if (s == NULL || (s->imap = mailimap_new(0, NULL)) == NULL) {
		free(s);
		*error_r = "out of memory";
		return -1;
	}
	s->cfg = cfg;
	mailimap_set_timeout(s->imap, TIMEOUT);
	struct mailimap_capability_data *cap = NULL;
	int r;
	if (connect_tls(s, error_r) < 0)
		goto fail;
	r = mailimap_login(s->imap, cfg->user, cfg->password);
	if (!imap_ok(r)) {
		*error_r = imap_error(s, errorf("LOGIN as %s", cfg->user), r);
		goto fail;
	}
	r = mailimap_capability(s->imap, &cap);
	if (!imap_ok(r)) {
		*error_r = imap_error(s, "CAPABILITY", r);
		goto fail;
	}
	mailimap_capability_data_free(cap);
	s->has_move = mailimap_has_extension(s->imap, "MOVE");
	s->has_uidplus = mailimap_has_extension(s->imap, "UIDPLUS");
	s->has_idle = mailimap_has_idle(s->imap);
	if (ensure_folder(s, cfg->processed, error_r) < 0 ||
	    ensure_folder(s, cfg->unmatched, error_r) < 0)
		goto fail;
	r = mailimap_select(s->imap, cfg->mailbox);
	if (!imap_ok(r)) {
		*error_r = imap_error(s, errorf("SELECT %s", cfg->mailbox), r);
		goto fail;
	}
	s->uidvalidity = s->imap->imap_selection_info->sel_uidvalidity;
	*s_r = s;
	return 0;
fail:
	imap_session_close(s);
	return -1;
}

void imap_session_close(struct imap_session *s)
{
	if (s == NULL)
		return;
	if (s->imap->imap_stream != NULL)
		mailimap_logout(s->imap);
	mailimap_free(s->imap);
	free(s);
}

/* UIDs in the mailbox above `above` (all when sweeping), ascending. */
int imap_search(struct imap_session *s, uint32_t above, uint32_t **uids_r, size_t *n_r,
		  const char **error_r)
{
	struct mailimap_set *set = mailimap_set_new_interval(above + 1, 0);
	struct mailimap_search_key *key = set ? mailimap_search_key_new_uid(set) : NULL;
	clist *found = NULL;
	if (key == NULL) {
		if (set != NULL)
			mailimap_set_free(set);
		*error_r = "out of memory";
		return -1;
	}
	int r = mailimap_uid_search(s->imap, NULL, key, &found);
	mailimap_search_key_free(key);
	if (!imap_ok(r)) {
		*error_r = imap_error(s, "UID SEARCH", r);
		return -1;
	}
	size_t n = 0, cap = (size_t)clist_count(found);
	uint32_t *uids = malloc((cap + 1) * sizeof(*uids));
	if (uids == NULL) {
		mailimap_search_result_free(found);
		*error_r = "out of memory";
		return -1;
	}
	/* "N:*" always matches the last message, even below N. */
	for (clistiter *it = clist_begin(found); it != NULL; it = clist_next(it)) {
		uint32_t uid = *(uint32_t *)clist_content(it);
		if (uid > above)
			uids[n++] = uid;
	}
	mailimap_search_result_free(found);
	for (size_t i = 1; i < n; i++) /* servers answer in order; make sure */
		for (size_t j = i; j > 0 && uids[j - 1] > uids[j]; j--) {
			uint32_t t = uids[j];
			uids[j] = uids[j - 1];
			uids[j - 1] = t;
		}
	*uids_r = uids;
	*n_r = n;
	return 0;
}

void imap_read_att(struct mailimap_msg_att *att, struct fetched *f)
{
	memset(f, 0, sizeof(*f));
	for (clistiter *it = clist_begin(att->att_list); it != NULL; it = clist_next(it)) {
		struct mailimap_msg_att_item *item = clist_content(it);
		if (item->att_type != MAILIMAP_MSG_ATT_ITEM_STATIC)
			continue;
		struct mailimap_msg_att_static *st = item->att_data.att_static;
		switch (st->att_type) {
		case MAILIMAP_MSG_ATT_UID:
			f->uid = st->att_data.att_uid;
			break;
		case MAILIMAP_MSG_ATT_RFC822_SIZE:
			f->size = st->att_data.att_rfc822_size;
			break;
		case MAILIMAP_MSG_ATT_BODY_SECTION:
			if (st->att_data.att_body_section != NULL) {
				f->body = st->att_data.att_body_section->sec_body_part;
				f->len = st->att_data.att_body_section->sec_length;
			}
			break;
		}
	}
}

/* UID FETCH set (UID RFC822.SIZE) or (UID BODY.PEEK[]). */
int imap_fetch(struct imap_session *s, struct mailimap_set *set, int bodies,
		 clist **result_r, const char **error_r)
{
	struct mailimap_fetch_type *ft = mailimap_fetch_type_new_fetch_att_list_empty();
	struct mailimap_fetch_att *a;
	if (ft == NULL)
		goto oom;
	if ((a = mailimap_fetch_att_new_uid()) == NULL ||
	    mailimap_fetch_type_new_fetch_att_list_add(ft, a) != MAILIMAP_NO_ERROR)
		goto oom;
	if (bodies) {
		struct mailimap_section *sec = mailimap_section_new(NULL);
		a = sec ? mailimap_fetch_att_new_body_peek_section(sec) : NULL;
	} else {
		a = mailimap_fetch_att_new_rfc822_size();
	}
	if (a == NULL || mailimap_fetch_type_new_fetch_att_list_add(ft, a) != MAILIMAP_NO_ERROR)
		goto oom;
	int r = mailimap_uid_fetch(s->imap, set, ft, result_r);
	mailimap_fetch_type_free(ft);
	if (!imap_ok(r)) {
		*error_r = imap_error(s, "UID FETCH", r);
		return -1;
	}
	return 0;
oom:
	if (ft != NULL)
		mailimap_fetch_type_free(ft);
	*error_r = "out of memory";
	return -1;
}

/* Move the messages of set to folder. */
int imap_move(struct imap_session *s, struct mailimap_set *set, const char *folder,
		const char **error_r)
{
	int r;
	if (s->has_move) {
		r = mailimap_uid_move(s->imap, set, folder);
		if (!imap_ok(r)) {
			*error_r = imap_error(s, errorf("UID MOVE to %s", folder), r);
			return -1;
		}
		return 0;
	}
	r = mailimap_uid_copy(s->imap, set, folder);
	if (!imap_ok(r)) {
		*error_r = imap_error(s, errorf("UID COPY to %s", folder), r);
		return -1;
	}
	struct mailimap_flag_list *flags = mailimap_flag_list_new_empty();
	struct mailimap_flag *deleted = mailimap_flag_new_deleted();
	struct mailimap_store_att_flags *att = NULL;
	if (flags == NULL || deleted == NULL || mailimap_flag_list_add(flags, deleted) != 0) {
		if (deleted != NULL)
			mailimap_flag_free(deleted);
		goto oom;
	}
	if ((att = mailimap_store_att_flags_new_add_flags_silent(flags)) == NULL)
		goto oom;
	flags = NULL;
	r = mailimap_uid_store(s->imap, set, att);
	mailimap_store_att_flags_free(att);
	if (!imap_ok(r)) {
		*error_r = imap_error(s, "UID STORE +FLAGS (\\Deleted)", r);
		return -1;
	}
	/* Without UIDPLUS, EXPUNGE also removes whatever else is \Deleted. */
	r = s->has_uidplus ? mailimap_uid_expunge(s->imap, set) : mailimap_expunge(s->imap);
	if (!imap_ok(r)) {
		*error_r = imap_error(s, "EXPUNGE", r);
		return -1;
	}
	return 0;
oom:
	if (flags != NULL)
		mailimap_flag_list_free(flags);
	*error_r = "out of memory";
	return -1;
}

void imap_sleep_until(time_t until, const _Atomic int *stop)
{
	while (!*stop && time(NULL) < until)
		sleep(1);
}

int imap_session_wait(struct imap_session *s, const _Atomic int *stop, const char **error_r)
{
	if (!s->has_idle || !s->cfg->idle) {
		imap_sleep_until(time(NULL) + s->cfg->poll_interval, stop);
		return 0;
	}
	int r = mailimap_idle(s->imap);
	if (!imap_ok(r)) {
		*error_r = imap_error(s, "IDLE", r);
		return -1;
	}
	int fd = mailimap_idle_get_fd(s->imap);
	time_t until = time(NULL) + IDLE_MAX;
	/* The server may have said EXISTS in the same packet as its "+ idling":
	 * then libetpan has it in its read buffer and the socket stays quiet. */
	int ready = s->imap->imap_stream->read_buffer_len > 0;
	while (!*stop && !ready && time(NULL) < until) {
		struct pollfd p = {.fd = fd, .events = POLLIN};
		ready = poll(&p, 1, 1000) > 0;
	}
	/* DONE reads whatever the server said (EXISTS …) up to its OK. */
	r = mailimap_idle_done(s->imap);
	if (!imap_ok(r)) {
		*error_r = imap_error(s, "IDLE DONE", r);
		return -1;
	}
	return 0;
}
