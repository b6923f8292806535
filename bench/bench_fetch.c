/*
 * bench_fetch.c: the baseline of bench/inbound.py: a bare libetpan client
 * that logs in (plain), selects the mailbox and fetches every message in
 * it the way a plain client would: UID SEARCH, then UID FETCH (UID
 * BODY.PEEK[]) 256 UIDs per round trip, as invited's reader batches, and
 * parses each message with libetpan's mailmime_parse (its header fields
 * and MIME structure, as invited's classifier starts with), then frees it.
 * No store, no MOVE: the messages stay where they are. -n leaves out the
 * parse (fetch alone).
 *
 *     bench_fetch [-n] HOST PORT USER PASSWORD MAILBOX
 *
 * Prints "MESSAGES BYTES PARSED" on success: PARSED counts the messages
 * mailmime_parse read as a message (0 with -n).
 */
#include <libetpan/libetpan.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BATCH_MESSAGES 256 /* as verifier/imap_reader.c */

static int ok(int r)
{
	return r == MAILIMAP_NO_ERROR || r == MAILIMAP_NO_ERROR_AUTHENTICATED ||
	       r == MAILIMAP_NO_ERROR_NON_AUTHENTICATED;
}

static int fail(const char *what, int r)
{
	fprintf(stderr, "bench_fetch: %s failed (libetpan error %d)\n", what, r);
	return -1;
}

/* UID SEARCH UID 1:*, as a list of UIDs. */
static int search_all(mailimap *imap, clist **found_r)
{
	struct mailimap_set *set = mailimap_set_new_interval(1, 0);
	struct mailimap_search_key *key = set ? mailimap_search_key_new_uid(set) : NULL;
	if (key == NULL)
		return fail("UID SEARCH (out of memory)", MAILIMAP_ERROR_MEMORY);
	int r = mailimap_uid_search(imap, NULL, key, found_r);
	mailimap_search_key_free(key);
	return ok(r) ? 0 : fail("UID SEARCH", r);
}

static int parse = 1; /* mailmime_parse each message (not with -n) */

/* The message's header and MIME structure, as mailmime_parse reads them;
 * 1 when it read a message, 0 when not. */
static int parse_message(const char *data, size_t len)
{
	size_t idx = 0;
	struct mailmime *mime = NULL;
	int r = mailmime_parse(data, len, &idx, &mime);
	if (r == MAILIMF_ERROR_MEMORY) {
		fprintf(stderr, "bench_fetch: out of memory\n");
		exit(1);
	}
	int parsed = r == MAILIMF_NO_ERROR && mime != NULL && mime->mm_type == MAILMIME_MESSAGE;
	if (mime != NULL)
		mailmime_free(mime);
	return parsed;
}

/* The BODY[] section of one fetched message, NULL when missing. */
static struct mailimap_msg_att_body_section *body_of(struct mailimap_msg_att *att)
{
	for (clistiter *it = clist_begin(att->att_list); it != NULL; it = clist_next(it)) {
		struct mailimap_msg_att_item *item = clist_content(it);
		if (item->att_type == MAILIMAP_MSG_ATT_ITEM_STATIC &&
		    item->att_data.att_static->att_type == MAILIMAP_MSG_ATT_BODY_SECTION &&
		    item->att_data.att_static->att_data.att_body_section != NULL)
			return item->att_data.att_static->att_data.att_body_section;
	}
	return NULL;
}

/* UID FETCH set (UID BODY.PEEK[]), each message parsed; adds to *n_r,
 * *bytes_r and *parsed_r. */
static int fetch_bodies(mailimap *imap, struct mailimap_set *set, size_t *n_r, size_t *bytes_r,
			size_t *parsed_r)
{
	struct mailimap_fetch_type *ft = mailimap_fetch_type_new_fetch_att_list_empty();
	struct mailimap_section *sec = mailimap_section_new(NULL);
	struct mailimap_fetch_att *uid = mailimap_fetch_att_new_uid();
	struct mailimap_fetch_att *body =
	    sec ? mailimap_fetch_att_new_body_peek_section(sec) : NULL;
	clist *result = NULL;
	if (ft == NULL || uid == NULL || body == NULL ||
	    mailimap_fetch_type_new_fetch_att_list_add(ft, uid) != MAILIMAP_NO_ERROR ||
	    mailimap_fetch_type_new_fetch_att_list_add(ft, body) != MAILIMAP_NO_ERROR) {
		fprintf(stderr, "bench_fetch: out of memory\n");
		exit(1);
	}
	int r = mailimap_uid_fetch(imap, set, ft, &result);
	mailimap_fetch_type_free(ft);
	if (!ok(r))
		return fail("UID FETCH", r);
	for (clistiter *it = clist_begin(result); it != NULL; it = clist_next(it)) {
		struct mailimap_msg_att_body_section *got = body_of(clist_content(it));
		if (got != NULL && got->sec_length > 0) {
			(*n_r)++;
			*bytes_r += got->sec_length;
			if (parse)
				*parsed_r +=
				    (size_t)parse_message(got->sec_body_part, got->sec_length);
		}
	}
	mailimap_fetch_list_free(result);
	return 0;
}

static int fetch_all(mailimap *imap, clist *uids, size_t *n_r, size_t *bytes_r, size_t *parsed_r)
{
	clistiter *it = clist_begin(uids);
	while (it != NULL) {
		struct mailimap_set *set = mailimap_set_new_empty();
		if (set == NULL)
			return fail("UID FETCH (out of memory)", MAILIMAP_ERROR_MEMORY);
		for (int k = 0; k < BATCH_MESSAGES && it != NULL; k++, it = clist_next(it))
			mailimap_set_add_single(set, *(uint32_t *)clist_content(it));
		int rc = fetch_bodies(imap, set, n_r, bytes_r, parsed_r);
		mailimap_set_free(set);
		if (rc < 0)
			return -1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	if (argc == 7 && strcmp(argv[1], "-n") == 0) {
		parse = 0;
		argv++;
		argc--;
	}
	if (argc != 6) {
		fprintf(stderr, "usage: bench_fetch [-n] HOST PORT USER PASSWORD MAILBOX\n");
		return 2;
	}
	mailimap *imap = mailimap_new(0, NULL);
	clist *uids = NULL;
	size_t n = 0, bytes = 0, parsed = 0;
	int r, rc = 1;
	if (imap == NULL)
		return 1;
	mailimap_set_timeout(imap, 60);
	if (!ok(r = mailimap_socket_connect(imap, argv[1], (uint16_t)atoi(argv[2]))))
		fail("connect", r);
	else if (!ok(r = mailimap_login(imap, argv[3], argv[4])))
		fail("LOGIN", r);
	else if (!ok(r = mailimap_select(imap, argv[5])))
		fail("SELECT", r);
	else if (search_all(imap, &uids) == 0 && fetch_all(imap, uids, &n, &bytes, &parsed) == 0)
		rc = 0;
	if (uids != NULL)
		mailimap_search_result_free(uids);
	if (imap->imap_stream != NULL)
		mailimap_logout(imap);
	mailimap_free(imap);
	if (rc == 0)
		printf("%zu %zu %zu\n", n, bytes, parsed);
	return rc;
}
