/*
 * redeemer.h: group commit for the accepts and declines behind a link.
 * An HTTP thread that has checked the token and the form submits the
 * redeem and returns; its connection waits, suspended. One thread takes
 * every redeem waiting, runs them in one transaction with one durable
 * commit (redeem_batch), and resumes the connections, whose pages are
 * then rendered in the HTTP threads. One fsync serves every redeem that
 * arrived during the last one, instead of each paying its own while the
 * HTTP thread waits.
 */
#ifndef INVITED_REDEEMER_H
#define INVITED_REDEEMER_H

#include "http.h"
#include "redeem.h"

struct app;
struct redeemer;

/* A redeem waiting for its batch; the submitter owns it again at resume. */
struct redeem_job {
	struct redeem_job *next;
	struct request *rq;
	struct redeem_item item;
	const char *token; /* for the page, which may show the form again */
};

int redeemer_start(struct app *app, struct redeemer **r_r, const char **error_r);
/* Finish every redeem submitted, resume their connections, stop the
 * thread; from then on redeemer_submit() declines. Free it once no HTTP
 * thread can call redeemer_submit() any more. */
void redeemer_stop(struct redeemer *r);
void redeemer_free(struct redeemer *r);

/*
 * Defer rq (http_defer with resume, discard and job) and queue the job: 0. When
 * there is no redeemer or it is stopping: -1, and nothing is done (the
 * caller redeems in its own thread).
 */
int redeemer_submit(struct redeemer *r, struct redeem_job *job,
		    int (*resume)(struct request *rq), void (*discard)(void *job));

#endif
