/*
 * https.c: the pair the HTTP endpoint serves TLS with (see https.h).
 * GnuTLS asks for it in each handshake through the retrieve function;
 * the pair served is a pointer swapped whole on reload. A pair once
 * served is kept until https_unload(): a handshake that took it may
 * still be using it, and renewals come every few weeks, not every second.
 */
#include <errno.h>
#include <fcntl.h>
#include <gnutls/x509.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "invited/https.h"
#include "invited/log.h"

struct pair {
	gnutls_pcert_st chain[HTTPS_MAX_CHAIN];
	unsigned n;
	gnutls_privkey_t key;
	struct pair *older; /* served before; kept until unload */
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct pair *served; /* under lock */
static char cert_path[4096], key_path[4096];

static void pair_free(struct pair *p)
{
	for (unsigned i = 0; i < p->n; i++)
		gnutls_pcert_deinit(&p->chain[i]);
	if (p->key != NULL)
		gnutls_privkey_deinit(p->key);
	free(p);
}

#define KEY_FILE_MAX 65536 /* a PEM private key is a few kilobytes */

/* The key file, read through one descriptor so that the mode checked is
 * the file read: readable by its owner (and group, as Debian's ssl-cert
 * does it), by nobody else, and not writable by the group. */
static int read_key(const char *path, gnutls_datum_t *d, const char **error_r)
{
	struct stat sb;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &sb) < 0) {
		*error_r = errorf("[server] tls_key %s: %s", path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	if (!S_ISREG(sb.st_mode) || sb.st_size > KEY_FILE_MAX) {
		*error_r = errorf("[server] tls_key %s: not a file of at most %d bytes", path,
				  KEY_FILE_MAX);
		close(fd);
		return -1;
	}
	if ((sb.st_mode & 0027) != 0) {
		*error_r = errorf("[server] tls_key %s: mode %04o, want 0600 or 0640 (it is the "
				  "server's secret: others must not read it)",
				  path, (unsigned)(sb.st_mode & 07777));
		close(fd);
		return -1;
	}
	d->data = gnutls_malloc((size_t)sb.st_size + 1);
	ssize_t got = d->data != NULL ? read(fd, d->data, (size_t)sb.st_size) : -1;
	close(fd);
	if (got != (ssize_t)sb.st_size) {
		*error_r = errorf("[server] tls_key %s: cannot read it", path);
		gnutls_free(d->data);
		d->data = NULL;
		return -1;
	}
	d->size = (unsigned)got;
	return 0;
}

static int load_file(const char *what, const char *path, gnutls_datum_t *d,
		     const char **error_r)
{
	int rc = gnutls_load_file(path, d);
	if (rc < 0) {
		*error_r = errorf("[server] %s %s: cannot read it (%s)", what, path,
				  errno != 0 ? strerror(errno) : gnutls_strerror(rc));
		return -1;
	}
	return 0;
}

/* The first certificate's end of validity and subject. */
static int describe(const gnutls_datum_t *der, struct https_info *info)
{
	gnutls_x509_crt_t crt;
	memset(info, 0, sizeof(*info));
	if (gnutls_x509_crt_init(&crt) < 0)
		return -1;
	int rc = gnutls_x509_crt_import(crt, der, GNUTLS_X509_FMT_DER);
	if (rc >= 0) {
		size_t size = sizeof(info->subject);
		info->not_after = gnutls_x509_crt_get_expiration_time(crt);
		if (gnutls_x509_crt_get_dn(crt, info->subject, &size) < 0)
			info->subject[0] = '\0';
	}
	gnutls_x509_crt_deinit(crt);
	return rc < 0 ? -1 : 0;
}

/* Read and check both files into a pair (NULL with *error_r). */
static struct pair *pair_load(const char *cert_file, const char *key_file,
			      struct https_info *info, const char **error_r)
{
	gnutls_datum_t cert = {NULL, 0}, key = {NULL, 0};
	gnutls_certificate_credentials_t check = NULL;
	struct pair *p = NULL;
	int rc;
	if (read_key(key_file, &key, error_r) < 0 ||
	    load_file("tls_cert", cert_file, &cert, error_r) < 0)
		goto out;
	if ((p = calloc(1, sizeof(*p))) == NULL) {
		*error_r = "out of memory";
		goto out;
	}
	p->n = HTTPS_MAX_CHAIN;
	rc = gnutls_pcert_list_import_x509_raw(p->chain, &p->n, &cert, GNUTLS_X509_FMT_PEM, 0);
	if (rc < 0 || p->n == 0) {
		p->n = 0;
		*error_r = errorf("[server] tls_cert %s: not a PEM certificate chain of at most %d "
				  "certificates (%s)", cert_file, HTTPS_MAX_CHAIN,
				  rc < 0 ? gnutls_strerror(rc) : "none found");
		goto fail;
	}
	if ((rc = gnutls_privkey_init(&p->key)) < 0 ||
	    (rc = gnutls_privkey_import_x509_raw(p->key, &key, GNUTLS_X509_FMT_PEM, NULL, 0)) < 0) {
		*error_r = errorf("[server] tls_key %s: not a PEM private key without a passphrase "
				  "(%s)", key_file, gnutls_strerror(rc));
		goto fail;
	}
	/* GnuTLS's own check that the key is the first certificate's. */
	if ((rc = gnutls_certificate_allocate_credentials(&check)) < 0 ||
	    (rc = gnutls_certificate_set_x509_key_mem2(check, &cert, &key, GNUTLS_X509_FMT_PEM,
						       NULL, 0)) < 0) {
		*error_r = rc == GNUTLS_E_CERTIFICATE_KEY_MISMATCH
				   ? errorf("[server] tls_key %s is not the key of the certificate in "
					    "tls_cert %s", key_file, cert_file)
				   : errorf("[server] tls_cert %s with tls_key %s: %s", cert_file,
					    key_file, gnutls_strerror(rc));
		goto fail;
	}
	if (describe(&p->chain[0].cert, info) < 0) {
		*error_r = errorf("[server] tls_cert %s: cannot read its first certificate",
				  cert_file);
		goto fail;
	}
	goto out;
fail:
	pair_free(p);
	p = NULL;
out:
	if (check != NULL)
		gnutls_certificate_free_credentials(check);
	if (key.data != NULL) {
		gnutls_memset(key.data, 0, key.size);
		gnutls_free(key.data);
	}
	gnutls_free(cert.data);
	return p;
}

int https_check(const char *cert_file, const char *key_file, struct https_info *info,
		const char **error_r)
{
	struct pair *p = pair_load(cert_file, key_file, info, error_r);
	if (p == NULL)
		return -1;
	pair_free(p);
	return 0;
}

static void serve(struct pair *p)
{
	pthread_mutex_lock(&lock);
	p->older = served;
	served = p;
	pthread_mutex_unlock(&lock);
}

int https_load(const char *cert_file, const char *key_file, struct https_info *info,
	       const char **error_r)
{
	struct pair *p = pair_load(cert_file, key_file, info, error_r);
	if (p == NULL)
		return -1;
	snprintf(cert_path, sizeof(cert_path), "%s", cert_file);
	snprintf(key_path, sizeof(key_path), "%s", key_file);
	serve(p);
	return 0;
}

int https_reload(struct https_info *info, const char **error_r)
{
	struct pair *p = pair_load(cert_path, key_path, info, error_r);
	if (p == NULL)
		return -1;
	serve(p);
	return 0;
}

void https_unload(void)
{
	pthread_mutex_lock(&lock);
	struct pair *p = served;
	served = NULL;
	pthread_mutex_unlock(&lock);
	while (p != NULL) {
		struct pair *older = p->older;
		pair_free(p);
		p = older;
	}
}

int https_retrieve(gnutls_session_t session, const gnutls_datum_t *req_ca_rdn, int nreqs,
		    const gnutls_pk_algorithm_t *pk_algos, int pk_algos_length,
		    gnutls_pcert_st **pcert, unsigned int *pcert_length, gnutls_privkey_t *privkey)
{
	(void)session, (void)req_ca_rdn, (void)nreqs, (void)pk_algos, (void)pk_algos_length;
	pthread_mutex_lock(&lock);
	struct pair *p = served;
	pthread_mutex_unlock(&lock);
	if (p == NULL)
		return -1;
	*pcert = p->chain;
	*pcert_length = p->n;
	*privkey = p->key;
	return 0;
}

int https_names(const char *cert_file, const char *host)
{
	gnutls_datum_t cert = {NULL, 0};
	gnutls_x509_crt_t crt;
	const char *err;
	int ok = 0;
	if (load_file("tls_cert", cert_file, &cert, &err) < 0)
		return 0;
	if (gnutls_x509_crt_init(&crt) >= 0) { /* the first of a PEM chain */
		ok = gnutls_x509_crt_import(crt, &cert, GNUTLS_X509_FMT_PEM) >= 0 &&
		     gnutls_x509_crt_check_hostname2(crt, host, 0) != 0;
		gnutls_x509_crt_deinit(crt);
	}
	gnutls_free(cert.data);
	return ok;
}
