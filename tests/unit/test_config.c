/*
 * test_config.c: invited.conf: defaults, the file, environment overrides,
 * secrets from files, and clear errors for bad values and unknown keys.
 */
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "invited/config.h"
#include "test.h"

static char path[64];

static const char *write_conf(const char *text)
{
	snprintf(path, sizeof(path), "/tmp/invited-conf-XXXXXX");
	int fd = mkstemp(path);
	if (fd < 0 || write(fd, text, strlen(text)) != (ssize_t)strlen(text))
		abort();
	close(fd);
	return path;
}

TEST(defaults_load_and_validate)
{
	struct config c;
	const char *err = NULL;
	test_assert_int(config_load(NULL, &c, &err), 0);
	test_assert_str(c.server.public_url, "http://127.0.0.1:8025");
	test_assert_int(c.outbox.smtp.port, 25);
	test_assert_int(c.tokens.invitation_lifetime, 30 * 86400);
	test_assert_int(c.tokens.verification_lifetime, 3 * 86400);
	test_assert_int(c.smtp_lifetime, 3 * 86400);
	test_assert_int(c.imap.enabled, 0);
}

TEST(file_values_and_relative_paths)
{
	struct config c;
	const char *err = NULL;
	write_conf("[server]\npublic_url = https://invite.example.com/\ndatabase = data/x.db\n"
		   "[smtp]\nport = 587\ntls = starttls\nlifetime = 2d\n");
	test_assert_int(config_load(path, &c, &err), 0);
	test_assert_str(c.server.public_url, "https://invite.example.com"); /* no trailing / */
	test_assert_str(c.server.database, "/tmp/data/x.db");
	test_assert_int(c.outbox.smtp.port, 587);
	test_assert_int(c.outbox.smtp.tls, SMTP_TLS_STARTTLS);
	test_assert_int(c.smtp_lifetime, 2 * 86400);
	unlink(path);
}

TEST(environment_overrides_the_file)
{
	struct config c;
	const char *err = NULL;
	write_conf("[smtp]\nport = 587\n");
	setenv("INVITED_SMTP_PORT", "2525", 1);
	setenv("INVITED_SERVER_PUBLIC_URL", "https://env.example.com", 1);
	test_assert_int(config_load(path, &c, &err), 0);
	test_assert_int(c.outbox.smtp.port, 2525);
	test_assert_str(c.server.public_url, "https://env.example.com");
	setenv("INVITED_SMTP_PORT", "many", 1);
	test_assert_int(config_load(path, &c, &err), -1);
	test_assert_contains(err, "INVITED_SMTP_PORT");
	unsetenv("INVITED_SMTP_PORT");
	unsetenv("INVITED_SERVER_PUBLIC_URL");
	unlink(path);
}

TEST(passwords_come_from_files)
{
	struct config c;
	const char *err = NULL;
	char secret[64] = "/tmp/invited-secret-XXXXXX";
	int fd = mkstemp(secret);
	if (write(fd, "s3cret\n", 7) != 7)
		abort();
	close(fd);
	char text[256];
	snprintf(text, sizeof(text), "[smtp]\nuser = me\npassword_file = %s\n", secret);
	write_conf(text);
	test_assert_int(config_load(path, &c, &err), 0);
	test_assert_str(c.outbox.smtp.password, "s3cret");
	setenv("INVITED_IMAP_PASSWORD_FILE", secret, 1);
	test_assert_int(config_load(path, &c, &err), 0);
	test_assert_str(c.imap.password, "s3cret");
	unsetenv("INVITED_IMAP_PASSWORD_FILE");
	snprintf(text, sizeof(text), "[smtp]\npassword_file = /nonexistent/x\n");
	write_conf(text);
	test_assert_int(config_load(path, &c, &err), -1);
	test_assert_contains(err, "/nonexistent/x");
	unlink(secret);
	unlink(path);
}

/* A password inline and from a file is refused whichever comes first;
 * the empty `password =` line init writes yields to a file's. */
TEST(a_password_inline_and_from_a_file)
{
	struct config c;
	const char *err = NULL;
	char secret[64] = "/tmp/invited-secret-XXXXXX", text[256];
	int fd = mkstemp(secret);
	if (write(fd, "s3cret\n", 7) != 7)
		abort();
	close(fd);
	snprintf(text, sizeof(text), "[smtp]\npassword_file = %s\npassword =\n", secret);
	write_conf(text);
	test_assert_int(config_load(path, &c, &err), 0);
	test_assert_str(c.outbox.smtp.password, "s3cret");
	unlink(path);
	snprintf(text, sizeof(text), "[smtp]\npassword = x\npassword_file = %s\n", secret);
	write_conf(text);
	test_assert_int(config_load(path, &c, &err), -1);
	test_assert_contains(err, "[smtp] password and password_file are both set");
	unlink(path);
	snprintf(text, sizeof(text), "[imap]\npassword_file = %s\npassword = y\n", secret);
	write_conf(text);
	test_assert_int(config_load(path, &c, &err), -1);
	test_assert_contains(err, "[imap] password and password_file are both set");
	unlink(path);
	unlink(secret);
}

static char *changed_of(const char *text)
{
	struct config c;
	const char *err = NULL;
	char *out = NULL;
	size_t len;
	write_conf(text);
	test_assert_int(config_load(path, &c, &err), 0);
	FILE *m = open_memstream(&out, &len);
	test_assert_int(config_write_changed(m, &c), 0);
	fclose(m);
	unlink(path);
	return out;
}

TEST(changed_shows_only_what_differs_and_hides_passwords)
{
	char *out = changed_of("[smtp]\nport = 25\nhost = localhost\npassword = hunter2\n"
			       "[tokens]\ninvitation_lifetime = 30d\n");
	test_assert_str(out, "[smtp]\nhost = localhost\npassword = (set)\n");
	free(out);
	out = changed_of("[server]\nthreads = 0\n");
	test_assert_str(out, "");
	free(out);
}

/* Each problem config check finds is named; a sound setup says nothing. */
TEST(check_names_each_problem)
{
	char dir[] = "/tmp/invited-check-XXXXXX", text[1024], file[PATH_MAX];
	test_assert(mkdtemp(dir) != NULL);
	snprintf(text, sizeof(text),
		 "[server]\nlisten = nonsense:99999\ndatabase = %s/db\nkeys = %s/keys\n"
		 "[mail]\ntemplates = %s/none\n", dir, dir, dir);
	write_conf(text);
	struct config c;
	const char *err = NULL;
	test_assert_int(config_load(path, &c, &err), 0);
	snprintf(file, sizeof(file), "%s/keys", dir);
	test_assert_int(mkdir(file, 0755), 0);
	snprintf(file, sizeof(file), "%s/keys/k1", dir);
	test_assert_int(close(open(file, O_CREAT | O_WRONLY, 0644)), 0);
	snprintf(file, sizeof(file), "%s/db", dir);
	test_assert_int(close(open(file, O_CREAT | O_WRONLY, 0644)), 0);
	char *out = NULL;
	size_t len;
	FILE *m = open_memstream(&out, &len);
	test_assert_int(config_check(&c, m), 5);
	fclose(m);
	test_assert_contains(out, "[server] listen nonsense:99999: not host:port");
	test_assert_contains(out, "[mail] templates");
	test_assert_contains(out, "keys: mode 0755, want 0700");
	test_assert_contains(out, "k1: mode 0644, want 0600");
	test_assert_contains(out, "db: mode 0644, want 0600");
	free(out);
	/* Mended, and with the real templates: nothing to say. */
	snprintf(file, sizeof(file), "%s/keys", dir);
	chmod(file, 0700);
	snprintf(file, sizeof(file), "%s/keys/k1", dir);
	chmod(file, 0600);
	unlink(file);
	snprintf(file, sizeof(file), "%s/db", dir);
	chmod(file, 0600);
	snprintf(c.server.listen, sizeof(c.server.listen), "127.0.0.1:8025");
	snprintf(c.mail.templates, sizeof(c.mail.templates), "templates");
	m = open_memstream(&out, &len);
	test_assert_int(config_check(&c, m), 0);
	fclose(m);
	test_assert_str(out, "");
	free(out);
	unlink(file);
	snprintf(file, sizeof(file), "%s/keys", dir);
	rmdir(file);
	rmdir(dir);
	unlink(path);
}

static void expect_error(const char *text, const char *words)
{
	struct config c;
	const char *err = NULL;
	write_conf(text);
	test_assert_int(config_load(path, &c, &err), -1);
	test_assert_contains(err, words);
	unlink(path);
}

TEST(bad_values_are_refused_with_a_reason)
{
	expect_error("[server]\n\nlisten = 1.2.3.4:80\nport = 9\n", ":4: unknown key \"port\"");
	expect_error("[smtp]\ntls = sometimes\n", "[smtp] tls: invalid value \"sometimes\"");
	expect_error("[smtp]\ntls = tls\n", "not supported by libesmtp");
	expect_error("[smtp]\nport = -1\n", "[smtp] port");
	expect_error("[server]\npublic_url = ftp://x\n", "public_url must start with http");
	expect_error("[server]\npublic_url = https://x/\"><script>\n", "public_url must not");
	expect_error("[server]\ntls_cert = /etc/ssl/x.pem\n", "tls_cert and tls_key go together");
	expect_error("[server]\ntls_key = /etc/ssl/x.key\n", "tls_cert and tls_key go together");
	expect_error("[server]\ntrusted_proxies = 127.0.0.1 proxy.example\n",
		     "[server] trusted_proxies: \"proxy.example\" is not an address or CIDR");
	expect_error("[server]\ntrusted_proxies = 10.1.0.0/8\n", "bits set past its /8 prefix");
	expect_error("[mail]\nreply_domain = not a domain\n", "reply_domain");
	expect_error("[smtp]\nfrom = nobody\n", "[smtp] from");
	expect_error("[tokens]\ninvitation_lifetime = 10s\n",
		     "[tokens] invitation_lifetime: 10s is out of range (60s to");
	expect_error("[tokens]\ninvitation_lifetime = 1d\nreminder_before = 1d\n",
		     "reminder_before must be less than invitation_lifetime");
	expect_error("[imap]\nenabled = yes\n", "[imap] enabled needs a user");
	expect_error("[imap]\nenabled = yes\nuser = u\nprocessed = INBOX\n",
		     "processed and unmatched must be folders other than mailbox");
	expect_error("[imap]\ntls = sometimes\n", "[imap] tls: invalid value");
	expect_error("[nosuch]\nkey = 1\n", "unknown key");
	expect_error("this is not ini\n", "syntax error");
	/* A path that would not fit its line once made absolute: inih reads
	 * 199 characters a line and takes the rest for the next (found by
	 * tests/fuzz/fuzz_config: `invited config` wrote what it refused). */
	char conf[512];
	snprintf(conf, sizeof(conf), "[server]\ndatabase = %0190d.db\n", 0);
	expect_error(conf, "[server] database: too long: a config line holds at most 199");
}

/* Every number has a range (include: the limits of serve's threads); a
 * value outside it is refused with the range, never clamped quietly. */
TEST(numbers_out_of_range_are_refused_not_clamped)
{
	expect_error("[smtp]\ncommand_timeout = 2d\n",
		     "[smtp] command_timeout: 172800s is out of range (1s to 86400s)");
	expect_error("[smtp]\nconcurrency = 64\n",
		     "[smtp] concurrency: 64 is out of range (1 to 16)");
	expect_error("[smtp]\nconcurrency = 0\n", "[smtp] concurrency: 0 is out of range");
	expect_error("[smtp]\nport = 99999\n", "[smtp] port: 99999 is out of range (1 to 65535)");
	expect_error("[imap]\nport = 0\n", "[imap] port: 0 is out of range");
	expect_error("[webhooks]\nconcurrency = 17\n", "[webhooks] concurrency: 17 is out of range");
	expect_error("[server]\nthreads = 100000\n", "[server] threads: 100000 is out of range");
	expect_error("[sessions]\nrate_limit = 1000001\n", "out of range (0 to 1000000)");
	struct config c;
	const char *err = NULL;
	write_conf("[smtp]\ncommand_timeout = 1d\nconcurrency = 16\n");
	test_assert_int(config_load(path, &c, &err), 0);
	test_assert_int(c.outbox.smtp.command_timeout, 86400);
	test_assert_int(c.outbox.concurrency, OUTBOX_MAX_SENDERS);
	unlink(path);
}

/* Mail and the mailbox password cross a network in the clear only when the
 * operator says so; loopback, by name or address, needs nothing. */
TEST(plaintext_only_to_loopback_unless_allowed)
{
	expect_error("[smtp]\nhost = mx.example.test\n", "[smtp] tls = none to mx.example.test");
	expect_error("[smtp]\nhost = 10.0.0.1\nuser = u\n", "and the AUTH password in the clear");
	expect_error("[smtp]\nhost = 128.0.0.1\n", "set allow_plaintext = yes");
	expect_error("[imap]\nhost = ::2\n", "[imap] tls = none to ::2");
	expect_error("[smtp]\nhost = ::1\n", "libesmtp cannot take an IPv6 address");
	expect_error("[smtp]\ntls = starttls\nca_file = /nonexistent\n",
		     "[smtp] ca_file /nonexistent: no certificates");
	expect_error("[imap]\ntls = tls\nca_file = /nonexistent\n",
		     "[imap] ca_file /nonexistent: no certificates");
	const char *fine[] = {
		"[smtp]\nhost = localhost\n[imap]\nhost = LOCALHOST\n",
		"[smtp]\nhost = 127.8.9.10\n[imap]\nhost = ::1\n",
		"[smtp]\nhost = mx.example.test\nallow_plaintext = yes\n"
		"[imap]\nhost = imap.example.test\nallow_plaintext = yes\n",
		"[smtp]\nhost = mx.example.test\ntls = starttls\n"
		"[imap]\nhost = imap.example.test\ntls = starttls\n",
	};
	for (size_t i = 0; i < sizeof(fine) / sizeof(fine[0]); i++) {
		struct config c;
		const char *err = NULL;
		write_conf(fine[i]);
		test_assert_int(config_load(path, &c, &err), 0);
		if (err != NULL)
			test_assert_contains(err, "(no error)");
		unlink(path);
	}
}

/* A secret that is refused is not repeated in the error, which reaches
 * terminals and logs: a line with a control character, or too long. */
TEST(an_invalid_secret_is_never_echoed)
{
	struct config c;
	const char *err = NULL;
	char long_secret[600];
	memset(long_secret, 'k', sizeof(long_secret) - 1);
	long_secret[sizeof(long_secret) - 1] = '\0';
	memcpy(long_secret, "hunter2-", 8);
	test_assert_int(config_load(NULL, &c, &err), 0);
	const char *bad[] = {"hunter2-\x01tail", long_secret};
	for (size_t i = 0; i < 2; i++) {
		err = NULL;
		test_assert_int(config_set(&c, "smtp.password", bad[i], &err), -1);
		test_assert(err != NULL && strstr(err, "hunter2") == NULL);
		test_assert_contains(err, "[smtp] password: invalid value (not shown)");
		test_assert_int(config_set(&c, "imap.password", bad[i], &err), -1);
		test_assert(strstr(err, "hunter2") == NULL);
	}
	setenv("INVITED_SMTP_PASSWORD", "hunter2-\x02", 1);
	test_assert_int(config_load(NULL, &c, &err), -1);
	unsetenv("INVITED_SMTP_PASSWORD");
	test_assert(err != NULL && strstr(err, "hunter2") == NULL);
}

/* fuzz_config's find: written back as `listen = ;…`, it read as a comment. */
TEST(a_value_may_not_begin_with_a_semicolon)
{
	struct config c;
	const char *err = NULL;
	char file[] = "/tmp/invited-conf-XXXXXX";
	test_assert_int(config_load(NULL, &c, &err), 0);
	test_assert_int(config_set(&c, "server.listen", ";ptaev:u_silifo", &err), -1);
	test_assert_contains(err, "[server] listen: a value may not begin with \";\"");
	int fd = mkstemp(file);
	test_assert(fd >= 0 && write(fd, "[server]\nlisten =;ptaev:u_silifo\n", 33) == 33);
	close(fd);
	err = NULL;
	test_assert_int(config_load(file, &c, &err), -1);
	unlink(file);
	test_assert_contains(err, "may not begin with");
}

TEST(durations)
{
	int64_t s;
	test_assert_int(config_parse_duration("45", &s), 0);
	test_assert_int(s, 45);
	test_assert_int(config_parse_duration("15m", &s), 0);
	test_assert_int(s, 900);
	test_assert_int(config_parse_duration("12h", &s), 0);
	test_assert_int(s, 43200);
	test_assert_int(config_parse_duration("30d", &s), 0);
	test_assert_int(s, 2592000);
	test_assert_int(config_parse_duration("3w", &s), -1);
	test_assert_int(config_parse_duration("-1s", &s), -1);
	test_assert_int(config_parse_duration("1hh", &s), -1);
	test_assert_int(config_parse_duration("", &s), -1);
}

TEST(docs_list_every_key)
{
	char *doc = NULL, *md = NULL;
	size_t len, n;
	FILE *out = open_memstream(&doc, &len);
	config_doc(out);
	fclose(out);
	FILE *fp = fopen("docs/config.md", "r");
	test_assert(fp != NULL);
	if (fp == NULL)
		return;
	md = calloc(1, 65536);
	n = fread(md, 1, 65535, fp);
	fclose(fp);
	md[n] = '\0';
	/* docs/config.md must hold `invited config --doc` exactly. */
	test_assert(strstr(md, doc) != NULL);
	free(doc);
	free(md);
}

TEST_MAIN()
