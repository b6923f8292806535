/*
 * bench_fetch.c: the baseline of bench/inbound.py: a bare libetpan client
 * that logs in (plain), selects the mailbox and fetches every message in
 * it the way a plain client would: UID SEARCH, then UID FETCH (UID
 * BODY.PEEK[]) 256 UIDs per round trip, as invited's reader batches. No
 * parsing, no store, no MOVE: the messages stay where they are. Prints
 * "MESSAGES BYTES" on success.
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

/* The bytes of BODY[] in one fetched message, 0 when missing. */
static size_t body_len(struct mailimap_msg_att *att)
{
	for (clistiter *it = clist_begin(att->att_list); it != NULL; it = clist_next(it)) {
		struct mailimap_msg_att_item *item = clist_content(it);
		if (item->att_type == MAILIMAP_MSG_ATT_ITEM_STATIC &&
		    item->att_data.att_static->att_type == MAILIMAP_MSG_ATT_BODY_SECTION &&
		    item->att_data.att_static->att_data.att_body_section != NULL)
			return item->att_data.att_static->att_data.att_body_section->sec_length;
	}
	return 0;
}

/* UID FETCH set (UID BODY.PEEK[]); adds to *n_r and *bytes_r. */
static int fetch_bodies(mailimap *imap, struct mailimap_set *set, size_t *n_r,
			size_t *bytes_r)
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
		size_t len = body_len(clist_content(it));
		if (len > 0) {
			(*n_r)++;
			*bytes_r += len;
		}
	}
	mailimap_fetch_list_free(result);
	return 0;
}

static int fetch_all(mailimap *imap, clist *uids, size_t *n_r, size_t *bytes_r)
{
	clistiter *it = clist_begin(uids);
	while (it != NULL) {
		struct mailimap_set *set = mailimap_set_new_empty();
		if (set == NULL)
			return fail("UID FETCH (out of memory)", MAILIMAP_ERROR_MEMORY);
		for (int k = 0; k < BATCH_MESSAGES && it != NULL; k++, it = clist_next(it))
			mailimap_set_add_single(set, *(uint32_t *)clist_content(it));
		int rc = fetch_bodies(imap, set, n_r, bytes_r);
		mailimap_set_free(set);
		if (rc < 0)
			return -1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	if (argc != 6) {
		fprintf(stderr, "usage: bench_fetch HOST PORT USER PASSWORD MAILBOX\n");
		return 2;
	}
	mailimap *imap = mailimap_new(0, NULL);
	clist *uids = NULL;
	size_t n = 0, bytes = 0;
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
	else if (search_all(imap, &uids) == 0 && fetch_all(imap, uids, &n, &bytes) == 0)
		rc = 0;
	if (uids != NULL)
		mailimap_search_result_free(uids);
	if (imap->imap_stream != NULL)
		mailimap_logout(imap);
	mailimap_free(imap);
	if (rc == 0)
		printf("%zu %zu\n", n, bytes);
	return rc;
}
