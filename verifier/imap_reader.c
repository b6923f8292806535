/*
 * imap_reader.c: the passes over the mailbox and the watch loop. A pass
 * fetches messages in batches (imap_session.c speaks the protocol), hands
 * each batch to inbound.c in one transaction, and moves messages out of
 * the mailbox once their outcome is committed. What is done with a
 * message is inbound.c's business.
 */
#include <libetpan/libetpan.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "imap_int.h"
#include "invited/inbound.h"
#include "invited/log.h"

#define BATCH_MESSAGES 256          /* UIDs fetched, and handled in one
				       * transaction, per round trip */
#define BATCH_BYTES (8u * 1024 * 1024)
#define MOVE_EVERY 4096             /* handled messages per MOVE */
#define BACKOFF_MAX 60

/* Where we stand: the stored state, started over when UIDVALIDITY
 * changed (UIDs then mean other messages; Message-IDs still tell what
 * was handled). */
static int load_state(struct imap_session *s, struct store *st, uint32_t *last_uid_r,
		      const char **error_r)
{
	uint32_t uidvalidity = 0;
	int rc = store_imap_state_get(st, s->cfg->mailbox, &uidvalidity, last_uid_r, error_r);
	if (rc == STORE_ERROR)
		return -1;
	if (rc == STORE_OK && uidvalidity == s->uidvalidity)
		return 0;
	if (rc == STORE_OK)
		msg_warn("imap: UIDVALIDITY of %s changed from %u to %u; reading it from the "
			 "start, and recognizing messages handled before by Message-ID",
			 s->cfg->mailbox, uidvalidity, s->uidvalidity);
	*last_uid_r = 0;
	return store_imap_state_set(st, s->cfg->mailbox, s->uidvalidity, 0, error_r) ==
			       STORE_OK ? 0 : -1;
}

/*
 * Where handled messages go, gathered over a pass and moved a few thousand
 * at a time: each MOVE costs the server a commit in both mailboxes, far
 * more than the messages it moves. Messages recorded but not yet moved
 * when a session dies are moved by the next session's sweep.
 */
struct moves {
	struct mailimap_set *processed;
	struct mailimap_set *unmatched;
	size_t n_processed, n_unmatched;
};

static void moves_free(struct moves *mv)
{
	if (mv->processed != NULL)
		mailimap_set_free(mv->processed);
	if (mv->unmatched != NULL)
		mailimap_set_free(mv->unmatched);
	memset(mv, 0, sizeof(*mv));
}

static int moves_init(struct moves *mv)
{
	memset(mv, 0, sizeof(*mv));
	mv->processed = mailimap_set_new_empty();
	mv->unmatched = mailimap_set_new_empty();
	return mv->processed && mv->unmatched ? 0 : -1;
}

/* Add uid to set, extending its last range when uid follows it, so that
 * the command stays short. */
static int set_add(struct mailimap_set *set, uint32_t uid)
{
	clistiter *last = clist_end(set->set_list);
	if (last != NULL) {
		struct mailimap_set_item *item = clist_content(last);
		if (item->set_last != 0 && item->set_last + 1 == uid) {
			item->set_last = uid;
			return 0;
		}
	}
	return mailimap_set_add_single(set, uid) == MAILIMAP_NO_ERROR ? 0 : -1;
}

static void count(struct imap_stats *stats, const struct inbound_outcome *out)
{
	if (out->duplicate) {
		stats->again++;
		return;
	}
	stats->handled++;
	if (out->unmatched)
		stats->unmatched++;
	if (out->row.action > 0 && out->row.action < INBOUND_ACTIONS)
		stats->by_action[out->row.action]++;
}

/* Route a message, handled or found handled, to its folder. */
static void route(struct moves *mv, uint32_t uid, const struct inbound_outcome *out)
{
	if (out->unmatched) {
		if (set_add(mv->unmatched, uid) == 0)
			mv->n_unmatched++;
	} else if (set_add(mv->processed, uid) == 0) {
		mv->n_processed++;
	}
	/* Out of memory: it stays in the mailbox, and the next session's
	 * sweep moves it. */
}

static void report(struct moves *mv, uint32_t uid, const struct inbound_outcome *out,
		   struct imap_stats *stats)
{
	if (out->duplicate)
		msg_debug("imap: UID %u was handled before (%s); moved only", uid,
			  inbound_action_str(out->row.action));
	else
		msg_info("imap: UID %u %s %s%s%s: %s", uid, out->row.cls, inbound_action_str(out->row.action),
			 out->row.code[0] ? " code " : "", out->row.code, out->row.detail);
	count(stats, out);
	route(mv, uid, out);
}

/* Move what was gathered, and start again. */
static int moves_flush(struct imap_session *s, struct moves *mv, const char **error_r)
{
	if (mv->n_processed > 0 && imap_move(s, mv->processed, s->cfg->processed, error_r) < 0)
		return -1;
	if (mv->n_unmatched > 0 && imap_move(s, mv->unmatched, s->cfg->unmatched, error_r) < 0)
		return -1;
	moves_free(mv);
	if (moves_init(mv) < 0) {
		*error_r = "out of memory";
		return -1;
	}
	return 0;
}

static void where_of(struct imap_session *s, struct mailimap_msg_att *att,
		     struct fetched *f, struct inbound_where *w)
{
	imap_read_att(att, f);
	*w = (struct inbound_where){s->cfg->mailbox, s->uidvalidity, f->uid};
}

/*
 * Every fetched message in one transaction, one commit for them all: the
 * outcomes in outs[] (uid 0: not a message) count only once committed.
 * -1 when anything failed: then nothing is recorded.
 */
static int handle_together(struct imap_session *s, struct verifier_env *env,
			   const struct inbound_opts *opts, clist *result,
			   struct inbound_outcome *outs, uint32_t *uids, const char **error_r)
{
	size_t i = 0;
	if (store_begin(env->st, error_r) != STORE_OK)
		return -1;
	for (clistiter *it = clist_begin(result); it != NULL; it = clist_next(it), i++) {
		struct fetched f;
		struct inbound_where w;
		where_of(s, clist_content(it), &f, &w);
		if ((uids[i] = f.uid) == 0)
			continue;
		env->now = (int64_t)time(NULL);
		if (inbound_handle_in_tx(env, opts, &w, f.body ? f.body : "", f.len, &outs[i],
					 error_r) < 0) {
			store_rollback(env->st);
			return -1;
		}
	}
	return store_commit(env->st, error_r) == STORE_OK ? 0 : -1;
}

/* Each message in a transaction of its own, so that one the store cannot
 * record holds back no other: it stays in the mailbox for the next session. */
static void handle_one_by_one(struct imap_session *s, struct verifier_env *env,
			      const struct inbound_opts *opts, clist *result,
			      struct moves *mv, struct imap_stats *stats)
{
	for (clistiter *it = clist_begin(result); it != NULL; it = clist_next(it)) {
		struct fetched f;
		struct inbound_where w;
		struct inbound_outcome out;
		const char *err;
		where_of(s, clist_content(it), &f, &w);
		if (f.uid == 0)
			continue;
		env->now = (int64_t)time(NULL);
		if (inbound_handle(env, opts, &w, f.body ? f.body : "", f.len, &out, &err) < 0) {
			msg_error("imap: message UID %u of %s: %s", f.uid, s->cfg->mailbox, err);
			stats->failed++;
			continue;
		}
		report(mv, f.uid, &out, stats);
	}
}

/* Fetch the bodies of set, handle them, route each. */
static int handle_batch(struct imap_session *s, struct verifier_env *env,
			const struct inbound_opts *opts, struct mailimap_set *set,
			struct moves *mv, struct imap_stats *stats, const char **error_r)
{
	clist *result = NULL;
	const char *err = "out of memory";
	if (imap_fetch(s, set, 1, &result, error_r) < 0)
		return -1;
	size_t n = (size_t)clist_count(result);
	struct inbound_outcome *outs = calloc(n + 1, sizeof(*outs));
	uint32_t *uids = calloc(n + 1, sizeof(*uids));
	if (outs != NULL && uids != NULL &&
	    handle_together(s, env, opts, result, outs, uids, &err) == 0) {
		for (size_t i = 0; i < n; i++)
			if (uids[i] != 0)
				report(mv, uids[i], &outs[i], stats);
	} else {
		msg_warn("imap: a batch of %zu messages of %s failed (%s); handling them "
			 "one by one", n, s->cfg->mailbox, err);
		handle_one_by_one(s, env, opts, result, mv, stats);
	}
	free(outs);
	free(uids);
	mailimap_fetch_list_free(result);
	return 0;
}

/*
 * One batch starting at uids[*i]: sizes first, so that a huge message is
 * recorded without being fetched, and messages recorded before are only
 * moved; then the bodies of the rest.
 */
static int do_batch(struct imap_session *s, struct verifier_env *env,
		    const struct inbound_opts *opts, const uint32_t *uids, size_t n,
		    size_t *i, struct moves *mv, struct imap_stats *stats,
		    const char **error_r)
{
	struct mailimap_set *sizes = mailimap_set_new_empty();
	struct mailimap_set *bodies = mailimap_set_new_empty();
	clist *result = NULL;
	int rc = -1;
	if (sizes == NULL || bodies == NULL) {
		*error_r = "out of memory";
		goto out;
	}
	size_t end = *i + BATCH_MESSAGES < n ? *i + BATCH_MESSAGES : n;
	for (size_t k = *i; k < end; k++)
		set_add(sizes, uids[k]);
	*i = end;
	if (imap_fetch(s, sizes, 0, &result, error_r) < 0)
		goto out;
	size_t bytes = 0, wanted = 0;
	for (clistiter *it = clist_begin(result); it != NULL; it = clist_next(it)) {
		struct fetched f;
		struct inbound_outcome out;
		imap_read_att(clist_content(it), &f);
		if (f.uid == 0)
			continue;
		struct inbound_where w = {s->cfg->mailbox, s->uidvalidity, f.uid};
		int known = store_inbound_get(env->st, w.mailbox, w.uidvalidity, w.uid, &out.row,
					      error_r);
		if (known == STORE_ERROR)
			goto out;
		if (known == STORE_OK) {
			out.duplicate = 1;
			out.unmatched = out.row.action == INBOUND_UNMATCHED;
			count(stats, &out);
			route(mv, f.uid, &out);
			continue;
		}
		if (f.size > MAX_MAIL_SIZE) {
			env->now = (int64_t)time(NULL);
			const char *why = errorf("not read: %u bytes, more than %d", f.size,
						 MAX_MAIL_SIZE);
			if (inbound_skip(env, &w, why, &out, error_r) < 0)
				goto out;
			msg_warn("imap: UID %u of %s %s", f.uid, w.mailbox, why);
			count(stats, &out);
			route(mv, f.uid, &out);
			continue;
		}
		/* Bodies in slices of at most BATCH_BYTES. */
		if (wanted > 0 && bytes + f.size > BATCH_BYTES) {
			if (handle_batch(s, env, opts, bodies, mv, stats, error_r) < 0)
				goto out;
			mailimap_set_free(bodies);
			if ((bodies = mailimap_set_new_empty()) == NULL) {
				*error_r = "out of memory";
				goto out;
			}
			bytes = wanted = 0;
		}
		set_add(bodies, f.uid);
		bytes += f.size;
		wanted++;
	}
	rc = wanted > 0 ? handle_batch(s, env, opts, bodies, mv, stats, error_r) : 0;
out:
	if (result != NULL)
		mailimap_fetch_list_free(result);
	if (sizes != NULL)
		mailimap_set_free(sizes);
	if (bodies != NULL)
		mailimap_set_free(bodies);
	return rc;
}

int imap_session_pass(struct imap_session *s, struct verifier_env *env,
		      const struct inbound_opts *opts, struct imap_stats *stats,
		      const char **error_r)
{
	uint32_t last_uid = 0, *uids = NULL;
	size_t n = 0;
	struct moves mv;
	memset(stats, 0, sizeof(*stats));
	if (load_state(s, env->st, &last_uid, error_r) < 0)
		return -1;
	/* The first pass looks at everything: messages recorded but not
	 * moved before a crash are moved now. */
	if (imap_search(s, s->swept ? last_uid : 0, &uids, &n, error_r) < 0)
		return -1;
	s->swept = 1;
	int rc = moves_init(&mv);
	if (rc < 0)
		*error_r = "out of memory";
	for (size_t i = 0; i < n && rc == 0;) {
		rc = do_batch(s, env, opts, uids, n, &i, &mv, stats, error_r);
		if (rc == 0 && mv.n_processed + mv.n_unmatched >= MOVE_EVERY)
			rc = moves_flush(s, &mv, error_r);
	}
	if (rc == 0)
		rc = moves_flush(s, &mv, error_r);
	moves_free(&mv);
	free(uids);
	return rc;
}

static void log_pass(const struct imap_config *cfg, const struct imap_stats *st)
{
	if (st->handled == 0 && st->again == 0 && st->failed == 0)
		return;
	msg_info("imap: %s: %zu handled (%zu unmatched), %zu moved that were handled "
		 "before, %zu left to try again",
		 cfg->mailbox, st->handled, st->unmatched, st->again, st->failed);
}

/*
 * One server reads the mailbox at a time: the one whose store connection
 * holds IMAP_READER_LOCK (always this one on SQLite). Another stands by
 * and asks every IMAP_STANDBY_POLL seconds; the lock is let go when its
 * holder's connection ends, so a holder that dies is taken over within
 * that. *standby: 0 reading, 1 just stood by, 2 standing by.
 */
static int reader_lock(struct verifier_env *env, const struct imap_config *cfg, int *standby)
{
	const char *err;
	int held = 0;
	if (store_lock_hold(env->st, IMAP_READER_LOCK, &held, &err) != STORE_OK)
		msg_warn("imap: %s", err);
	if (held && *standby) {
		msg_info("imap: this server reads %s now", cfg->mailbox);
		*standby = 0;
	} else if (!held && !*standby) {
		msg_info("imap: another server reads %s; standing by", cfg->mailbox);
		*standby = 1;
	}
	return held;
}

static void tell_state(const struct imap_watch_report *rep, int connected, const char *error)
{
	if (rep != NULL && rep->state != NULL)
		rep->state(rep->ctx, connected, error);
}

void imap_watch(const struct imap_config *cfg, struct verifier_env *env,
		const struct inbound_opts *opts, const struct imap_watch_report *rep,
		const _Atomic int *stop)
{
	int backoff = 1, standby = 0;
	while (!*stop) {
		struct imap_session *s;
		struct imap_stats stats;
		const char *err;
		if (!reader_lock(env, cfg, &standby)) {
			if (standby == 1) {
				tell_state(rep, 0, "standing by: another server reads the mailbox");
				standby = 2;
			}
			imap_sleep_until(time(NULL) + IMAP_STANDBY_POLL, stop);
			continue;
		}
		if (imap_session_open(cfg, &s, &err) < 0) {
			tell_state(rep, 0, err);
			msg_error("imap: %s; trying again in %d s", err, backoff);
			imap_sleep_until(time(NULL) + backoff, stop);
			backoff = backoff * 2 > BACKOFF_MAX ? BACKOFF_MAX : backoff * 2;
			continue;
		}
		msg_info("imap: watching %s as %s on %s:%d (%s)", cfg->mailbox, cfg->user,
			 cfg->host, cfg->port,
			 s->has_idle && cfg->idle ? "IDLE" : "polling");
		backoff = 1;
		tell_state(rep, 1, NULL);
		struct timespec t0, t1;
		clock_gettime(CLOCK_MONOTONIC, &t0);
		while (imap_session_pass(s, env, opts, &stats, &err) == 0) {
			clock_gettime(CLOCK_MONOTONIC, &t1);
			log_pass(cfg, &stats);
			if (rep != NULL && rep->pass != NULL)
				rep->pass(rep->ctx, &stats,
					  (double)(t1.tv_sec - t0.tv_sec) +
						  (double)(t1.tv_nsec - t0.tv_nsec) / 1e9);
			if (*stop || imap_session_wait(s, stop, &err) < 0)
				break;
			if (!reader_lock(env, cfg, &standby)) {
				err = "another server reads the mailbox now";
				break;
			}
			clock_gettime(CLOCK_MONOTONIC, &t0); /* the pass, not the wait */
		}
		/* A failed pass or a failed wait: reconnect. */
		if (!*stop) {
			tell_state(rep, 0, err);
			msg_error("imap: %s; reconnecting", err);
		}
		imap_session_close(s);
		if (!*stop)
			imap_sleep_until(time(NULL) + 1, stop);
	}
}
