/*
 * config_keys.c: every key invited.conf may hold, with its type, default,
 * range and documentation. config.c reads by this table; config_write.c
 * writes the commented file, `config -n`, docs/config.md and
 * invited.conf(5) from it.
 */
#include <stddef.h>
#include <string.h>

#include "invited/config.h"
#include "config_int.h"
#include "invited/mime.h"
#include "invited/store.h"

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
_Static_assert(NKEYS <= CONFIG_KEYS_MAX, "raise CONFIG_KEYS_MAX");

const struct ckey *const config_keys = keys;
const size_t config_nkeys = NKEYS;
