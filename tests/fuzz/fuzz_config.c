/*
 * fuzz_config.c: the config parser on an arbitrary file, as an operator
 * writes one (inih, the key table, durations, sizes, the checks). A file
 * that loads must write out (config_write, what `invited init` and
 * `invited config` print) as a file that loads again and writes out the
 * same: the writer never produces what the reader refuses.
 */
#include <unistd.h>

#include "fuzz.h"
#include "invited/config.h"

static char dir[] = "/tmp/invited-fuzz-conf.XXXXXX";
static char path[128], path2[128];

static void cleanup(void)
{
	unlink(path);
	unlink(path2);
	rmdir(dir);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	if (mkdtemp(dir) == NULL)
		abort();
	atexit(cleanup);
	snprintf(path, sizeof(path), "%s/invited.conf", dir);
	snprintf(path2, sizeof(path2), "%s/again.conf", dir);
	/* the environment must not decide what a file means */
	for (char **e = environ; e && *e;)
		if (strncmp(*e, "INVITED_", 8) == 0) {
			char name[256];
			snprintf(name, sizeof(name), "%.*s", (int)strcspn(*e, "="), *e);
			unsetenv(name);
		} else {
			e++;
		}
	return 0;
}

static char *written(const struct config *cfg, size_t *len_r)
{
	char *buf = NULL;
	FILE *f = open_memstream(&buf, len_r);
	FUZZ_CHECK(f != NULL && config_write(f, cfg) == 0 && fclose(f) == 0);
	return buf;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	FILE *f = fopen(path, "wb");
	if (f == NULL || fwrite(data, 1, size, f) != size || fclose(f) != 0)
		abort();
	static struct config cfg, again;
	const char *err = NULL;
	if (config_load(path, &cfg, &err) < 0)
		return 0;
	size_t len, len2;
	char *out = written(&cfg, &len);
	f = fopen(path2, "wb");
	if (f == NULL || fwrite(out, 1, len, f) != len || fclose(f) != 0)
		abort();
	if (config_load(path2, &again, &err) < 0) {
		fprintf(stderr, "the written config does not load: %s\n", err);
		FUZZ_CHECK(!"config_write wrote what config_load refuses");
	}
	char *out2 = written(&again, &len2);
	FUZZ_CHECK(len == len2 && memcmp(out, out2, len) == 0);
	free(out);
	free(out2);
	return 0;
}
