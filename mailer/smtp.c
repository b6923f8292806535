/*
 * smtp.c: submitting a batch of messages over one SMTP session with
 * libesmtp, which pipelines when the server offers PIPELINING, and
 * reading back each message's fate: the MAIL, RCPT and DATA replies.
 */
#include <stdarg.h>
#include <stddef.h>

#include <arpa/inet.h>
#include <auth-client.h>
#include <dirent.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <libesmtp.h> /* after openssl/ssl.h: declares smtp_starttls_set_ctx */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#include "invited/host.h"
#include "invited/log.h"
#include "invited/smtp.h"

/* What the message callback hands libesmtp: the whole message, once. */
struct feed {
	const char *data;
	size_t len;
	int done;
};

static const char *message_cb(void **ctx, int *len, void *arg)
{
	struct feed *f = arg;
	(void)ctx;
	if (len == NULL) { /* rewind */
		f->done = 0;
		return NULL;
	}
	if (f->done) {
		*len = 0;
		return NULL;
	}
	f->done = 1;
	*len = (int)f->len;
	return f->data;
}

struct auth_creds {
	const char *user;
	const char *password;
};

static int auth_interact(auth_client_request_t request, char **result, int fields,
			 void *arg)
{
	struct auth_creds *c = arg;
	for (int i = 0; i < fields; i++) {
		if (request[i].flags & AUTH_USER)
			result[i] = (char *)c->user;
		else if (request[i].flags & AUTH_PASS)
			result[i] = (char *)c->password;
		else
			return 0;
	}
	return 1;
}

/*
 * What one session saw. libesmtp does not report a refused AUTH (it goes
 * on without it, and the server then refuses the recipients, which would
 * read as a permanent failure of each message) nor a refused STARTTLS
 * (it just quits). The protocol monitor sees the exchange, so it notes
 * whether the server offered AUTH and what it answered to our AUTH and
 * STARTTLS; the event callback notes why TLS was not good enough.
 */
struct session_watch {
	int port;                /* the server's, for TCP_NODELAY */
	int auth_sent;           /* our AUTH command went out */
	int auth_offered;        /* an EHLO line named AUTH */
	int tls_sent;            /* our STARTTLS went out */
	char auth_refusal[256];
	char tls_refusal[300];
};

static void first_refusal(char *out, size_t size, const char *buf, int len)
{
	if (out[0] == '\0' && (buf[0] == '4' || buf[0] == '5') && buf[3] == ' ') {
		snprintf(out, size, "%.*s", len, buf);
		out[strcspn(out, "\r\n")] = '\0';
	}
}

static void monitor_cb(const char *buf, int len, int writing, void *arg)
{
	struct session_watch *w = arg;
	if (len < 4)
		return;
	if (writing == SMTP_CB_WRITING) {
		if (strncasecmp(buf, "AUTH ", 5) == 0)
			w->auth_sent = 1;
		if (strncasecmp(buf, "STARTTLS", 8) == 0)
			w->tls_sent = 1;
		return;
	}
	if (writing != SMTP_CB_READING)
		return;
	if (len > 8 && buf[0] == '2' && strncasecmp(buf + 4, "AUTH", 4) == 0)
		w->auth_offered = 1;
	if (w->auth_sent)
		first_refusal(w->auth_refusal, sizeof(w->auth_refusal), buf, len);
	if (w->tls_sent && w->tls_refusal[0] == '\0' && (buf[0] == '4' || buf[0] == '5')) {
		char said[200] = "";
		first_refusal(said, sizeof(said), buf, len);
		snprintf(w->tls_refusal, sizeof(w->tls_refusal),
			 "the SMTP server refused STARTTLS (%s); nothing was sent", said);
	}
	if (buf[0] == '2' && buf[1] == '2' && buf[2] == '0')
		w->tls_sent = 0; /* 220: ready to start TLS */
	if (buf[0] == '2' && buf[1] == '3' && buf[2] == '5')
		w->auth_sent = 0; /* 235: authenticated; later replies are not AUTH's */
}

/* A configured AUTH that did not happen: every message not accepted waits
 * for a retry, with the server's own words, never as a recipient's fault. */
static void blame_auth(const struct session_watch *w, const char *user, struct smtp_item *items,
		       size_t n, const char **error_r)
{
	const char *why = w->auth_refusal[0] ? errorf("AUTH as %s refused: %s", user,
						      w->auth_refusal)
			  : !w->auth_offered ? "the SMTP server offers no AUTH; the message waits"
					  " (check [smtp] port and tls)"
					: NULL;
	if (why == NULL)
		return;
	msg_warn("smtp: %s", why);
	*error_r = why;
	for (size_t i = 0; i < n; i++) {
		if (items[i].outcome == SMTP_SENT)
			continue;
		snprintf(items[i].reply, sizeof(items[i].reply), "%s", why);
		items[i].code = 0;
		items[i].outcome = SMTP_TEMPFAIL;
	}
}

/* What a session's TLS context carries for its callbacks. */
struct tls_link {
	const char *host;
	struct session_watch *watch; /* NULL: a context only checked, never used */
};

/* Server Name Indication, set on each connection before its ClientHello:
 * libesmtp makes the SSL itself and offers no hook of its own. */
static void sni_cb(const SSL *ssl, int where, int ret)
{
	(void)ret;
	if (!(where & SSL_CB_HANDSHAKE_START) || SSL_is_server(ssl))
		return;
	const struct tls_link *l = SSL_CTX_get_app_data(SSL_get_SSL_CTX(ssl));
	if (l != NULL && !host_is_address(l->host))
		SSL_set_tlsext_host_name((SSL *)ssl, l->host);
}

/* A chain or name that does not verify ends the handshake itself, so that
 * libesmtp has nothing left to say to that server; the first reason is
 * kept for the outbox and the log. */
static int verify_cb(int ok, X509_STORE_CTX *x)
{
	if (ok)
		return 1;
	SSL *ssl = X509_STORE_CTX_get_ex_data(x, SSL_get_ex_data_X509_STORE_CTX_idx());
	const struct tls_link *l = ssl ? SSL_CTX_get_app_data(SSL_get_SSL_CTX(ssl)) : NULL;
	if (l != NULL && l->watch != NULL && l->watch->tls_refusal[0] == '\0')
		snprintf(l->watch->tls_refusal, sizeof(l->watch->tls_refusal),
			 "the SMTP server's certificate does not verify (%s); nothing was sent",
			 X509_verify_cert_error_string(X509_STORE_CTX_get_error(x)));
	return 0;
}

/*
 * The context a STARTTLS session uses: TLS 1.2, the system's CAs
 * or cfg->ca_file, and the configured host name (or address) as the name
 * the certificate must carry. OpenSSL checks chain and name in one, during
 * the handshake (verify_cb); libesmtp's own later checks go through the
 * event callback (on_event), which lets none of them pass but its
 * DNS-only name match, which OpenSSL's check replaces.
 */
static SSL_CTX *tls_context(const struct smtp_config *cfg, struct tls_link *link,
			    const char **error_r)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
	if (ctx == NULL) {
		*error_r = "smtp: cannot make a TLS context";
		return NULL;
	}
	/* TLS 1.2 only: after a TLS 1.3 handshake the server sends its session
	 * tickets, and libesmtp 1.1's loop, finding the socket readable before
	 * it has flushed EHLO, waits in SSL_read for a reply to a command it
	 * never sent (seen here: the session hung until its timeout). TLS 1.2
	 * sends nothing after the handshake; every submission server has it. */
	SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
	SSL_CTX_set_max_proto_version(ctx, TLS1_2_VERSION);
	int loaded = cfg->ca_file[0] ? SSL_CTX_load_verify_locations(ctx, cfg->ca_file, NULL)
				     : SSL_CTX_set_default_verify_paths(ctx);
	X509_VERIFY_PARAM *param = SSL_CTX_get0_param(ctx);
	X509_VERIFY_PARAM_set_hostflags(param, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
	int named = host_is_address(cfg->host) ? X509_VERIFY_PARAM_set1_ip_asc(param, cfg->host)
					  : X509_VERIFY_PARAM_set1_host(param, cfg->host, 0);
	if (loaded != 1 || named != 1) {
		*error_r = loaded != 1 ? errorf("[smtp] ca_file %s: no certificates could be read "
						"from it", cfg->ca_file)
				       : errorf("[smtp] host %s: not a name a certificate can carry",
						cfg->host);
		SSL_CTX_free(ctx);
		ERR_clear_error();
		return NULL;
	}
	SSL_CTX_set_app_data(ctx, link);
	SSL_CTX_set_info_callback(ctx, sni_cb);
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, verify_cb);
	return ctx;
}

static pthread_once_t auth_once = PTHREAD_ONCE_INIT;

static void auth_init(void)
{
	auth_client_init();
}

int smtp_config_check(const struct smtp_config *cfg, const char **warning_r,
		      const char **error_r)
{
	*warning_r = NULL;
	if (cfg->tls == SMTP_TLS_IMPLICIT) {
		*error_r = "[smtp] tls = tls (implicit TLS, port 465) is not supported by "
			   "libesmtp: use tls = starttls on port 587 (every large provider "
			   "offers it), or relay through a local Postfix with "
			   "smtp_tls_wrappermode = yes (docs/config.md)";
		return -1;
	}
	if (cfg->host[0] == '\0' || cfg->port <= 0 || cfg->port > 65535) {
		*error_r = "[smtp] host and port are required";
		return -1;
	}
	if (strchr(cfg->host, ':') != NULL) {
		*error_r = "[smtp] host: libesmtp cannot take an IPv6 address (it reads "
			   "host:port); use a name that resolves to it, e.g. localhost for ::1";
		return -1;
	}
	if (cfg->tls == SMTP_TLS_NONE && !cfg->allow_plaintext && !host_is_loopback(cfg->host)) {
		*error_r = errorf("[smtp] tls = none to %s would send every mail%s in the clear "
				  "across the network: use tls = starttls, or set "
				  "allow_plaintext = yes", cfg->host,
				  cfg->user[0] ? " and the AUTH password" : "");
		return -1;
	}
	if (cfg->tls == SMTP_TLS_STARTTLS) {
		SSL_CTX *ctx = tls_context(cfg, NULL, error_r);
		if (ctx == NULL)
			return -1;
		SSL_CTX_free(ctx);
	}
	*warning_r = cfg->user[0] != '\0' && cfg->tls == SMTP_TLS_NONE
			     ? "[smtp] AUTH without TLS sends the password in the clear"
			     : NULL;
	return 0;
}

/* Copy a reply, without its line ends. */
static void set_reply(struct smtp_item *it, int code, const char *text)
{
	it->code = code;
	snprintf(it->reply, sizeof(it->reply), "%s", text ? text : "");
	it->reply[strcspn(it->reply, "\r\n")] = '\0';
}

static enum smtp_outcome outcome_of(int code)
{
	if (code >= 200 && code < 300)
		return SMTP_SENT;
	if (code >= 500 && code < 600)
		return SMTP_PERMFAIL;
	return SMTP_TEMPFAIL;
}

/* The first failing reply of MAIL, RCPT, DATA decides; else DATA's. */
static void read_status(struct smtp_item *it, smtp_message_t msg, smtp_recipient_t rcpt,
			const char *session_error)
{
	const smtp_status_t *s[3] = {smtp_reverse_path_status(msg), smtp_recipient_status(rcpt),
				     smtp_message_transfer_status(msg)};
	for (int i = 0; i < 3; i++) {
		if (s[i] == NULL || s[i]->code == 0)
			continue;
		if (i == 2 || s[i]->code < 200 || s[i]->code >= 300) {
			set_reply(it, s[i]->code, s[i]->text);
			it->outcome = outcome_of(s[i]->code);
			return;
		}
	}
	/* No reply at all: the session broke before this message. */
	set_reply(it, 0, session_error ? session_error : "no reply from the SMTP server");
	it->outcome = SMTP_TEMPFAIL;
}

static void set_timeouts(smtp_session_t session, int seconds)
{
	long t = (seconds > 0 ? seconds : 60) | Timeout_OVERRIDE_RFC2822_MINIMUM;
	smtp_set_timeout(session, Timeout_GREETING, t);
	smtp_set_timeout(session, Timeout_ENVELOPE, t);
	smtp_set_timeout(session, Timeout_DATA, t);
	smtp_set_timeout(session, Timeout_TRANSFER, t);
	smtp_set_timeout(session, Timeout_DATA2, t);
}

static int peer_port(const struct sockaddr_storage *sa)
{
	if (sa->ss_family == AF_INET)
		return ntohs(((const struct sockaddr_in *)sa)->sin_port);
	if (sa->ss_family == AF_INET6)
		return ntohs(((const struct sockaddr_in6 *)sa)->sin6_port);
	return -1;
}

/*
 * libesmtp writes a message in 2 KiB pieces and keeps its socket to
 * itself. With Nagle's algorithm each piece after the first waits until
 * the server acknowledges the one before, and a server reading DATA
 * delays that ACK (40 ms on Linux): one message per 40 ms per connection.
 * So once libesmtp has connected, TCP_NODELAY goes on our sockets whose
 * peer has the server's port: the new one, and any other sender's, which
 * wants it as well.
 */
static void no_delay_to_port(int port)
{
	DIR *dir = opendir("/proc/self/fd");
	struct dirent *e;
	if (dir == NULL)
		return;
	while ((e = readdir(dir)) != NULL) {
		struct sockaddr_storage peer;
		socklen_t len = sizeof(peer);
		int fd = atoi(e->d_name), one = 1;
		if (e->d_name[0] == '.' || fd == dirfd(dir) ||
		    getpeername(fd, (struct sockaddr *)&peer, &len) < 0 || peer_port(&peer) != port)
			continue;
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	}
	closedir(dir);
}

static void on_event(smtp_session_t session, int event, void *arg, ...)
{
	struct session_watch *w = arg;
	va_list ap;
	(void)session;
	va_start(ap, arg);
	switch (event) {
	case SMTP_EV_CONNECT:
		no_delay_to_port(w->port);
		break;
	case SMTP_EV_EXTNA_STARTTLS:
		snprintf(w->tls_refusal, sizeof(w->tls_refusal),
			 "the SMTP server does not offer STARTTLS, which [smtp] tls = starttls "
			 "requires; nothing was sent");
		break;
	case SMTP_EV_INVALID_PEER_CERTIFICATE: {
		long result = va_arg(ap, long);
		int *ok = va_arg(ap, int *);
		*ok = 0;
		snprintf(w->tls_refusal, sizeof(w->tls_refusal),
			 "the SMTP server's certificate does not verify (%s); nothing was sent",
			 X509_verify_cert_error_string(result));
		break;
	}
	case SMTP_EV_WRONG_PEER_CERTIFICATE: {
		/* libesmtp's own name check knows DNS names only; OpenSSL has
		 * already checked the name or address (tls_context), and this
		 * event comes only after its check passed. */
		int *ok = va_arg(ap, int *);
		*ok = w->tls_refusal[0] == '\0';
		break;
	}
	case SMTP_EV_NO_PEER_CERTIFICATE:
	case SMTP_EV_WEAK_CIPHER:
		if (event == SMTP_EV_WEAK_CIPHER)
			(void)va_arg(ap, int);
		*va_arg(ap, int *) = 0;
		snprintf(w->tls_refusal, sizeof(w->tls_refusal),
			 "the SMTP server's TLS is %s; nothing was sent",
			 event == SMTP_EV_WEAK_CIPHER ? "too weak" : "without a certificate");
		break;
	default:
		break;
	}
	va_end(ap);
}

int smtp_send_batch(const struct smtp_config *cfg, struct smtp_item *items, size_t n,
		    const char **error_r)
{
	char server[300], errbuf[256];
	struct auth_creds creds = {cfg->user, cfg->password};
	struct session_watch sw = {.port = cfg->port};
	struct tls_link link = {cfg->host, &sw};
	auth_context_t auth = NULL;
	SSL_CTX *tls = NULL;
	int ret = 0;

	smtp_session_t session = smtp_create_session();
	struct feed *feeds = calloc(n, sizeof(*feeds));
	smtp_message_t *msgs = calloc(n, sizeof(*msgs));
	smtp_recipient_t *rcpts = calloc(n, sizeof(*rcpts));
	if (session == NULL || feeds == NULL || msgs == NULL || rcpts == NULL) {
		*error_r = "smtp: out of memory";
		ret = -1;
		for (size_t i = 0; i < n; i++)
			set_reply(&items[i], 0, *error_r), items[i].outcome = SMTP_TEMPFAIL;
		goto out;
	}
	snprintf(server, sizeof(server), "%s:%d", cfg->host, cfg->port);
	smtp_set_server(session, server);
	smtp_set_hostname(session, cfg->helo[0] ? cfg->helo : NULL);
	set_timeouts(session, cfg->command_timeout);
	smtp_set_eventcb(session, on_event, &sw);
	if (cfg->tls == SMTP_TLS_STARTTLS) {
		const char *why = NULL;
		if ((tls = tls_context(cfg, &link, &why)) == NULL) {
			*error_r = why;
			ret = -1;
			for (size_t i = 0; i < n; i++)
				set_reply(&items[i], 0, why), items[i].outcome = SMTP_TEMPFAIL;
			goto out;
		}
		/* A libesmtp built without TLS refuses both: then nothing goes. */
		if (!smtp_starttls_set_ctx(session, tls) ||
		    !smtp_starttls_enable(session, Starttls_REQUIRED)) {
			*error_r = "smtp: this libesmtp has no STARTTLS; nothing was sent";
			ret = -1;
			for (size_t i = 0; i < n; i++)
				set_reply(&items[i], 0, *error_r), items[i].outcome = SMTP_TEMPFAIL;
			goto out;
		}
		ERR_clear_error(); /* what is on this thread's queue now is ours */
	}
	if (cfg->user[0] != '\0') {
		pthread_once(&auth_once, auth_init);
		auth = auth_create_context();
		auth_set_mechanism_flags(auth, AUTH_PLUGIN_PLAIN, 0);
		auth_set_interact_cb(auth, auth_interact, &creds);
		smtp_auth_set_context(session, auth);
	}
	if (auth != NULL || tls != NULL)
		smtp_set_monitorcb(session, monitor_cb, &sw, 0);
	for (size_t i = 0; i < n; i++) {
		feeds[i] = (struct feed){items[i].data, items[i].len, 0};
		msgs[i] = smtp_add_message(session);
		smtp_set_reverse_path(msgs[i], items[i].env_from);
		rcpts[i] = smtp_add_recipient(msgs[i], items[i].rcpt);
		smtp_set_messagecb(msgs[i], message_cb, &feeds[i]);
	}

	const char *session_error = NULL;
	int started = smtp_start_session(session);
	if (sw.tls_refusal[0] != '\0') {
		session_error = errorf("%s: %s", server, sw.tls_refusal);
	} else if (!started) {
		unsigned long tls_error = tls != NULL ? ERR_peek_last_error() : 0;
		const char *tls_why = tls_error ? ERR_reason_error_string(tls_error) : NULL;
		smtp_strerror(smtp_errno(), errbuf, sizeof(errbuf));
		session_error = errorf("cannot talk to %s: %s%s%s", server, errbuf,
				       tls_why ? "; TLS: " : "", tls_why ? tls_why : "");
	}
	if (tls != NULL)
		ERR_clear_error();
	for (size_t i = 0; i < n; i++)
		read_status(&items[i], msgs[i], rcpts[i], session_error);
	if (auth != NULL && session_error == NULL)
		blame_auth(&sw, cfg->user, items, n, error_r);
	if (session_error != NULL) {
		*error_r = session_error;
		/* Nothing got through: the whole batch waits for a retry. */
		int any = 0;
		for (size_t i = 0; i < n; i++)
			any |= items[i].code != 0;
		ret = any ? 0 : -1;
	}
out:
	if (session != NULL)
		smtp_destroy_session(session);
	if (auth != NULL)
		auth_destroy_context(auth);
	SSL_CTX_free(tls); /* libesmtp holds its own reference while it runs */
	free(feeds);
	free(msgs);
	free(rcpts);
	return ret;
}
