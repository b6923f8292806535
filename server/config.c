/*
 * config.c: reading invited.conf. One table (config_keys.c) lists every
 * key with its type, default and documentation; loading, environment
 * overrides and the commented file `invited init` writes all come from
 * it (the writers are in config_write.c).
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

static void key_bounds(const struct ckey *k, int64_t *min_r, int64_t *max_r)
{
	const struct bound *b = config_bound_of(k);
	*min_r = b != NULL ? b->min : 0;
	*max_r = b != NULL ? b->max : k->type == C_DURATION ? (int64_t)3660 * 86400 : 1000000;
}

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
		/* `key =;x` reads as ";x", but `key = ;x`, as it is written
		 * back, as a comment (tests/fuzz/fuzz_config): refused. */
		if (v[0] == ';') {
			*error_r = errorf("[%s] %s: a value may not begin with \";\" (written "
					  "back, it would read as a comment)",
					  k->section, k->key);
			return -1;
		}
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
	unsigned char seen[CONFIG_KEYS_MAX];   /* 1: key given; 2: its secret from a file */
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
	for (size_t i = 0; i < config_nkeys; i++) {
		const struct ckey *k = &config_keys[i];
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
		for (size_t i = 0; i < config_nkeys && !known; i++) {
			char name[128];
			env_name(&config_keys[i], config_keys[i].type == C_SECRET && len > 5 &&
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
	for (size_t i = 0; i < config_nkeys; i++) {
		const struct ckey *k = &config_keys[i];
		char name[128];
		env_name(k, "", name, sizeof(name));
		const char *v = getenv(name);
		if (v != NULL && config_set_value(cfg, k, v, error_r) < 0) {
			*error_r = errorf("%s: %s", name, *error_r);
			return -1;
		}
		if (k->type != C_SECRET)
			continue;
		strncat(name, "_FILE", sizeof(name) - strlen(name) - 1);
		if ((v = getenv(name)) != NULL &&
		    read_secret_file(v, (char *)cfg + k->off, k->size, error_r) < 0)
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
	for (size_t i = 0; i < config_nkeys; i++)
		if (config_set_value(cfg, &config_keys[i], config_keys[i].def, error_r) < 0)
			msg_panic("config: bad default for %s", config_keys[i].key);
	if (path != NULL) {
		if (realpath(path, cfg->path) == NULL) {
			*error_r = errorf("cannot read %s: %s", path, strerror(errno));
			return -1;
		}
		/* Defaults that are relative paths are relative to the file. */
		for (size_t i = 0; i < config_nkeys; i++)
			if (config_keys[i].type == C_PATH || config_keys[i].type == C_STATE)
				config_set_value(cfg, &config_keys[i], config_keys[i].def, error_r);
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
	for (size_t i = 0; i < config_nkeys; i++)
		if (config_set_value(cfg, &config_keys[i], config_keys[i].def, error_r) < 0)
			msg_panic("config: bad default for %s", config_keys[i].key);
	return apply_env(cfg, error_r);
}

int config_set(struct config *cfg, const char *name, const char *value,
	       const char **error_r)
{
	const char *dot = strchr(name, '.');
	for (size_t i = 0; dot != NULL && i < config_nkeys; i++)
		if (strlen(config_keys[i].section) == (size_t)(dot - name) &&
		    strncmp(config_keys[i].section, name, (size_t)(dot - name)) == 0 &&
		    strcmp(config_keys[i].key, dot + 1) == 0)
			return config_set_value(cfg, &config_keys[i], value, error_r);
	*error_r = errorf("unknown setting \"%s\" (use section.key)", name);
	return -1;
}
