/*
 * config_write.c: what is written from the key table: the commented file
 * `invited init` and `invited config` write, the changed keys only
 * (`config -n`), docs/config.md's table and invited.conf(5).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config_int.h"

/* A duration in its largest whole unit: 86400 → 1d. */
static void write_duration(FILE *out, int64_t d)
{
	const char *unit = "s";
	if (d > 0 && d % 86400 == 0)
		d /= 86400, unit = "d";
	else if (d > 0 && d % 3600 == 0)
		d /= 3600, unit = "h";
	else if (d > 0 && d % 60 == 0)
		d /= 60, unit = "m";
	fprintf(out, "%lld%s", (long long)d, unit);
}

/* " (1 to 16)" after a number's meaning, when its range is not the
 * general one. */
static void write_range(FILE *out, const struct ckey *k)
{
	const struct bound *b = config_bound_of(k);
	if (b == NULL)
		return;
	if (k->type == C_DURATION) {
		fputs(" (", out);
		write_duration(out, b->min);
		fputs(" to ", out);
		write_duration(out, b->max);
		fputs(")", out);
	} else {
		fprintf(out, " (%lld to %lld)", (long long)b->min, (long long)b->max);
	}
}

static void write_value(FILE *out, const struct config *cfg, const struct ckey *k)
{
	const char *field = (const char *)cfg + k->off;
	switch (k->type) {
	case C_STR:
	case C_PATH:
	case C_STATE:
		fprintf(out, "%s", field);
		break;
	case C_SECRET:
		break; /* never written */
	case C_INT:
		if (k->size == sizeof(size_t))
			fprintf(out, "%zu", *(const size_t *)field);
		else
			fprintf(out, "%d", *(const int *)field);
		break;
	case C_DURATION:
		write_duration(out, k->size == sizeof(int) ? *(const int *)field
							   : *(const int64_t *)field);
		break;
	case C_BOOL:
		fprintf(out, "%s", *(const int *)field ? "yes" : "no");
		break;
	case C_SMTP_TLS:
	case C_IMAP_TLS:
		fprintf(out, "%s", config_tls_names[*(const int *)field]);
		break;
	}
}

int config_doc(FILE *out)
{
	fprintf(out, "| section | key | default | meaning |\n| --- | --- | --- | --- |\n");
	for (size_t i = 0; i < config_nkeys; i++) {
		const char *def = config_keys[i].def;
		fprintf(out, "| `%s` | `%s` | %s%s%s | %s", config_keys[i].section, config_keys[i].key,
			def[0] ? "`" : "", def[0] ? def : "(empty)", def[0] ? "`" : "",
			config_keys[i].doc);
		write_range(out, &config_keys[i]);
		fputs(" |\n", out);
	}
	return ferror(out) ? -1 : 0;
}

/* Text for roff: backslashes doubled, hyphens as \- , a leading dot or
 * quote escaped. */
static void roff(FILE *out, const char *s)
{
	if (*s == '.' || *s == '\'')
		fputs("\\&", out);
	for (; *s != '\0'; s++) {
		if (*s == '\\')
			fputs("\\e", out);
		else if (*s == '-')
			fputs("\\-", out);
		else
			fputc(*s, out);
	}
}

int config_man(FILE *out)
{
	const char *section = "";
	fprintf(out, ".TH INVITED.CONF 5 \"\" \"invited " INVITED_VERSION "\" \"File Formats\"\n"
		     ".SH NAME\ninvited.conf \\- configuration of invited(8)\n"
		     ".SH DESCRIPTION\n"
		     "An INI file: \\fB[section]\\fP lines, then \\fIkey\\fP = \\fIvalue\\fP "
		     "lines; # starts a comment. \\fBinvited init\\fP writes a complete one, "
		     "every key with its documentation and default; \\fBinvited config\\fP prints "
		     "the effective settings. Unknown keys are errors.\n"
		     ".PP\nAny key can be overridden by the environment variable "
		     "\\fBINVITED_\\fP\\fISECTION\\fP\\fB_\\fP\\fIKEY\\fP "
		     "(e.g. INVITED_SMTP_PORT=587). A password may instead come from "
		     "\\fBpassword_file\\fP, INVITED_SMTP_PASSWORD(_FILE) or "
		     "INVITED_IMAP_PASSWORD(_FILE); passwords are never printed.\n"
		     ".PP\nRelative paths are relative to the file's folder; the database and "
		     "the key folder of /etc/invited/invited.conf are under /var/lib/invited. "
		     "Durations are 45s, 15m, 12h, 30d or plain seconds. "
		     "<datadir> is <prefix>/share/invited.\n"
		     ".SH KEYS\n");
	for (size_t i = 0; i < config_nkeys; i++) {
		if (strcmp(section, config_keys[i].section) != 0) {
			section = config_keys[i].section;
			fprintf(out, ".SS [%s]\n", section);
		}
		fprintf(out, ".TP\n.B %s\n", config_keys[i].key);
		roff(out, config_keys[i].doc);
		write_range(out, &config_keys[i]);
		fputs(". Default: ", out);
		if (config_keys[i].def[0] == '\0')
			fputs("empty", out);
		else
			roff(out, config_keys[i].def);
		fputs(".\n", out);
	}
	fprintf(out, ".SH FILES\n.I /etc/invited/invited.conf\n"
		     ".SH SEE ALSO\n.BR invited (8)\n");
	return ferror(out) ? -1 : 0;
}

static char *value_text(const struct config *cfg, const struct ckey *k)
{
	char *text = NULL;
	size_t len;
	FILE *m = open_memstream(&text, &len);
	if (m == NULL)
		return NULL;
	write_value(m, cfg, k);
	fclose(m);
	return text;
}

int config_write_changed(FILE *out, const struct config *cfg)
{
	struct config def;
	const char *err, *section = "";
	memset(&def, 0, sizeof(def));
	memcpy(def.path, cfg->path, sizeof(def.path));
	for (size_t i = 0; i < config_nkeys; i++)
		if (config_set_value(&def, &config_keys[i], config_keys[i].def, &err) < 0)
			return -1;
	for (size_t i = 0; i < config_nkeys; i++) {
		const struct ckey *k = &config_keys[i];
		const char *field = (const char *)cfg + k->off;
		char *now = value_text(cfg, k), *was = value_text(&def, k);
		int changed = k->type == C_SECRET ? field[0] != '\0'
			      : now != NULL && was != NULL && strcmp(now, was) != 0;
		if (changed) {
			if (strcmp(section, k->section) != 0) {
				fprintf(out, "%s[%s]\n", section[0] ? "\n" : "", k->section);
				section = k->section;
			}
			fprintf(out, "%s = %s\n", k->key, k->type == C_SECRET ? "(set)" : now);
		}
		free(now);
		free(was);
	}
	return ferror(out) ? -1 : 0;
}

int config_write(FILE *out, const struct config *cfg)
{
	const char *section = "";
	fprintf(out, "# invited.conf: every key, with its default in the comment.\n"
		     "# Any key can be overridden by INVITED_<SECTION>_<KEY> in the "
		     "environment.\n");
	for (size_t i = 0; i < config_nkeys; i++) {
		const struct ckey *k = &config_keys[i];
		if (strcmp(section, k->section) != 0) {
			section = k->section;
			fprintf(out, "\n[%s]\n", section);
		}
		fprintf(out, "# %s (default: %s)\n%s = ", k->doc,
			k->def[0] ? k->def : "empty", k->key);
		write_value(out, cfg, k);
		fputc('\n', out);
	}
	return ferror(out) ? -1 : 0;
}
