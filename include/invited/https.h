/*
 * https.h: the certificate and key the HTTP endpoint serves TLS with
 * ([server] tls_cert, tls_key), read through GnuTLS. The key is a secret:
 * whoever holds it can be this server to every browser, so it must be
 * readable by its owner (and group) only, and it never leaves this
 * module. One pair is served per process; https_reload() swaps it for
 * new connections (SIGHUP, after certbot renews), and connections
 * already open keep theirs.
 */
#ifndef INVITED_HTTPS_H
#define INVITED_HTTPS_H

#include <gnutls/abstract.h>
#include <gnutls/gnutls.h>
#include <time.h>

#define HTTPS_MAX_CHAIN 16         /* certificates in tls_cert */
#define HTTPS_EXPIRY_WARNING (14 * 86400) /* warn this long before expiry */

/* TLS 1.2 and 1.3 only; AEAD ciphers with forward secrecy only; elliptic
 * curve groups only (a client offering only TLS 1.3's ffdhe8192 would
 * cost the server half a second of CPU per handshake, and itself
 * nothing); no SHA-1 signatures. */
#define HTTPS_PRIORITIES                                                                  \
	"NORMAL:-VERS-ALL:+VERS-TLS1.3:+VERS-TLS1.2:-CIPHER-ALL:+AES-256-GCM:+AES-128-GCM:" \
	"+CHACHA20-POLY1305:-MAC-ALL:+AEAD:-KX-ALL:+ECDHE-ECDSA:+ECDHE-RSA:"                 \
	"-GROUP-ALL:+GROUP-X25519:+GROUP-SECP256R1:+GROUP-SECP384R1:"                        \
	"-SIGN-RSA-SHA1:-SIGN-ECDSA-SHA1:-SIGN-DSA-SHA1:%SERVER_PRECEDENCE"

/* What a certificate file says, for start and `config check`. */
struct https_info {
	time_t not_after;
	char subject[256];
};

/*
 * Read the pair and check it: the key file's mode (no access for others,
 * no writing by the group), the chain's PEM, the key matching the first
 * certificate. -1 with *error_r, naming the file and what is wrong.
 */
int https_check(const char *cert_file, const char *key_file, struct https_info *info,
		const char **error_r);

/* Load the pair to serve (https_check's checks first). */
int https_load(const char *cert_file, const char *key_file, struct https_info *info,
	       const char **error_r);
/* Load the same files again; on failure the pair served stays. */
int https_reload(struct https_info *info, const char **error_r);
/* Free every pair loaded. Call after the HTTP daemon has stopped. */
void https_unload(void);

/* MHD_OPTION_HTTPS_CERT_CALLBACK's function: the pair served now. */
gnutls_certificate_retrieve_function2 https_retrieve;

/* 1 when host (public_url's) is a name or address the certificate is
 * for; for `config check`. */
int https_names(const char *cert_file, const char *host);

#endif
