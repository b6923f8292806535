/*
 * config.c: reading invited.conf. One table lists every key with its
 * type, default and documentation; loading, environment overrides and
 * the commented file `invited init` writes all come from it (the
 * writers are in config_write.c).
 */
#include <ctype.h>
#include <errno.h>
#include <ini.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "invited/config.h"
#include "config_int.h"
#include "invited/log.h"
#include "invited/mime.h"
#include "invited/store.h"
#include "invited/text.h"

#ifndef INVITED_DATADIR
#define INVITED_DATADIR "/usr/local/share/invited"
#endif

#define SYSTEM_CONFIG_DIR "/etc/invited"
#define SYSTEM_STATE_DIR "/var/lib/invited"
#define DATADIR "<datadir>" /* in a default: where the templates are */

#define F(field) offsetof(struct config, field), sizeof(((struct config *)0)->field)

/*
 * The range of each number (durations in seconds). A value outside it is
 * refused with the range, never quietly clamped. Numbers not listed here
 * may be 0 to 1,000,000 (durations: up to ten years).
 */
static const struct bound bounds[] = {
	{"server", "threads", 0, 256},
	{"server", "sweep_interval", 1, 86400},
	{"server", "client_prefix_v4", 8, 32},
	{"server", "client_prefix_v6", 16, 128},
	{"smtp", "port", 1, 65535},
	{"smtp", "command_timeout", 1, 86400},
	{"smtp", "batch_size", 1, 10000},
	{"smtp", "concurrency", 1, OUTBOX_MAX_SENDERS},
	{"smtp", "retry_base", 1, 86400},
	{"smtp", "lifetime", 60, 30 * 86400},
	{"imap", "port", 1, 65535},
	{"imap", "poll_interval", 1, 86400},
	{"mail", "relay_per_day", 0, 1000},
	{"dns", "timeout", 1, 60},
	{"tokens", "invitation_lifetime", 60, 366 * 86400},
	{"tokens", "verification_lifetime", 60, 366 * 86400},
	{"webhooks", "timeout", 1, 300},
	{"webhooks", "retry_base", 1, 86400},
	{"webhooks", "concurrency", 1, WEBHOOK_MAX_THREADS},
	{"sessions", "idle", 60, 366 * 86400},
	{"sessions", "lifetime", 60, 366 * 86400},
};

/* k's own range, or NULL when it has the general one. */
const struct bound *config_bound_of(const struct ckey *k)
{
	for (size_t i = 0; i < sizeof(bounds) / sizeof(bounds[0]); i++)
		if (strcmp(bounds[i].section, k->section) == 0 && strcmp(bounds[i].key, k->key) == 0)
			return &bounds[i];
	return NULL;
}

static void key_bounds(const struct ckey *k, int64_t *min_r, int64_t *max_r)
{
	const struct bound *b = config_bound_of(k);
	*min_r = b != NULL ? b->min : 0;
	*max_r = b != NULL ? b->max : k->type == C_DURATION ? (int64_t)3660 * 86400 : 1000000;
}

static const struct ckey keys[] = {
	{"server", "listen", C_STR, F(server.listen), "127.0.0.1:8025",
	 "address and port the HTTP endpoint listens on"},
	{"server", "public_url", C_STR, F(server.public_url), "http://127.0.0.1:8025",
	 "the URL links point to (scheme, host, optional port and path; no trailing /)"},
	{"server", "database", C_STATE, F(server.database), "invited.db",
	 "SQLite database file, or a PostgreSQL URL (postgresql://user@host:port/db, "
	 "its password in database_password) for more than one server"},
	{"server", "database_password", C_SECRET, F(server.database_password), "",
	 "PostgreSQL password; or database_password_file = path, or "
	 "INVITED_SERVER_DATABASE_PASSWORD"},
	{"server", "keys", C_STATE, F(server.keys), "keys",
	 "folder of signing keys (mode 0700, key files 0600)"},
	{"server", "threads", C_INT, F(server.threads), "0",
	 "HTTP worker threads; 0 for one per CPU core"},
	{"server", "sweep_interval", C_DURATION, F(server.sweep_interval), "60s",
	 "how often expired invitations are marked expired"},
	{"server", "tls_cert", C_PATH, F(server.tls_cert), "",
	 "PEM certificate chain (the server's first): with tls_key, listen serves HTTPS "
	 "only (TLS 1.2 and 1.3); re-read on SIGHUP; empty for plain HTTP"},
	{"server", "tls_key", C_PATH, F(server.tls_key), "",
	 "PEM private key of tls_cert; readable by its owner (and group) only"},
	{"server", "trusted_proxies", C_STR, F(server.trusted_proxies), "",
	 "reverse proxies (addresses and CIDRs, space separated) whose Forwarded, "
	 "X-Forwarded-For and X-Forwarded-Proto name the client; empty: none, the peer is the client"},
	{"server", "client_prefix_v4", C_INT, F(server.client_prefix_v4), "32",
	 "leading bits of an IPv4 address that make one client for rate and connection limits"},
	{"server", "client_prefix_v6", C_INT, F(server.client_prefix_v6), "64",
	 "leading bits of an IPv6 address that make one client (a subscriber's /64 by default)"},

	{"smtp", "host", C_STR, F(outbox.smtp.host), "127.0.0.1", "SMTP server to submit to"},
	{"smtp", "port", C_INT, F(outbox.smtp.port), "25", "its port"},
	{"smtp", "tls", C_SMTP_TLS, F(outbox.smtp.tls), "none",
	 "none, starttls (required, certificate and name verified), or tls (implicit; "
	 "not supported by libesmtp)"},
	{"smtp", "ca_file", C_PATH, F(outbox.smtp.ca_file), "",
	 "PEM file of the CAs to trust for starttls; empty for the system's"},
	{"smtp", "allow_plaintext", C_BOOL, F(outbox.smtp.allow_plaintext), "no",
	 "allow tls = none to a host other than loopback"},
	{"smtp", "user", C_STR, F(outbox.smtp.user), "", "AUTH user; empty for no AUTH"},
	{"smtp", "password", C_SECRET, F(outbox.smtp.password), "",
	 "AUTH password; or password_file = path, or INVITED_SMTP_PASSWORD"},
	{"smtp", "helo", C_STR, F(outbox.smtp.helo), "", "HELO/EHLO name; empty for the host name"},
	{"smtp", "from", C_STR, F(smtp_from), "invitations@example.test",
	 "From address of every mail"},
	{"smtp", "from_name", C_STR, F(smtp_from_name), "Invitations", "From display name"},
	{"smtp", "command_timeout", C_DURATION, F(outbox.smtp.command_timeout), "60s",
	 "timeout for the greeting and each SMTP reply (the TCP connect itself "
	 "uses the system's timeout)"},
	{"smtp", "batch_size", C_INT, F(outbox.batch_size), "100",
	 "messages sent over one SMTP connection"},
	{"smtp", "concurrency", C_INT, F(outbox.concurrency), "2",
	 "SMTP connections in parallel"},
	{"smtp", "retry_base", C_DURATION, F(outbox.retry_base), "30s",
	 "wait before the first retry after a temporary failure (doubles each time)"},
	{"smtp", "retry_cap", C_DURATION, F(outbox.retry_cap), "1h", "longest wait between retries"},
	{"smtp", "lifetime", C_DURATION, F(smtp_lifetime), "3d",
	 "how long a message is retried before it is marked failed"},

	{"imap", "enabled", C_BOOL, F(imap.enabled), "no", "read replies and bounces over IMAP"},
	{"imap", "host", C_STR, F(imap.host), "127.0.0.1", "IMAP server"},
	{"imap", "port", C_INT, F(imap.port), "143", "its port"},
	{"imap", "tls", C_IMAP_TLS, F(imap.tls), "none",
	 "none, starttls, or tls (implicit); certificate and name verified before LOGIN"},
	{"imap", "ca_file", C_PATH, F(imap.ca_file), "",
	 "PEM file of the CAs to trust; empty for the system's"},
	{"imap", "allow_plaintext", C_BOOL, F(imap.allow_plaintext), "no",
	 "allow tls = none to a host other than loopback"},
	{"imap", "user", C_STR, F(imap.user), "", "login"},
	{"imap", "password", C_SECRET, F(imap.password), "",
	 "password; or password_file = path, or INVITED_IMAP_PASSWORD"},
	{"imap", "mailbox", C_STR, F(imap.mailbox), "INBOX", "mailbox to watch"},
	{"imap", "processed", C_STR, F(imap.processed), "Processed",
	 "folder handled messages are moved to"},
	{"imap", "unmatched", C_STR, F(imap.unmatched), "Unmatched",
	 "folder unmatched messages are moved to"},
	{"imap", "poll_interval", C_DURATION, F(imap.poll_interval), "30s",
	 "polling interval when the server offers no IDLE"},
	{"imap", "idle", C_BOOL, F(imap.idle), "yes", "use IDLE when offered"},
	{"imap", "trusted_authserv", C_STR, F(imap.trusted_authserv), "",
	 "authserv-ids whose Authentication-Results headers are trusted (space separated)"},
	{"imap", "trust_relay", C_BOOL, F(imap.trust_relay), "no",
	 "trust the receiving relay: verify replies without DKIM/DMARC proof"},

	{"mail", "reply_domain", C_STR, F(mail.reply_domain), "example.test",
	 "domain of bounces+, reply+ and verify+ addresses; its mail must reach the IMAP mailbox"},
	{"mail", "templates", C_PATH, F(mail.templates), DATADIR "/templates",
	 "template folder (one subfolder per locale)"},
	{"mail", "default_locale", C_STR, F(mail.default_locale), "en",
	 "locale used when none is asked for"},
	{"mail", "keep_sent", C_DURATION, F(mail.keep_sent), "30d",
	 "a sent mail's bytes are dropped this long after it went (its record stays; 0: keep "
	 "them); failed and bounced mail is kept"},
	{"mail", "relay_per_day", C_INT, F(mail.relay_per_day), "5",
	 "replies to one invitation relayed to the inviter in 24 hours (only the invitee's, "
	 "authenticated; 0: none)"},

	{"tokens", "invitation_lifetime", C_DURATION, F(tokens.invitation_lifetime), "30d",
	 "how long an invitation link is valid"},
	{"tokens", "verification_lifetime", C_DURATION, F(tokens.verification_lifetime), "3d",
	 "how long a verification link is valid"},
	{"tokens", "reminder_before", C_DURATION, F(tokens.reminder_before), "3d",
	 "a sent invitation not yet answered is reminded once, this long before it expires "
	 "(0: never); less than invitation_lifetime"},

	{"webhooks", "allow_http", C_BOOL, F(webhooks.allow_http), "no",
	 "let webhook endpoints be plain http:// (else https:// only)"},
	{"webhooks", "allow_private", C_BOOL, F(webhooks.allow_private), "no",
	 "let webhooks reach loopback, private and link-local addresses (else public ones only)"},
	{"webhooks", "timeout", C_DURATION, F(webhooks.timeout), "10s",
	 "how long one delivery attempt may take"},
	{"webhooks", "retry_base", C_DURATION, F(webhooks.retry_base), "30s",
	 "wait before a failed delivery's first retry; doubles each time"},
	{"webhooks", "retry_cap", C_DURATION, F(webhooks.retry_cap), "1h",
	 "longest wait between two attempts (a delivery is retried for 3 days)"},
	{"webhooks", "concurrency", C_INT, F(webhooks.concurrency), "2",
	 "delivery threads, each POSTing one delivery at a time (1 to 16)"},

	{"sessions", "idle", C_DURATION, F(sessions.idle), "8h",
	 "a console session ends this long after it was last used"},
	{"sessions", "lifetime", C_DURATION, F(sessions.lifetime), "7d",
	 "a console session ends this long after sign-in, however it is used"},
	{"sessions", "rate_limit", C_INT, F(sessions.rate_limit), "20",
	 "sign-in requests per client address per hour (0: no limit)"},

	{"invitations", "org_rate_limit", C_INT, F(invitations.org_rate_limit), "1000",
	 "invitations an organization may create, send or resend per hour (0: no limit)"},
	{"invitations", "recipient_rate_limit", C_INT, F(invitations.recipient_rate_limit), "10",
	 "invitation mails (created to send, sent or resent) to one address per hour, "
	 "from all organizations (0: no limit)"},

	{"enrollment", "public_domains", C_PATH, F(enrollment.public_domains),
	 DATADIR "/templates/public-mailbox-domains.txt",
	 "list of public mailbox providers whose addresses cannot be primary contacts"},
	{"enrollment", "rate_limit", C_INT, F(enrollment.rate_limit), "20",
	 "enrollment and resend requests per client address per hour (0: no limit)"},
	{"enrollment", "resend_interval", C_DURATION, F(enrollment.resend_interval), "60s",
	 "least time between two verification mails to one contact"},
	{"enrollment", "recipient_rate_limit", C_INT, F(enrollment.recipient_rate_limit), "5",
	 "verification mails to one address per hour, from all enrollments (0: no limit)"},

	{"dns", "servers", C_STR, F(dns.servers), "",
	 "DNS servers asked for domains' TXT proofs (host:port, comma separated); empty: the "
	 "system's (/etc/resolv.conf)"},
	{"dns", "timeout", C_DURATION, F(dns.timeout), "5s", "how long one TXT lookup may take"},

	{"log", "target", C_STR, F(log.target), "stderr",
	 "where serve logs: stderr (journald's priorities when it is the journal's "
	 "stream) or syslog (facility daemon); commands always write to stderr"},
	{"log", "level", C_STR, F(log.level), "info",
	 "the least level logged: debug, info, warning or error"},
	{"log", "access", C_BOOL, F(log.access), "no",
	 "one line per HTTP request answered: client, method, path (a link's token "
	 "left out), status, bytes, milliseconds"},
};

#define NKEYS (sizeof(keys) / sizeof(keys[0]))

const struct ckey *const config_keys = keys;
const size_t config_nkeys = NKEYS;

int config_parse_duration(const char *s, int64_t *seconds_r)
{
	char *end;
	errno = 0;
	long long v = strtoll(s, &end, 10);
	if (errno != 0 || end == s || v < 0)
		return -1;
	int64_t unit = 1;
	switch (*end) {
	case '\0':
	case 's':
		break;
	case 'm':
		unit = 60;
		break;
	case 'h':
		unit = 3600;
		break;
	case 'd':
		unit = 86400;
		break;
	default:
		return -1;
	}
	if (*end != '\0' && end[1] != '\0')
		return -1;
	if (v > INT64_MAX / unit)
		return -1;
	*seconds_r = v * unit;
	return 0;
}

const char *const config_tls_names[3] = {"none", "starttls", "tls"};

static int parse_tls(const char *v, int *out)
{
	for (int i = 0; i < 3; i++) {
		if (strcmp(v, config_tls_names[i]) == 0) {
			*out = i;
			return 0;
		}
	}
	return -1;
}

/* Directory of the config file, for relative paths. */
static void config_dir(const struct config *cfg, char *dir, size_t size)
{
	const char *slash = strrchr(cfg->path, '/');
	if (cfg->path[0] == '\0' || slash == NULL)
		snprintf(dir, size, ".");
	else
		snprintf(dir, size, "%.*s", (int)(slash - cfg->path), cfg->path);
	if (dir[0] == '\0')
		snprintf(dir, size, "/");
}

/*
 * Where the templates are: <prefix>/share/invited beside the running
 * binary (<prefix>/bin/invited) once installed, else the source tree it
 * was built from (a build used in place).
 */
static void datadir(char *dir, size_t size)
{
	char exe[PATH_MAX], probe[PATH_MAX + 64], real[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n > 0) {
		exe[n] = '\0';
		char *slash = strrchr(exe, '/');
		if (slash != NULL) {
			*slash = '\0';
			snprintf(probe, sizeof(probe), "%s/../share/invited/templates", exe);
			if (access(probe, R_OK | X_OK) == 0 && realpath(probe, real) != NULL) {
				real[strlen(real) - strlen("/templates")] = '\0';
				snprintf(dir, size, "%s", real);
				return;
			}
		}
	}
	snprintf(dir, size, "%s", INVITED_DATADIR);
}

/* A path from the config: relative ones are relative to the file (state
 * beside the system config: to the system state folder); a default's
 * <datadir> is where the templates are. */
static void resolve_path(const struct config *cfg, const struct ckey *k, const char *v,
			 char *out, size_t size)
{
	char dir[PATH_MAX];
	size_t dl = strlen(DATADIR);
	if (strncmp(v, DATADIR "/", dl + 1) == 0) {
		datadir(dir, sizeof(dir));
		snprintf(out, size, "%s%s", dir, v + dl);
		return;
	}
	if (v[0] == '/' || v[0] == '\0' || cfg->path[0] == '\0' || store_is_pg(v)) {
		snprintf(out, size, "%s", v);
		return;
	}
	config_dir(cfg, dir, sizeof(dir));
	if (k->type == C_STATE && strcmp(dir, SYSTEM_CONFIG_DIR) == 0)
		snprintf(dir, sizeof(dir), "%s", SYSTEM_STATE_DIR);
	snprintf(out, size, "%s/%s", dir, v);
}

/* Read a secret from a file: its first line. */
static int read_secret_file(const char *path, char *out, size_t size,
			    const char **error_r)
{
	FILE *fp = fopen(path, "r");
	if (fp == NULL) {
		*error_r = errorf("cannot read %s: %s", path, strerror(errno));
		return -1;
	}
	if (fgets(out, (int)size, fp) == NULL)
		out[0] = '\0';
	fclose(fp);
	out[strcspn(out, "\r\n")] = '\0';
	return 0;
}

/* 1 (with why in *error_r) when n is outside k's range. */
static int out_of_bounds(const struct ckey *k, int64_t n, const char **error_r)
{
	int64_t min, max;
	key_bounds(k, &min, &max);
	if (n >= min && n <= max)
		return 0;
	if (k->type == C_DURATION)
		*error_r = errorf("[%s] %s: %llds is out of range (%llds to %llds)", k->section,
				  k->key, (long long)n, (long long)min, (long long)max);
	else
		*error_r = errorf("[%s] %s: %lld is out of range (%lld to %lld)", k->section,
				  k->key, (long long)n, (long long)min, (long long)max);
	return 1;
}

int config_set_value(struct config *cfg, const struct ckey *k, const char *v,
		     const char **error_r)
{
	char *field = (char *)cfg + k->off;
	int64_t d;
	long long n;
	char *end;

	switch (k->type) {
	case C_STR:
	case C_SECRET:
	case C_PATH:
	case C_STATE:
		if (strlen(v) >= k->size || !text_ok(v, k->size - 1, TEXT_LINE))
			goto bad;
		if (k->type == C_PATH || k->type == C_STATE)
			resolve_path(cfg, k, v, field, k->size);
		else
			snprintf(field, k->size, "%s", v);
		/* inih reads a line of at most CONFIG_LINE_MAX characters and
		 * takes the rest for the next line: a value that would not fit
		 * its line as `invited config` writes it (a relative path made
		 * absolute grows) is refused, not cut (tests/fuzz/fuzz_config). */
		if (strlen(k->key) + 3 + strlen(field) > CONFIG_LINE_MAX) {
			*error_r = errorf("[%s] %s: too long: a config line holds at most %d "
					  "characters, and \"%s = %s\" would not fit",
					  k->section, k->key, CONFIG_LINE_MAX, k->key,
					  k->type == C_SECRET ? "(not shown)" : field);
			return -1;
		}
		return 0;
	case C_INT:
		errno = 0;
		n = strtoll(v, &end, 10);
		if (errno != 0 || end == v || *end != '\0')
			goto bad;
		if (out_of_bounds(k, n, error_r))
			return -1;
		if (k->size == sizeof(size_t))
			*(size_t *)field = (size_t)n;
		else
			*(int *)field = (int)n;
		return 0;
	case C_DURATION:
		if (config_parse_duration(v, &d) < 0)
			goto bad;
		if (out_of_bounds(k, d, error_r))
			return -1;
		if (k->size == sizeof(int))
			*(int *)field = (int)d;
		else
			*(int64_t *)field = d;
		return 0;
	case C_BOOL:
		if (strcmp(v, "yes") == 0 || strcmp(v, "true") == 0 || strcmp(v, "1") == 0)
			*(int *)field = 1;
		else if (strcmp(v, "no") == 0 || strcmp(v, "false") == 0 || strcmp(v, "0") == 0)
			*(int *)field = 0;
		else
			goto bad;
		return 0;
	case C_SMTP_TLS:
	case C_IMAP_TLS:
		if (parse_tls(v, (int *)field) < 0)
			goto bad;
		return 0;
	}
bad:
	if (k->type == C_SECRET) /* never echoed: the mistake may be a real password */
		*error_r = errorf("[%s] %s: invalid value (not shown): it must be one line "
				  "of at most %zu bytes",
				  k->section, k->key, k->size - 1);
	else
		*error_r = errorf("[%s] %s: invalid value \"%s\"", k->section, k->key, v);
	return -1;
}

struct parse_state {
	struct config *cfg;
	const char *error;
	unsigned char seen[NKEYS];   /* 1: key given; 2: its secret from a file */
};

/* inih stops at the first handler returning 0 and returns that line. */
__attribute__((format(printf, 2, 3))) static void config_warn(struct config *cfg,
								const char *fmt, ...)
{
	va_list ap;
	if (cfg->n_warnings < CONFIG_MAX_WARNINGS) {
		va_start(ap, fmt);
		vsnprintf(cfg->warnings[cfg->n_warnings], sizeof(cfg->warnings[0]), fmt, ap);
		va_end(ap);
	}
	cfg->n_warnings++;
}

static int on_ini(void *user, const char *section, const char *name,
		  const char *value)
{
	struct parse_state *ps = user;
	if (ps->error != NULL)
		return 0;
	size_t nlen = strlen(name);
	int is_file = nlen > 5 && strcmp(name + nlen - 5, "_file") == 0;
	for (size_t i = 0; i < NKEYS; i++) {
		const struct ckey *k = &keys[i];
		if (strcmp(k->section, section) != 0)
			continue;
		int from_file = is_file && k->type == C_SECRET && strlen(k->key) == nlen - 5 &&
				strncmp(k->key, name, nlen - 5) == 0;
		if (!from_file && strcmp(k->key, name) != 0)
			continue;
		char *field = (char *)ps->cfg + k->off;
		/* A secret both inline and from a file is a mistake either way
		 * round; the empty line `init` writes yields to the file. */
		if (k->type == C_SECRET && (from_file ? ps->seen[i] == 1 && field[0] != '\0'
						      : ps->seen[i] == 2 && value[0] != '\0')) {
			ps->error = errorf("[%s] %s and %s_file are both set: keep one", section,
					   k->key, k->key);
			return 0;
		}
		if (ps->seen[i] != 0 && !(k->type == C_SECRET && value[0] == '\0'))
			config_warn(ps->cfg, "[%s] %s%s given twice; the last one counts",
				    section, k->key, from_file ? "_file" : "");
		if (from_file) {
			char path[PATH_MAX];
			resolve_path(ps->cfg, k, value, path, sizeof(path));
			read_secret_file(path, field, k->size, &ps->error);
			ps->seen[i] = 2;
			return ps->error == NULL;
		}
		if (k->type == C_SECRET && ps->seen[i] == 2)
			return 1; /* the empty `password =` line: the file's stands */
		ps->seen[i] = 1;
		config_set_value(ps->cfg, k, value, &ps->error);
		return ps->error == NULL;
	}
	ps->error = errorf("unknown key \"%s\" in section [%s]", name, section);
	return 0;
}

/* The variable name that overrides key k (upper case), with suffix. */
static void env_name(const struct ckey *k, const char *suffix, char *name, size_t size)
{
	snprintf(name, size, "INVITED_%s_%s%s", k->section, k->key, suffix);
	for (char *p = name; *p; p++)
		*p = (char)toupper((unsigned char)*p);
}

/* Variables of ours that are not keys: the config file's path, and the
 * slow-statement log (store/db.c). */
static const char *const env_not_keys[] = {"INVITED_CONFIG", "INVITED_SLOW_SQL_MS", NULL};

/* An INVITED_* variable that names no key is most likely a typo that
 * would otherwise go unnoticed (INVITED_SMTP_PROT=587). */
static void warn_unknown_env(struct config *cfg)
{
	extern char **environ;
	for (char **e = environ; *e != NULL; e++) {
		const char *eq = strchr(*e, '=');
		size_t len = eq ? (size_t)(eq - *e) : strlen(*e);
		int known = strncmp(*e, "INVITED_", 8) != 0;
		for (const char *const *n = env_not_keys; *n && !known; n++)
			known = strlen(*n) == len && strncmp(*n, *e, len) == 0;
		for (size_t i = 0; i < NKEYS && !known; i++) {
			char name[128];
			env_name(&keys[i], keys[i].type == C_SECRET && len > 5 &&
						   strncmp(*e + len - 5, "_FILE", 5) == 0
					       ? "_FILE"
					       : "",
				 name, sizeof(name));
			known = strlen(name) == len && strncmp(name, *e, len) == 0;
		}
		if (!known)
			config_warn(cfg, "the environment variable %.*s names no setting "
					 "(INVITED_<SECTION>_<KEY>, see invited.conf(5)); ignored",
				    (int)(len > 64 ? 64 : len), *e);
	}
}

/* INVITED_<SECTION>_<KEY> overrides, and INVITED_<SECTION>_<KEY>_FILE for secrets. */
static int apply_env(struct config *cfg, const char **error_r)
{
	warn_unknown_env(cfg);
	for (size_t i = 0; i < NKEYS; i++) {
		char name[128];
		env_name(&keys[i], "", name, sizeof(name));
		const char *v = getenv(name);
		if (v != NULL && config_set_value(cfg, &keys[i], v, error_r) < 0) {
			*error_r = errorf("%s: %s", name, *error_r);
			return -1;
		}
		if (keys[i].type != C_SECRET)
			continue;
		strncat(name, "_FILE", sizeof(name) - strlen(name) - 1);
		if ((v = getenv(name)) != NULL &&
		    read_secret_file(v, (char *)cfg + keys[i].off, keys[i].size, error_r) < 0)
			return -1;
	}
	return 0;
}

/*
 * What store_open gets: the database, and for PostgreSQL its password as
 * a parameter of the URL. The password is never in [server] database
 * itself, which is logged and shown: a URL that carries one is refused.
 */
static int database_conn(struct config *cfg, const char **error_r)
{
	const char *db = cfg->server.database;
	size_t n = (size_t)snprintf(cfg->server.database_conn, sizeof(cfg->server.database_conn),
				    "%s", db);
	if (!store_is_pg(db))
		return 0;
	if (store_url_has_password(db)) {
		*error_r = "[server] database: the URL carries a password (or cannot be read as "
			   "a URL), and the URL is logged: give the password as database_password "
			   "(or database_password_file, or INVITED_SERVER_DATABASE_PASSWORD)";
		return -1;
	}
	const char *pw = cfg->server.database_password;
	if (pw[0] == '\0')
		return 0;
	n += (size_t)snprintf(cfg->server.database_conn + n, sizeof(cfg->server.database_conn) - n,
			      "%spassword=", strchr(db, '?') ? "&" : "?");
	for (const unsigned char *p = (const unsigned char *)pw; *p != '\0'; p++)
		if (isalnum(*p) || strchr("-._~", *p) != NULL)
			n += (size_t)snprintf(cfg->server.database_conn + n,
					      sizeof(cfg->server.database_conn) - n, "%c", *p);
		else
			n += (size_t)snprintf(cfg->server.database_conn + n,
					      sizeof(cfg->server.database_conn) - n, "%%%02X", *p);
	return 0;
}

int config_validate(struct config *cfg, const char **error_r)
{
	size_t n = strlen(cfg->server.public_url);
	while (n > 0 && cfg->server.public_url[n - 1] == '/')
		cfg->server.public_url[--n] = '\0';
	if (strncmp(cfg->server.public_url, "http://", 7) != 0 &&
	    strncmp(cfg->server.public_url, "https://", 8) != 0) {
		*error_r = "[server] public_url must start with http:// or https://";
		return -1;
	}
	if (strpbrk(cfg->server.public_url, "\"\\<> '") != NULL) {
		*error_r = "[server] public_url must not contain quotes, spaces, < or >";
		return -1;
	}
	if ((cfg->server.tls_cert[0] == '\0') != (cfg->server.tls_key[0] == '\0')) {
		*error_r = "[server] tls_cert and tls_key go together: give both, or neither";
		return -1;
	}
	if (proxy_list_parse(cfg->server.trusted_proxies, &cfg->server.proxies, error_r) < 0)
		return -1;
	if (database_conn(cfg, error_r) < 0)
		return -1;
	if (strrchr(cfg->server.listen, ':') == NULL) {
		*error_r = "[server] listen must be host:port";
		return -1;
	}
	if (!mime_addr_valid(cfg->smtp_from)) {
		*error_r = "[smtp] from is not a valid address";
		return -1;
	}
	char probe[MAX_EMAIL_LEN + 64];
	snprintf(probe, sizeof(probe), "bounces+abcdefghijklmnopqrst@%s", cfg->mail.reply_domain);
	if (!mime_addr_valid(probe)) {
		*error_r = "[mail] reply_domain is not a valid domain";
		return -1;
	}
	ascii_lower(cfg->mail.reply_domain);
	if (cfg->outbox.batch_size < 1 || cfg->outbox.concurrency < 1) {
		*error_r = "[smtp] batch_size and concurrency must be at least 1";
		return -1;
	}
	if (cfg->sessions.idle < 60 || cfg->sessions.lifetime < cfg->sessions.idle) {
		*error_r = "[sessions] idle must be at least 60s, and lifetime at least idle";
		return -1;
	}
	if (cfg->tokens.invitation_lifetime < 60 || cfg->tokens.verification_lifetime < 60) {
		*error_r = "[tokens] lifetimes must be at least 60s";
		return -1;
	}
	if (cfg->webhooks.timeout < 1 || cfg->webhooks.retry_base < 1 ||
	    cfg->webhooks.retry_cap < cfg->webhooks.retry_base || cfg->webhooks.concurrency < 1 ||
	    cfg->webhooks.concurrency > WEBHOOK_MAX_THREADS) {
		*error_r = "[webhooks] timeout and retry_base must be at least 1s, retry_cap at "
			   "least retry_base, and concurrency 1 to 16";
		return -1;
	}
	if (cfg->tokens.reminder_before >= cfg->tokens.invitation_lifetime) {
		*error_r = "[tokens] reminder_before must be less than invitation_lifetime (0 for "
			   "no reminders): the reminder would go out with the invitation";
		return -1;
	}
	if (cfg->imap.enabled && cfg->imap.user[0] == '\0') {
		*error_r = "[imap] enabled needs a user (and its password)";
		return -1;
	}
	if (cfg->imap.enabled && (strcmp(cfg->imap.processed, cfg->imap.mailbox) == 0 ||
				  strcmp(cfg->imap.unmatched, cfg->imap.mailbox) == 0)) {
		*error_r = "[imap] processed and unmatched must be folders other than mailbox";
		return -1;
	}
	if (strcmp(cfg->log.target, "stderr") != 0 && strcmp(cfg->log.target, "syslog") != 0) {
		*error_r = "[log] target must be stderr or syslog";
		return -1;
	}
	if (msg_level_parse(cfg->log.level) < 0) {
		*error_r = "[log] level must be debug, info, warning or error";
		return -1;
	}
	if (cfg->imap.poll_interval < 1) {
		*error_r = "[imap] poll_interval must be at least 1s";
		return -1;
	}
	if (imap_config_check(&cfg->imap, error_r) < 0)
		return -1;
	const char *warning = NULL;
	if (smtp_config_check(&cfg->outbox.smtp, &warning, error_r) < 0)
		return -1;
	if (warning != NULL)
		config_warn(cfg, "%s", warning);
	return 0;
}

int config_load(const char *path, struct config *cfg, const char **error_r)
{
	memset(cfg, 0, sizeof(*cfg));
	for (size_t i = 0; i < NKEYS; i++)
		if (config_set_value(cfg, &keys[i], keys[i].def, error_r) < 0)
			msg_panic("config: bad default for %s", keys[i].key);
	if (path != NULL) {
		if (realpath(path, cfg->path) == NULL) {
			*error_r = errorf("cannot read %s: %s", path, strerror(errno));
			return -1;
		}
		/* Defaults that are relative paths are relative to the file. */
		for (size_t i = 0; i < NKEYS; i++)
			if (keys[i].type == C_PATH || keys[i].type == C_STATE)
				config_set_value(cfg, &keys[i], keys[i].def, error_r);
		struct parse_state ps = {cfg, NULL, {0}};
		int rc = ini_parse(cfg->path, on_ini, &ps);
		if (rc < 0) {
			*error_r = errorf("cannot read %s", path);
			return -1;
		}
		if (ps.error != NULL || rc > 0) {
			*error_r = errorf("%s:%d: %s", path, rc,
					  ps.error ? ps.error : "syntax error");
			return -1;
		}
	}
	if (apply_env(cfg, error_r) < 0)
		return -1;
	return config_validate(cfg, error_r);
}

int config_defaults(const char *path, struct config *cfg, const char **error_r)
{
	memset(cfg, 0, sizeof(*cfg));
	if (path[0] == '/') {
		snprintf(cfg->path, sizeof(cfg->path), "%s", path);
	} else {
		char cwd[PATH_MAX];
		if (getcwd(cwd, sizeof(cwd)) == NULL) {
			*error_r = errorf("getcwd: %s", strerror(errno));
			return -1;
		}
		snprintf(cfg->path, sizeof(cfg->path), "%s/%s", cwd, path);
	}
	/* "/x/./invited.conf" → "/x/invited.conf": the paths init writes from
	 * it are compared with the defaults by `config -n`. */
	for (char *dot; (dot = strstr(cfg->path, "/./")) != NULL;)
		memmove(dot, dot + 2, strlen(dot + 2) + 1);
	for (size_t i = 0; i < NKEYS; i++)
		if (config_set_value(cfg, &keys[i], keys[i].def, error_r) < 0)
			msg_panic("config: bad default for %s", keys[i].key);
	return apply_env(cfg, error_r);
}

int config_set(struct config *cfg, const char *name, const char *value,
	       const char **error_r)
{
	const char *dot = strchr(name, '.');
	for (size_t i = 0; dot != NULL && i < NKEYS; i++)
		if (strlen(keys[i].section) == (size_t)(dot - name) &&
		    strncmp(keys[i].section, name, (size_t)(dot - name)) == 0 &&
		    strcmp(keys[i].key, dot + 1) == 0)
			return config_set_value(cfg, &keys[i], value, error_r);
	*error_r = errorf("unknown setting \"%s\" (use section.key)", name);
	return -1;
}
