/*
 * redeemer.c: the thread that commits link redeems in groups (see
 * redeemer.h). It works on its own store connection; a batch is every
 * redeem waiting when the last commit ended, at most BATCH_MAX.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "invited/log.h"
#include "invited/redeemer.h"
#include "invited/server.h"

#define BATCH_MAX 64

struct redeemer {
	struct app *app;
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t wake;
	struct redeem_job *head, **tail;
	int stopping;
	int opened;             /* the thread has tried to open its store */
	char open_error[MAX_ERROR_LEN]; /* and failed so ("" when it did not) */
};

/* Up to BATCH_MAX jobs off the queue, into jobs[]; 0 once stopped and
 * drained. */
static size_t take(struct redeemer *r, struct redeem_job **jobs)
{
	size_t n = 0;
	pthread_mutex_lock(&r->lock);
	while (r->head == NULL && !r->stopping)
		pthread_cond_wait(&r->wake, &r->lock);
	while (r->head != NULL && n < BATCH_MAX) {
		jobs[n++] = r->head;
		r->head = r->head->next;
	}
	if (r->head == NULL)
		r->tail = &r->head;
	pthread_mutex_unlock(&r->lock);
	return n;
}

static void run_batch(struct redeemer *r, struct store *st, struct redeem_job **jobs,
		      size_t n)
{
	struct redeem_item *items[BATCH_MAX];
	for (size_t i = 0; i < n; i++)
		items[i] = &jobs[i]->item;
	struct app *app = r->app;
	struct inv_env env = {st, app_keys(app), &app->mailer,
			      app->cfg.tokens.invitation_lifetime, 0, "link"};
	redeem_batch(&env, items, n);
	__atomic_add_fetch(&app->redeem_commits, 1, __ATOMIC_RELAXED);
	app_kick_outbox(app);
	/* After this, a job belongs to its HTTP thread again. */
	for (size_t i = 0; i < n; i++)
		http_resume(jobs[i]->rq);
}

static void *redeemer_main(void *arg)
{
	struct redeemer *r = arg;
	struct redeem_job *jobs[BATCH_MAX];
	const char *err = NULL;
	struct store *st = app_store(r->app, &err);
	size_t n;
	/* Start-up waits for this: a redeemer without a store fails it. */
	pthread_mutex_lock(&r->lock);
	r->opened = 1;
	/* copied: the thread's error text dies with it */
	snprintf(r->open_error, sizeof(r->open_error), "%s", st == NULL ? err : "");
	pthread_cond_broadcast(&r->wake);
	pthread_mutex_unlock(&r->lock);
	if (st == NULL)
		return NULL;
	while ((n = take(r, jobs)) > 0)
		run_batch(r, st, jobs, n);
	app_store_release(r->app);
	return NULL;
}

int redeemer_start(struct app *app, struct redeemer **r_r, const char **error_r)
{
	struct redeemer *r = calloc(1, sizeof(*r));
	if (r == NULL) {
		*error_r = "redeemer: out of memory";
		return -1;
	}
	r->app = app;
	r->tail = &r->head;
	pthread_mutex_init(&r->lock, NULL);
	pthread_cond_init(&r->wake, NULL);
	if (pthread_create(&r->thread, NULL, redeemer_main, r) != 0) {
		pthread_mutex_destroy(&r->lock);
		pthread_cond_destroy(&r->wake);
		free(r);
		*error_r = "redeemer: cannot start its thread";
		return -1;
	}
	pthread_mutex_lock(&r->lock);
	while (!r->opened)
		pthread_cond_wait(&r->wake, &r->lock);
	pthread_mutex_unlock(&r->lock);
	if (r->open_error[0] != '\0') {
		pthread_join(r->thread, NULL);
		*error_r = errorf("redeemer: %s", r->open_error);
		pthread_mutex_destroy(&r->lock);
		pthread_cond_destroy(&r->wake);
		free(r);
		return -1;
	}
	*r_r = r;
	return 0;
}

void redeemer_stop(struct redeemer *r)
{
	if (r == NULL)
		return;
	pthread_mutex_lock(&r->lock);
	int running = !r->stopping;
	r->stopping = 1;
	pthread_cond_signal(&r->wake);
	pthread_mutex_unlock(&r->lock);
	if (running)
		pthread_join(r->thread, NULL);
}

void redeemer_free(struct redeemer *r)
{
	if (r == NULL)
		return;
	redeemer_stop(r);
	pthread_mutex_destroy(&r->lock);
	pthread_cond_destroy(&r->wake);
	free(r);
}

int redeemer_submit(struct redeemer *r, struct redeem_job *job,
		    int (*resume)(struct request *rq), void (*discard)(void *job))
{
	if (r == NULL)
		return -1;
	pthread_mutex_lock(&r->lock);
	if (r->stopping) {
		pthread_mutex_unlock(&r->lock);
		return -1;
	}
	/* Suspended before the job is visible: the thread may resume it as
	 * soon as the lock is released. */
	http_defer(job->rq, resume, discard, job);
	job->next = NULL;
	*r->tail = job;
	r->tail = &job->next;
	pthread_cond_signal(&r->wake);
	pthread_mutex_unlock(&r->lock);
	return 0;
}
