/*
 * invite_fill.c: create COUNT invitations from ORG_ID, with the server
 * stopped, for bench/smtp.py (whose server then sends their mail) and
 * bench/inbound.py (whose bounces and replies answer them). Each goes
 * through invitation_create, as the API and `invited invite create` do: its
 * link is minted, its mail rendered by the real templates and queued in the
 * outbox, one transaction each. Prints the size in bytes of the first
 * queued message.
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "invited/invitation.h"
#include "invited/log.h"
#include "invited/server.h"

static const char note[] = "We would like you to resell our cloud products in your region. "
			   "Our partner team will help you through onboarding.";

static int queue_one(const struct inv_env *env, int64_t org_id, long i, const char **error_r)
{
	char email[64], name[64];
	struct invitation inv;
	struct fault f = {0};
	snprintf(email, sizeof(email), "r%ld@reseller.example.test", i);
	snprintf(name, sizeof(name), "Rita Reseller %ld", i);
	struct inv_request req = {.kind = INV_INDIRECT_PROVIDER,
				  .inviter_org_id = org_id,
				  .email = email,
				  .name = name,
				  .message = note};
	if (invitation_create(env, &req, &inv, &f) < 0) {
		*error_r = errorf("invitation %ld: %s", i, f.message);
		return -1;
	}
	invitation_clear(&inv);
	return 0;
}

static int first_size(struct store *st, const char **error_r)
{
	struct outbox_msg m;
	if (store_outbox_get(st, 1, 1, &m, error_r) != STORE_OK)
		return -1;
	printf("%zu\n", m.len);
	outbox_msg_clear(&m);
	return 0;
}

int main(int argc, char **argv)
{
	struct app app;
	const char *err;
	if (argc != 4 || atoll(argv[2]) <= 0 || atol(argv[3]) <= 0) {
		fprintf(stderr, "usage: invite_fill CONFIG ORG_ID COUNT\n");
		return 2;
	}
	int64_t org_id = atoll(argv[2]);
	long count = atol(argv[3]);
	if (app_init(&app, argv[1], &err) < 0) {
		fprintf(stderr, "invite_fill: %s\n", err);
		return 1;
	}
	struct store *st = app_store(&app, &err);
	int ret = st == NULL;
	for (long i = 1; !ret && i <= count; i++) {
		struct inv_env env = {st,
				      app_keys(&app),
				      &app.mailer,
				      app.cfg.tokens.invitation_lifetime,
				      (int64_t)time(NULL),
				      "bench"};
		ret = queue_one(&env, org_id, i, &err) < 0;
	}
	if (!ret)
		ret = first_size(st, &err) < 0;
	if (ret)
		fprintf(stderr, "invite_fill: %s\n", err);
	app_free(&app);
	return ret;
}
