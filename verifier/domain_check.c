/*
 * domain_check.c: proving a domain by DNS (domains.h). One c-ares channel
 * per lookup, driven by select until it answers or the time is up: a
 * check is rare (asked for, or a daily sweep), so nothing is kept open.
 */
#include <ares.h>
#include <arpa/nameser.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <poll.h>
#include <time.h>

#include "invited/domains.h"
#include "invited/enroll.h"
#include "invited/log.h"
#include "invited/mailer.h"
#include "invited/store.h"
#include "verifier_int.h"

struct txt_query {
	const char *want;
	int done;
	enum domain_txt result;
	const char *why;
};

static pthread_once_t ares_once = PTHREAD_ONCE_INIT;
static int ares_ready;

static void ares_start(void)
{
	ares_ready = ares_library_init(ARES_LIB_INIT_ALL) == ARES_SUCCESS;
}

/* A TXT record may come in several strings (RFC 7208 section 3.3): one
 * record's strings are joined before comparing. */
static void on_txt(void *arg, int status, int timeouts, unsigned char *abuf, int alen)
{
	struct txt_query *q = arg;
	(void)timeouts;
	q->done = 1;
	if (status == ARES_ENOTFOUND || status == ARES_ENODATA) {
		q->result = DOMAIN_TXT_ABSENT;
		q->why = status == ARES_ENOTFOUND ? "no such name" : "no TXT record there";
		return;
	}
	if (status != ARES_SUCCESS) {
		q->result = DOMAIN_TXT_ERROR;
		q->why = ares_strerror(status);
		return;
	}
	struct ares_txt_ext *txt = NULL;
	int parsed = ares_parse_txt_reply_ext(abuf, alen, &txt);
	if (parsed == ARES_ENODATA) { /* an answer with no TXT record (a CNAME only) */
		q->result = DOMAIN_TXT_ABSENT;
		q->why = "no TXT record there";
		return;
	}
	if (parsed != ARES_SUCCESS) {
		q->result = DOMAIN_TXT_ERROR;
		q->why = "an answer that is not TXT records";
		return;
	}
	char record[1024];
	size_t len = 0;
	int found = 0, over = 0;
	for (struct ares_txt_ext *t = txt; t != NULL && !found; t = t->next) {
		if (t->record_start)
			len = 0, over = 0;
		if (len + t->length >= sizeof(record))
			over = 1;
		else {
			memcpy(record + len, t->txt, t->length);
			len += t->length;
		}
		int last = t->next == NULL || t->next->record_start;
		if (last && !over && len == strlen(q->want) && memcmp(record, q->want, len) == 0)
			found = 1;
	}
	ares_free_data(txt);
	q->result = found ? DOMAIN_TXT_FOUND : DOMAIN_TXT_ABSENT;
	q->why = found ? "found" : "TXT records there, none with the token";
}

enum domain_txt domain_txt_lookup(const char *name, const char *want, const char *servers,
				  int timeout_ms, const char **why_r)
{
	pthread_once(&ares_once, ares_start);
	if (!ares_ready) {
		*why_r = "c-ares could not start";
		return DOMAIN_TXT_ERROR;
	}
	ares_channel ch;
	struct ares_options opt = {.timeout = timeout_ms / 2 > 0 ? timeout_ms / 2 : 1, .tries = 2};
	if (ares_init_options(&ch, &opt, ARES_OPT_TIMEOUTMS | ARES_OPT_TRIES) != ARES_SUCCESS) {
		*why_r = "no DNS resolver (c-ares init)";
		return DOMAIN_TXT_ERROR;
	}
	if (servers != NULL && servers[0] != '\0' &&
	    ares_set_servers_ports_csv(ch, servers) != ARES_SUCCESS) {
		ares_destroy(ch);
		*why_r = "[dns] servers is not a list of host:port";
		return DOMAIN_TXT_ERROR;
	}
	struct txt_query q = {want, 0, DOMAIN_TXT_ERROR, "no answer in time"};
	ares_query(ch, name, ns_c_in, ns_t_txt, on_txt, &q);
	/* poll, not select: in the server this descriptor may be past
	 * FD_SETSIZE (a thousand HTTP connections) */
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	while (!q.done) {
		ares_socket_t socks[ARES_GETSOCK_MAXNUM];
		/* c-ares's ARES_GETSOCK_WRITABLE shifts a signed 1 into the sign
		 * bit for the last socket: the bits are read unsigned here. */
		unsigned bits = (unsigned)ares_getsock(ch, socks, ARES_GETSOCK_MAXNUM);
		struct pollfd pfd[ARES_GETSOCK_MAXNUM];
		nfds_t n = 0;
		for (unsigned i = 0; i < ARES_GETSOCK_MAXNUM; i++) {
			short ev = (short)((bits & (1u << i) ? POLLIN : 0) |
					   (bits & (1u << (i + ARES_GETSOCK_MAXNUM)) ? POLLOUT : 0));
			if (ev != 0)
				pfd[n++] = (struct pollfd){.fd = socks[i], .events = ev};
		}
		if (n == 0)
			break;
		clock_gettime(CLOCK_MONOTONIC, &t1);
		long spent = (t1.tv_sec - t0.tv_sec) * 1000L + (t1.tv_nsec - t0.tv_nsec) / 1000000L;
		if (spent >= timeout_ms)
			break;
		struct timeval left = {(timeout_ms - spent) / 1000, ((timeout_ms - spent) % 1000) * 1000};
		struct timeval tv, *next = ares_timeout(ch, &left, &tv);
		int wait_ms = (int)(next->tv_sec * 1000 + next->tv_usec / 1000);
		int ready = poll(pfd, n, wait_ms > 0 ? wait_ms : 1);
		if (ready < 0)
			break;
		if (ready == 0) {
			ares_process_fd(ch, ARES_SOCKET_BAD, ARES_SOCKET_BAD); /* timeouts */
			continue;
		}
		for (nfds_t i = 0; i < n; i++)
			ares_process_fd(ch, pfd[i].revents & (POLLIN | POLLERR | POLLHUP) ? pfd[i].fd
											 : ARES_SOCKET_BAD,
					pfd[i].revents & POLLOUT ? pfd[i].fd : ARES_SOCKET_BAD);
	}
	ares_destroy(ch); /* answers a pending query with ARES_EDESTRUCTION */
	if (q.result != DOMAIN_TXT_FOUND && q.result != DOMAIN_TXT_ABSENT && !q.done)
		q.why = "no answer in time";
	*why_r = q.why;
	return q.result;
}

struct check_ctx {
	const struct verifier_env *env;
	const _Atomic int *stop;
	const char *servers;
	int timeout_ms;
	int changed;
	int failed;
	const char *error;
};

/* Tell the organization's primary contact (its first admin) what the
 * check changed, and what record to publish when it is not proven. */
static int mail_admins(const struct verifier_env *env, const struct domain_due *d,
		       const char *what, const char *txt_name, const char *txt_value,
		       const char *why, const char **error_r)
{
	struct org o;
	int rc = store_org_get(env->st, d->org_id, &o, error_r);
	/* A contact who never verified their address is no one's to mail: else
	 * an enrollment listing twenty domains mails any address twenty times. */
	if (rc == STORE_NOT_FOUND || (rc == STORE_OK && (o.contact_email[0] == '\0' ||
						       !o.contact_verified)))
		return 0;
	if (rc != STORE_OK)
		return -1;
	struct tpl_vars vars = {0};
	tpl_vars_set(&vars, "org", o.legal_name);
	tpl_vars_set(&vars, "contact_name", o.contact_name);
	tpl_vars_set(&vars, "domain", d->domain);
	tpl_vars_set(&vars, what, "1");
	tpl_vars_set(&vars, "why", why);
	tpl_vars_set(&vars, "txt_name", txt_name);
	tpl_vars_set(&vars, "txt_value", txt_value);
	tpl_vars_set(&vars, "public_url", env->mailer->public_url);
	struct mail_job job = {
		.kind = OUTBOX_NOTICE,
		.to = {o.contact_name[0] ? o.contact_name : NULL, o.contact_email},
		.auto_submitted = 1,
		.org_id = o.id,
	};
	return mailer_queue_template(env->mailer, env->st, "domain_state", o.locale, &vars, &job,
				     env->now, error_r);
}

static int check_one(void *arg, const struct domain_due *d)
{
	struct check_ctx *c = arg;
	const struct verifier_env *env = c->env;
	if (c->stop != NULL && *c->stop)
		return 1; /* the server stops: the rest waits for the next start */
	struct domain_record txt;
	const char *why, *err = NULL;
	domain_txt_of(d->domain, d->proof.token, &txt);
	const char *name = txt.name, *want = txt.value;
	/* The lookup outside any transaction: DNS may take seconds, and the
	 * store's write lock is everyone's. */
	enum domain_txt got = domain_txt_lookup(name, want, c->servers, c->timeout_ms, &why);
	enum domain_state was = d->proof.state, now_state = was;
	int rc = store_begin(env->st, &err);
	if (rc != STORE_OK) {
		c->error = err;
		c->failed = 1;
		return 1;
	}
	if (got == DOMAIN_TXT_ERROR) {
		msg_warn("domains: %s: DNS: %s; checked again in %d s", name, why,
			 DOMAIN_CHECK_AGAIN);
		rc = store_domain_checked(env->st, d->org_id, d->domain, was,
					  env->now - DOMAIN_CHECK_EVERY + DOMAIN_CHECK_AGAIN, &err);
	} else if (got == DOMAIN_TXT_FOUND && was != DOMAIN_PROVEN) {
		rc = store_domain_prove(env->st, d->org_id, d->domain, "dns", env->now, &err);
		now_state = DOMAIN_PROVEN;
		if (rc == STORE_CONFLICT) { /* someone else's: the record proves nothing */
			why = "an approved organization proved it first";
			now_state = DOMAIN_FAILED;
			rc = store_domain_checked(env->st, d->org_id, d->domain, DOMAIN_FAILED,
						  env->now, &err);
		}
	} else {
		if (got == DOMAIN_TXT_ABSENT)
			now_state = was == DOMAIN_PROVEN ? DOMAIN_CLAIMED : DOMAIN_FAILED;
		rc = store_domain_checked(env->st, d->org_id, d->domain, now_state, env->now, &err);
	}
	/* Read minutes ago: a lasting proof made meanwhile (the contact
	 * verified) is no longer DNS's to change. */
	if (rc == STORE_NOT_FOUND) {
		now_state = was;
		rc = STORE_OK;
	}
	if (rc != STORE_OK)
		goto fail;
	if (now_state != was) {
		c->changed++;
		const char *event = now_state == DOMAIN_PROVEN ? "domain.proven"
				    : now_state == DOMAIN_FAILED ? "domain.failed"
								 : "domain.lapsed";
		if (enroll_event(env, d->org_id, event,
				 errorf("%s by DNS TXT %s: %s", d->domain, name, why), &err) < 0 ||
		    mail_admins(env, d, now_state == DOMAIN_PROVEN ? "proven"
				    : now_state == DOMAIN_FAILED ? "failed" : "lapsed",
				name, want, why, &err) < 0)
			goto fail;
		msg_info("domains: org %lld: %s %s -> %s (%s)", (long long)d->org_id, d->domain,
			 domain_state_str(was), domain_state_str(now_state), why);
	}
	if (store_commit(env->st, &err) == STORE_OK)
		return 0;
fail:
	store_rollback(env->st);
	c->error = err;
	c->failed = 1;
	return 1;
}

int domains_check(const struct verifier_env *env, int64_t org_id, int64_t before,
		  const char *servers, int timeout_ms, const _Atomic int *stop, int *changed_r,
		  const char **error_r)
{
	struct check_ctx c = {env, stop, servers, timeout_ms, 0, 0, NULL};
	int rc = store_domains_due(env->st, org_id, before, DOMAIN_CHECK_BATCH, check_one, &c,
				   error_r);
	*changed_r = c.changed;
	if (rc != STORE_OK)
		return -1;
	if (c.failed) {
		*error_r = c.error;
		return -1;
	}
	return 0;
}
