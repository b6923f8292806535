/* link: invited_mailer */
/* fixture: mailstack */
/*
 * test_smtp.c: libesmtp batches against the test stack's real Postfix:
 * accepted, deferred (451) and refused (550) recipients each get their
 * own outcome and the server's words; an unreachable server defers all.
 */
#include <dirent.h>
#include <sodium.h>
#include <stdlib.h>
#include <unistd.h>

#include "invited/smtp.h"
#include "test.h"

static struct smtp_config stack_config(void)
{
	struct smtp_config c = {.port = 0, .command_timeout = 30};
	char path[512], line[256];
	const char *dir = getenv("INVITED_MAILSTACK_DIR");
	snprintf(c.host, sizeof(c.host), "127.0.0.1");
	snprintf(path, sizeof(path), "%s/env", dir ? dir : ".");
	FILE *fp = fopen(path, "r");
	if (fp == NULL) {
		fprintf(stderr, "the mail stack is not running (%s missing)\n", path);
		return c;
	}
	while (fgets(line, sizeof(line), fp))
		if (strncmp(line, "MAILSTACK_SMTP_PORT=", 20) == 0)
			c.port = atoi(line + 20);
	fclose(fp);
	return c;
}

static char *message(const char *to, const char *tag)
{
	char *m = malloc(512);
	snprintf(m, 512,
		 "From: test@example.test\r\nTo: %s\r\nSubject: smtp test %s\r\n"
		 "Message-ID: <%s@example.test>\r\nDate: Tue, 24 Nov 2026 10:00:00 +0000\r\n"
		 "\r\nbody %s\r\n.starts with a dot\r\n",
		 to, tag, tag, tag);
	return m;
}

/* Files in the user's Maildir/new holding tag, waiting up to 10 s. */
static int delivered(const char *user, const char *tag)
{
	char dir[512];
	snprintf(dir, sizeof(dir), "%s/mail/%s/Maildir/new", getenv("INVITED_MAILSTACK_DIR"), user);
	for (int tries = 0; tries < 100; tries++) {
		int found = 0;
		DIR *d = opendir(dir);
		struct dirent *e;
		while (d && (e = readdir(d)) != NULL) {
			char path[1024], buf[8192];
			if (e->d_name[0] == '.')
				continue;
			snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
			FILE *fp = fopen(path, "r");
			size_t n = fp ? fread(buf, 1, sizeof(buf) - 1, fp) : 0;
			if (fp)
				fclose(fp);
			buf[n] = '\0';
			found += strstr(buf, tag) != NULL;
		}
		if (d)
			closedir(d);
		if (found)
			return found;
		usleep(100000);
	}
	return 0;
}

static void new_tag(char tag[33])
{
	unsigned char raw[16];
	randombytes_buf(raw, sizeof(raw));
	sodium_bin2hex(tag, 33, raw, sizeof(raw));
}

TEST(batch_delivers_each_message_once)
{
	struct smtp_config c = stack_config();
	const char *users[] = {"u1", "u2", "u3"};
	struct smtp_item items[3];
	char tags[3][33], to[3][64];
	const char *err = NULL;
	memset(items, 0, sizeof(items));
	for (int i = 0; i < 3; i++) {
		new_tag(tags[i]);
		snprintf(to[i], sizeof(to[i]), "%s@example.test", users[i]);
		items[i].env_from = "bounces+smtptest@example.test";
		items[i].rcpt = to[i];
		items[i].data = message(to[i], tags[i]);
		items[i].len = strlen(items[i].data);
	}
	test_assert_int(smtp_send_batch(&c, items, 3, &err), 0);
	for (int i = 0; i < 3; i++) {
		test_assert_int(items[i].outcome, SMTP_SENT);
		test_assert_int(items[i].code, 250);
		test_assert_int(delivered(users[i], tags[i]), 1);
		free((char *)items[i].data);
	}
}

TEST(temporary_and_permanent_refusals_are_told_apart)
{
	struct smtp_config c = stack_config();
	char tag[33];
	new_tag(tag);
	struct smtp_item items[3] = {
		{.env_from = "b@example.test", .rcpt = "tempfail@example.test"},
		{.env_from = "b@example.test", .rcpt = "reject@example.test"},
		{.env_from = "b@example.test", .rcpt = "u4@example.test"},
	};
	const char *err = NULL;
	for (int i = 0; i < 3; i++) {
		items[i].data = message(items[i].rcpt, tag);
		items[i].len = strlen(items[i].data);
	}
	test_assert_int(smtp_send_batch(&c, items, 3, &err), 0);
	test_assert_int(items[0].outcome, SMTP_TEMPFAIL);
	test_assert_int(items[0].code, 451);
	test_assert_contains(items[0].reply, "Try again later");
	test_assert_int(items[1].outcome, SMTP_PERMFAIL);
	test_assert_int(items[1].code, 550);
	test_assert_contains(items[1].reply, "Recipient refused by policy");
	/* The refusals do not spoil the rest of the batch. */
	test_assert_int(items[2].outcome, SMTP_SENT);
	test_assert_int(delivered("u4", tag), 1);
	for (int i = 0; i < 3; i++)
		free((char *)items[i].data);
}

TEST(unreachable_server_defers_everything)
{
	struct smtp_config c = stack_config();
	c.port = 1; /* nothing listens there */
	struct smtp_item items[2] = {
		{.env_from = "b@example.test", .rcpt = "u1@example.test", .data = "x\r\n", .len = 3},
		{.env_from = "b@example.test", .rcpt = "u2@example.test", .data = "y\r\n", .len = 3},
	};
	const char *err = NULL;
	test_assert_int(smtp_send_batch(&c, items, 2, &err), -1);
	test_assert_contains(err, "127.0.0.1:1");
	for (int i = 0; i < 2; i++) {
		test_assert_int(items[i].outcome, SMTP_TEMPFAIL);
		test_assert_int(items[i].code, 0);
		test_assert(items[i].reply[0] != '\0');
	}
}

TEST(implicit_tls_is_refused_with_a_reason)
{
	struct smtp_config c = stack_config();
	const char *err = NULL, *warning = "x";
	test_assert_int(smtp_config_check(&c, &warning, &err), 0);
	test_assert(warning == NULL);
	c.tls = SMTP_TLS_IMPLICIT;
	test_assert_int(smtp_config_check(&c, &warning, &err), -1);
	test_assert_contains(err, "starttls");
}

/* Allowed (to loopback) but unwise: said, for the caller to show. */
TEST(auth_in_the_clear_is_a_warning)
{
	struct smtp_config c = stack_config();
	const char *err = NULL, *warning = NULL;
	c.tls = SMTP_TLS_NONE;
	snprintf(c.user, sizeof(c.user), "someone");
	test_assert_int(smtp_config_check(&c, &warning, &err), 0);
	test_assert_contains(warning, "AUTH without TLS");
	c.user[0] = '\0';
	test_assert_int(smtp_config_check(&c, &warning, &err), 0);
	test_assert(warning == NULL);
}

TEST_MAIN()
