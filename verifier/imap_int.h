/*
 * imap_int.h: what imap_reader.c (passes, the watch loop) and
 * imap_session.c (the IMAP conversation) share inside the verifier.
 */
#ifndef INVITED_IMAP_INT_H
#define INVITED_IMAP_INT_H

#include <libetpan/libetpan.h>
#include <stdint.h>
#include <time.h>

#include "invited/imap_reader.h"

struct imap_session {
	mailimap *imap;
	const struct imap_config *cfg;
	uint32_t uidvalidity;
	int has_move, has_uidplus, has_idle;
	int swept;        /* the first pass, which sweeps, has run */
};

/* One fetched message's attributes. */
struct fetched {
	uint32_t uid;
	uint32_t size;
	const char *body;
	size_t len;
};

/* Over TLS, before LOGIN: the server's chain and name verify, or -1 with
 * why (imap_tls.c). */
int imap_tls_verify(struct imap_session *s, const char **error_r);

/* libetpan's TLS callback: the host name for SNI (data: the host). */
void imap_tls_server_name(struct mailstream_ssl_context *ctx, void *data);

/* libetpan's result codes that mean success. */
int imap_ok(int r);

/* libetpan's code with the server's last words, as one sentence. */
const char *imap_error(struct imap_session *s, const char *what, int r);

/* UIDs in the mailbox above `above` (all when sweeping), ascending;
 * *uids_r is malloc'd. */
int imap_search(struct imap_session *s, uint32_t above, uint32_t **uids_r, size_t *n_r,
		const char **error_r);

/* UID FETCH set (UID RFC822.SIZE), or (UID BODY.PEEK[]) when bodies. */
int imap_fetch(struct imap_session *s, struct mailimap_set *set, int bodies,
	       clist **result_r, const char **error_r);

/* One message's attributes out of a FETCH answer (body points into att). */
void imap_read_att(struct mailimap_msg_att *att, struct fetched *f);

/* Move the messages of set to folder: MOVE, else COPY, \Deleted, EXPUNGE. */
int imap_move(struct imap_session *s, struct mailimap_set *set, const char *folder,
	      const char **error_r);

/* Sleep until `until`, in steps of a second, or until *stop. */
void imap_sleep_until(time_t until, const _Atomic int *stop);

#endif
