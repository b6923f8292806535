/*
 * imap_tls.c: trust in the IMAP server, checked before the password goes
 * to it. libetpan does the TLS handshake (with GnuTLS) but checks nothing,
 * so once TLS is up the peer's certificate chain is taken from the stream
 * and GnuTLS verifies it: it must chain to the system's CAs, or to the CAs
 * of [imap] ca_file, be valid now, be for a TLS server, and carry the
 * configured host name (or address). Anything else ends the session
 * before LOGIN, with GnuTLS's own account of what is wrong.
 */
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <libetpan/libetpan.h>
#include <stdlib.h>
#include <string.h>

#include "imap_int.h"
#include "invited/host.h"
#include "invited/log.h"

#define MAX_CHAIN 16 /* certificates a server may send; more is refused */

/* SNI: the name the server should answer for (never an address). */
void imap_tls_server_name(struct mailstream_ssl_context *ctx, void *data)
{
	const char *host = data;
	if (!host_is_address(host))
		mailstream_ssl_set_server_name(ctx, (char *)host);
}

static gnutls_x509_trust_list_t trust_list(const struct imap_config *cfg,
					   const char **error_r)
{
	gnutls_x509_trust_list_t list;
	if (gnutls_x509_trust_list_init(&list, 0) < 0) {
		*error_r = "out of memory";
		return NULL;
	}
	int n = cfg->ca_file[0] ? gnutls_x509_trust_list_add_trust_file(
					  list, cfg->ca_file, NULL, GNUTLS_X509_FMT_PEM, 0, 0)
				: gnutls_x509_trust_list_add_system_trust(list, 0, 0);
	if (n <= 0) {
		gnutls_x509_trust_list_deinit(list, 1);
		*error_r = cfg->ca_file[0]
				   ? errorf("[imap] ca_file %s: no certificates could be read from it",
					    cfg->ca_file)
				   : "the system has no CA certificates (install ca-certificates, "
				     "or set [imap] ca_file)";
		return NULL;
	}
	return list;
}

int imap_config_check(const struct imap_config *cfg, const char **error_r)
{
	if (cfg->tls == IMAP_TLS_NONE && !cfg->allow_plaintext && !host_is_loopback(cfg->host)) {
		*error_r = errorf("[imap] tls = none to %s would send the mailbox password in "
				  "the clear across the network: use tls = starttls or tls, or "
				  "set allow_plaintext = yes", cfg->host);
		return -1;
	}
	/* The CA file is read now, as each session will read it. */
	if (cfg->tls != IMAP_TLS_NONE && cfg->ca_file[0] != '\0') {
		gnutls_x509_trust_list_t list = trust_list(cfg, error_r);
		if (list == NULL)
			return -1;
		gnutls_x509_trust_list_deinit(list, 1);
	}
	return 0;
}

int imap_tls_verify(struct imap_session *s, const char **error_r)
{
	const struct imap_config *c = s->cfg;
	gnutls_x509_crt_t certs[MAX_CHAIN];
	unsigned n = 0, status = 0;
	int ret = -1;
	gnutls_x509_trust_list_t list = NULL;
	carray *chain = mailstream_get_certificate_chain(s->imap->imap_stream);

	*error_r = NULL;
	if (chain == NULL || carray_count(chain) == 0 || carray_count(chain) > MAX_CHAIN) {
		*error_r = errorf("IMAP %s:%d: the server sent %s certificates; not logging in",
				  c->host, c->port, chain == NULL || carray_count(chain) == 0
							    ? "no" : "too many");
		goto out;
	}
	for (unsigned i = 0; i < carray_count(chain); i++) {
		MMAPString *der = carray_get(chain, i);
		gnutls_datum_t d = {(unsigned char *)der->str, (unsigned)der->len};
		if (gnutls_x509_crt_init(&certs[n]) < 0)
			goto out;
		n++;
		if (gnutls_x509_crt_import(certs[n - 1], &d, GNUTLS_X509_FMT_DER) < 0) {
			*error_r = errorf("IMAP %s:%d: the server's certificate cannot be read; "
					  "not logging in", c->host, c->port);
			goto out;
		}
	}
	if ((list = trust_list(c, error_r)) == NULL)
		goto out;
	gnutls_typed_vdata_st want[2] = {
		{.type = GNUTLS_DT_DNS_HOSTNAME, .data = (unsigned char *)c->host},
		{.type = GNUTLS_DT_KEY_PURPOSE_OID, .data = (unsigned char *)GNUTLS_KP_TLS_WWW_SERVER},
	};
	int r = gnutls_x509_trust_list_verify_crt2(list, certs, n, want, 2, 0, &status, NULL);
	if (r < 0 || status != 0) {
		gnutls_datum_t why = {NULL, 0};
		if (r >= 0)
			gnutls_certificate_verification_status_print(status, GNUTLS_CRT_X509, &why, 0);
		*error_r = errorf("IMAP %s:%d: the server's certificate does not verify (%s); "
				  "not logging in", c->host, c->port,
				  r < 0 ? gnutls_strerror(r) : why.data ? (char *)why.data : "?");
		gnutls_free(why.data);
		goto out;
	}
	ret = 0;
out:
	if (ret < 0 && *error_r == NULL)
		*error_r = "out of memory";
	for (unsigned i = 0; i < n; i++)
		gnutls_x509_crt_deinit(certs[i]);
	if (list != NULL)
		gnutls_x509_trust_list_deinit(list, 1);
	if (chain != NULL)
		mailstream_certificate_chain_free(chain);
	return ret;
}
