/*
 * config_check.c: `invited config check`: what loading a config cannot
 * see, checked on the machine: the listen address, the templates, the TLS
 * pair (and when it expires), the key folder and files, the database,
 * each problem on a line of its own.
 */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "invited/config.h"
#include "invited/https.h"
#include "invited/store.h"

/* A folder or file that must be the owner's only. */
static int private_mode(FILE *out, const char *what, const char *path, mode_t want)
{
	struct stat sb;
	if (stat(path, &sb) < 0) {
		fprintf(out, "%s %s: %s\n", what, path, strerror(errno));
		return 1;
	}
	if ((sb.st_mode & 07777) & ~want) {
		fprintf(out, "%s %s: mode %04o, want %04o (it holds secrets)\n", what, path,
			(unsigned)(sb.st_mode & 07777), (unsigned)want);
		return 1;
	}
	return 0;
}

/* public_url's host: "https://[::1]:8443/x" → "::1". */
static void url_host(const char *url, char *out, size_t size)
{
	const char *p = strstr(url, "://");
	p = p != NULL ? p + 3 : url;
	size_t len = *p == '[' ? strcspn(p + 1, "]") : strcspn(p, ":/");
	snprintf(out, size, "%.*s", (int)len, *p == '[' ? p + 1 : p);
}

/* The pair: it loads and matches, names public_url's host, and when it
 * ends; an expired one is a problem, one ending soon a warning. */
static int tls_pair(const struct config *cfg, FILE *out)
{
	struct https_info info;
	const char *err;
	char host[256], when[32];
	int problems = 0;
	if (cfg->server.tls_cert[0] == '\0') {
		if (strncmp(cfg->server.public_url, "https:", 6) == 0 && cfg->server.proxies.n == 0) {
			fprintf(out, "[server] public_url is https://, but neither tls_cert nor "
				     "trusted_proxies is set: nothing could serve it over HTTPS "
				     "(docs/deploy.md)\n");
			return 1;
		}
		return 0;
	}
	if (https_check(cfg->server.tls_cert, cfg->server.tls_key, &info, &err) < 0) {
		fprintf(out, "%s\n", err);
		return 1;
	}
	struct tm tm;
	gmtime_r(&info.not_after, &tm);
	strftime(when, sizeof(when), "%Y-%m-%d %H:%M UTC", &tm);
	time_t left = info.not_after - time(NULL);
	if (left < 0) {
		fprintf(out, "[server] tls_cert %s: expired %s\n", cfg->server.tls_cert, when);
		problems++;
	} else {
		fprintf(out, "%s[server] tls_cert %s: %s, valid until %s (%lld days)\n",
			left < HTTPS_EXPIRY_WARNING ? "warning: " : "", cfg->server.tls_cert,
			info.subject, when, (long long)(left / 86400));
	}
	url_host(cfg->server.public_url, host, sizeof(host));
	if (!https_names(cfg->server.tls_cert, host)) {
		fprintf(out, "[server] tls_cert %s is not for %s, public_url's host: browsers "
			     "would refuse it\n", cfg->server.tls_cert, host);
		problems++;
	}
	if (strncmp(cfg->server.public_url, "https:", 6) != 0) {
		fprintf(out, "[server] public_url %s is not https://, but the server serves HTTPS "
			     "only: links would not open\n", cfg->server.public_url);
		problems++;
	}
	return problems;
}

int config_check(const struct config *cfg, FILE *out)
{
	int problems = 0;
	char path[PATH_MAX + 64];
	struct stat sb;
	const char *colon = strrchr(cfg->server.listen, ':');
	char *end = NULL;
	long port = colon != NULL ? strtol(colon + 1, &end, 10) : 0;
	if (colon == NULL || colon == cfg->server.listen || end == colon + 1 || *end != '\0' ||
	    port < 1 || port > 65535) {
		fprintf(out, "[server] listen %s: not host:port with a port from 1 to 65535\n",
			cfg->server.listen);
		problems++;
	}
	snprintf(path, sizeof(path), "%s/%s/mail", cfg->mail.templates, cfg->mail.default_locale);
	if (stat(path, &sb) < 0 || !S_ISDIR(sb.st_mode) || access(path, R_OK | X_OK) < 0) {
		fprintf(out, "[mail] templates %s: no readable %s/mail folder in it\n",
			cfg->mail.templates, cfg->mail.default_locale);
		problems++;
	}
	if (cfg->enrollment.public_domains[0] != '\0' &&
	    access(cfg->enrollment.public_domains, R_OK) < 0) {
		fprintf(out, "[enrollment] public_domains %s: %s\n", cfg->enrollment.public_domains,
			strerror(errno));
		problems++;
	}
	problems += tls_pair(cfg, out);
	problems += private_mode(out, "[server] keys", cfg->server.keys, 0700);
	DIR *d = opendir(cfg->server.keys);
	for (struct dirent *e; d != NULL && (e = readdir(d)) != NULL;) {
		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", cfg->server.keys, e->d_name);
		problems += private_mode(out, "key file", path, 0600);
	}
	if (d != NULL)
		closedir(d);
	if (store_is_pg(cfg->server.database)) {
		/* PostgreSQL's own rights guard it; `invited serve` connects */
	} else if (stat(cfg->server.database, &sb) == 0) {
		problems += private_mode(out, "[server] database", cfg->server.database, 0600);
	} else {
		snprintf(path, sizeof(path), "%s", cfg->server.database);
		char *slash = strrchr(path, '/');
		if (slash != NULL)
			*slash = '\0';
		if (access(slash != NULL ? path : ".", W_OK | X_OK) < 0) {
			fprintf(out, "[server] database %s: cannot be created (%s)\n",
				cfg->server.database, strerror(errno));
			problems++;
		}
	}
	return problems;
}
