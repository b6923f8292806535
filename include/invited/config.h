/*
 * config.h: invited.conf, an INI file read with inih. Every key has a
 * documented default; any key can be overridden by the environment
 * variable INVITED_<SECTION>_<KEY>; passwords may come from a file
 * (<key>_file). Relative paths are relative to the config file's folder.
 */
#ifndef INVITED_CONFIG_H
#define INVITED_CONFIG_H

#include <limits.h>
#include <stdint.h>
#include <stdio.h>

#include "imap_reader.h"
#include "limits.h"
#include "outbox.h"
#include "proxy.h"
#include "webhook.h"

#define CONFIG_MAX_WARNINGS 8 /* more are counted, not kept */

struct config {
	char path[PATH_MAX];
	/* What loading noticed but did not refuse (a key given twice, an
	 * INVITED_* variable that names no key): `serve` logs each once at
	 * start, `config check` lists them, the other commands keep quiet. */
	int n_warnings;
	char warnings[CONFIG_MAX_WARNINGS][200];
	struct {
		char listen[128];          /* host:port */
		char public_url[MAX_URL_LEN + 1];
		char database[PATH_MAX];   /* an SQLite file, or a postgresql:// URL
					    * without a password (it is shown) */
		char database_password[256]; /* PostgreSQL's, never shown */
		char database_conn[PATH_MAX + 800]; /* database with its password:
						     * what store_open gets */
		char keys[PATH_MAX];
		int threads;               /* HTTP worker threads; 0: one per core */
		int64_t sweep_interval;    /* seconds between expiry sweeps */
		char tls_cert[PATH_MAX];   /* PEM chain; with tls_key: serve HTTPS */
		char tls_key[PATH_MAX];    /* PEM private key (0600 or 0640) */
		char trusted_proxies[192]; /* as written; parsed into proxies */
		struct proxy_list proxies;
		int client_prefix_v4;      /* bits of an address that are one client */
		int client_prefix_v6;
	} server;
	struct outbox_config outbox;   /* [smtp] */
	struct webhook_config webhooks; /* [webhooks] */
	char smtp_from[MAX_EMAIL_LEN + 1];
	char smtp_from_name[MAX_NAME_LEN + 1];
	int64_t smtp_lifetime;         /* seconds before a queued mail fails */
	struct imap_config imap;
	struct {
		char reply_domain[MAX_REPLY_DOMAIN_LEN + 1];
		char templates[PATH_MAX];
		char default_locale[MAX_LOCALE_LEN + 1];
		int64_t keep_sent;  /* seconds a sent mail's bytes are kept; 0: always */
		int relay_per_day;  /* replies to one invitation relayed in 24 hours */
	} mail;
	struct {
		int64_t invitation_lifetime;
		int64_t verification_lifetime;
		int64_t reminder_before; /* 0: no reminders */
	} tokens;
	struct {
		int64_t idle;      /* a session ends this long after its last use */
		int64_t lifetime;  /* and this long after sign-in, whatever its use */
		int rate_limit;    /* sign-in requests per client address per hour */
	} sessions;
	struct {
		int org_rate_limit;        /* invitation mails per organization per hour */
		int recipient_rate_limit;  /* invitation mails per recipient address per hour */
	} invitations;
	struct {
		char public_domains[PATH_MAX]; /* public mailbox provider list */
		int rate_limit;            /* enrollment requests per client per hour */
		int64_t resend_interval;   /* least seconds between verification mails */
		int recipient_rate_limit;  /* verification mails per address per hour */
	} enrollment;
	struct {
		char servers[192];  /* host:port,...; "": the system's resolvers */
		int64_t timeout;    /* seconds one TXT lookup may take */
	} dns;
	struct {
		char target[16];  /* stderr or syslog (serve only; commands write to stderr) */
		char level[16];   /* debug, info, warning, error */
		int access;       /* one line per HTTP request answered */
	} log;
};

/* Defaults, then the file (if path is not NULL), then the environment,
 * then checks. */
int config_load(const char *path, struct config *cfg, const char **error_r);

/* Defaults only, with relative paths taken relative to the folder of path
 * (a file that need not exist yet), then the environment. For `init`. */
int config_defaults(const char *path, struct config *cfg, const char **error_r);
/* Set "section.key" to value, as if read from the file. */
int config_set(struct config *cfg, const char *name, const char *value,
	       const char **error_r);
/* The checks config_load ends with. */
int config_validate(struct config *cfg, const char **error_r);

/* Write a complete, commented config file: every key with its doc and
 * either the value given in cfg or its default. */
int config_write(FILE *out, const struct config *cfg);

/* Every key as a Markdown table (docs/config.md holds its output). */
int config_doc(FILE *out);

/* invited.conf(5) in roff, from the same table. */
int config_man(FILE *out);

/* Only the keys whose value differs from its default (`config -n`);
 * secrets as "(set)". */
int config_write_changed(FILE *out, const struct config *cfg);

/* What loading cannot see: folders and files the config names exist with
 * the right modes, the listen address parses. Prints each problem to out;
 * returns how many. */
int config_check(const struct config *cfg, FILE *out);

/* Parse "30d", "12h", "15m", "45s" or plain seconds. */
int config_parse_duration(const char *s, int64_t *seconds_r);

#endif
