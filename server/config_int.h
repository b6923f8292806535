/*
 * config_int.h: the key table (config_keys.c) that config.c reads by and
 * config_write.c writes from (the commented file, `config -n`, docs/config.md and
 * invited.conf(5)).
 */
#ifndef INVITED_CONFIG_INT_H
#define INVITED_CONFIG_INT_H

#include <ini.h>
#include <stddef.h>
#include <stdint.h>

#include "invited/config.h"

/* C_PATH: relative to the config file's folder; C_STATE: the same, except
 * that beside the system config (/etc/invited) it is under /var/lib/invited. */
enum ctype { C_STR, C_PATH, C_STATE, C_INT, C_DURATION, C_BOOL, C_SMTP_TLS, C_IMAP_TLS,
	     C_SECRET };

/* In a default: the folder holding the templates. */
#define DATADIR "<datadir>"

/* At least the number of keys (config_keys.c checks at compile time). */
#define CONFIG_KEYS_MAX 128

/* The longest line inih reads whole (its INI_MAX_LINE, 200, less the
 * line end); see config_set_value. */
#define CONFIG_LINE_MAX (INI_MAX_LINE - 1)

struct ckey {
	const char *section;
	const char *key;
	enum ctype type;
	size_t off;
	size_t size;
	const char *def;
	const char *doc;
};

/* A number's range (durations in seconds), when not the general one. */
struct bound {
	const char *section, *key;
	int64_t min, max;
};

extern const struct ckey *const config_keys;
extern const size_t config_nkeys;
/* By enum smtp_tls / imap_tls value. */
extern const char *const config_tls_names[3];

/* k's own range, or NULL when it has the general one. */
const struct bound *config_bound_of(const struct ckey *k);
/* Parse v into k's field of cfg; -1 with *error_r when it is invalid. */
int config_set_value(struct config *cfg, const struct ckey *k, const char *v,
		     const char **error_r);

#endif
