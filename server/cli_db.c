/*
 * cli_db.c: `invited db backup FILE`: an online, consistent copy of the
 * database (SQLite's backup API, one snapshot while the server writes on)
 * and, beside it in FILE.keys/, the signing keys that links and sessions
 * were signed with: a database restored without them would refuse every
 * link it holds. Both are the owner's only (0600 files, a 0700 folder).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "invited/cli.h"
#include "invited/log.h"

static const char db_usage[] =
	"usage: invited [-c FILE] db backup DEST\n"
	"       invited [-c FILE] db migrate\n"
	"       invited [-c FILE] db check\n"
	"       invited [-c FILE] db copy FROM TO\n"
	"\n"
	"  backup DEST  copy the database to DEST (a new file) while the server\n"
	"               runs, and the signing keys to DEST.keys/; both 0600.\n"
	"               Restore by stopping the server and putting them back as\n"
	"               [server] database and keys.\n"
	"  migrate      bring the database's schema to this build's version,\n"
	"               one logged step at a time (serve does it at start; the\n"
	"               other commands refuse a database that needs it). A\n"
	"               schema newer than this build's is refused.\n"
	"  check        read the whole database and say whether it is sound\n"
	"               (SQLite's integrity_check; for PostgreSQL, that every\n"
	"               table reads): \"ok\", exit 0; else what is wrong, exit 1.\n"
	"  copy FROM TO copy every row of the database FROM into TO, a new one\n"
	"               (an SQLite file that does not exist yet, or an empty\n"
	"               PostgreSQL database): from SQLite to PostgreSQL or back.\n"
	"               Stop the servers first. Each is a file or a\n"
	"               postgresql://user@host/db URL; the password is\n"
	"               [server] database_password for the configured database,\n"
	"               else libpq's (PGPASSWORD, ~/.pgpass). The copy is checked:\n"
	"               every table's rows counted on both sides, and TO read\n"
	"               whole (db check).\n";

/* Copy one file, 0600, never over an existing one. */
static int copy_file(const char *from, const char *to, const char **error_r)
{
	char buf[8192];
	ssize_t n = 0;
	int in = open(from, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	int out = open(to, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	while (in >= 0 && out >= 0 && (n = read(in, buf, sizeof(buf))) > 0)
		if (write(out, buf, (size_t)n) != n) {
			n = -1;
			break;
		}
	int ok = in >= 0 && out >= 0 && n == 0 && fsync(out) == 0;
	if (!ok)
		*error_r = errorf("cannot copy %s to %s: %s", from, to, strerror(errno));
	if (in >= 0)
		close(in);
	if (out >= 0 && close(out) < 0)
		ok = 0;
	return ok ? 0 : -1;
}

static int copy_keys(const char *dir, const char *dest, const char **error_r)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int rc = 0;
	if (d == NULL) {
		*error_r = errorf("cannot read the key folder %s: %s", dir, strerror(errno));
		return -1;
	}
	if (mkdir(dest, 0700) < 0) {
		*error_r = errorf("cannot create %s: %s", dest, strerror(errno));
		closedir(d);
		return -1;
	}
	while (rc == 0 && (e = readdir(d)) != NULL) {
		char from[PATH_MAX], to[PATH_MAX];
		struct stat sb;
		if (e->d_name[0] == '.')
			continue;
		snprintf(from, sizeof(from), "%s/%s", dir, e->d_name);
		snprintf(to, sizeof(to), "%s/%s", dest, e->d_name);
		if (lstat(from, &sb) == 0 && S_ISREG(sb.st_mode))
			rc = copy_file(from, to, error_r);
	}
	closedir(d);
	return rc;
}

static int db_migrate(struct cli *cli)
{
	const char *err;
	int before, after;
	struct store *st;
	if (cli_load_config(cli) < 0)
		return EXIT_FAIL;
	const char *path = cli->app.cfg.server.database;
	const char *conn = cli->app.cfg.server.database_conn;
	if (store_open(conn, 0, &st, &err) == STORE_OK) { /* current already */
		printf("%s: schema version %d, nothing to do\n", path, store_schema_version());
		store_close(st);
		return EXIT_OK;
	}
	if (!store_is_pg(path) && access(path, F_OK) < 0)
		return cli_fail("db", "%s: %s (`invited init` creates it)", path, strerror(errno));
	if (store_file_version(conn, &before, &err) != STORE_OK ||
	    store_open(conn, STORE_MIGRATE, &st, &err) != STORE_OK ||
	    store_version(st, &after, &err) != STORE_OK)
		return cli_fail("db", "%s", err);
	store_close(st);
	msg_info("db: %s migrated from schema version %d to %d", path, before, after);
	printf("%s: schema version %d -> %d\n", path, before, after);
	return EXIT_OK;
}

static int db_check(struct cli *cli)
{
	const char *err;
	char *result;
	if (cli_load(cli) != 0)
		return EXIT_FAIL;
	if (store_integrity_check(cli->st, &result, &err) != STORE_OK)
		return cli_fail("db", "%s", err);
	printf("%s\n", result);
	int ok = strcmp(result, "ok") == 0;
	free(result);
	return ok ? EXIT_OK : EXIT_FAIL;
}

static void copied(void *ctx, const char *table, int64_t rows)
{
	(void)ctx;
	printf("%-14s %lld rows\n", table, (long long)rows);
	fflush(stdout);
}

/* What store_open gets for a database named on the command line: the
 * configured one with its password. */
static const char *conn_of(const struct cli *cli, const char *db)
{
	return strcmp(db, cli->app.cfg.server.database) == 0 ? cli->app.cfg.server.database_conn
							     : db;
}

static int db_copy(struct cli *cli, const char *from_db, const char *to_db)
{
	const char *err;
	struct store *from = NULL, *to = NULL;
	int version = 0;
	if (cli_load_config(cli) < 0)
		return EXIT_FAIL;
	if (store_url_has_password(from_db) || store_url_has_password(to_db))
		return cli_fail("db", "a URL with its password would be shown in the process "
			        "list and the log: give it by PGPASSWORD or ~/.pgpass instead");
	if (!store_is_pg(to_db) && access(to_db, F_OK) == 0)
		return cli_fail("db", "%s exists: copy into a new database only", to_db);
	if (store_is_pg(to_db) && store_file_version(conn_of(cli, to_db), &version, &err) != STORE_OK)
		return cli_fail("db", "%s", err);
	if (version != 0 && version != store_schema_version())
		return cli_fail("db", "%s is not empty (schema version %d): copy into a new "
			        "database only", to_db, version);
	if (store_open(conn_of(cli, from_db), 0, &from, &err) != STORE_OK)
		return cli_fail("db", "%s", err);
	if (store_open(conn_of(cli, to_db), STORE_CREATE | STORE_MIGRATE, &to, &err) != STORE_OK) {
		store_close(from);
		return cli_fail("db", "%s", err);
	}
	int rc = store_copy(from, to, copied, NULL, &err);
	/* Checked: the same rows on both sides, and the copy reads whole. */
	const char *const *tables;
	int n = store_copy_tables(&tables), bad = 0;
	for (int i = 0; rc == STORE_OK && i < n; i++) {
		int64_t a, b;
		if (store_count_rows(from, tables[i], &a, &err) != STORE_OK ||
		    store_count_rows(to, tables[i], &b, &err) != STORE_OK)
			rc = STORE_ERROR;
		else if (a != b) {
			fprintf(stderr, "invited db: %s: %lld rows in %s, %lld in %s\n", tables[i],
				(long long)a, from_db, (long long)b, to_db);
			bad++;
		}
	}
	char *check = NULL;
	if (rc == STORE_OK && store_integrity_check(to, &check, &err) != STORE_OK)
		rc = STORE_ERROR;
	store_close(from);
	store_close(to);
	if (rc != STORE_OK) {
		free(check);
		return cli_fail("db", "%s", err);
	}
	if (bad > 0 || strcmp(check, "ok") != 0) {
		fprintf(stderr, "invited db: the copy in %s is not sound: %s\n", to_db,
			bad > 0 ? "row counts differ" : check);
		free(check);
		return EXIT_FAIL;
	}
	free(check);
	msg_info("db: %s copied into %s", from_db, to_db);
	printf("copied %s into %s: every table's rows counted on both sides, and the copy "
	       "checked: ok\n", from_db, to_db);
	return EXIT_OK;
}

int cli_db(struct cli *cli, int argc, char **argv)
{
	const char *err;
	if (cli_wants_help(argc, argv)) {
		fputs(db_usage, stdout);
		return EXIT_OK;
	}
	if (argc == 2 && strcmp(argv[1], "migrate") == 0)
		return db_migrate(cli);
	if (argc == 2 && strcmp(argv[1], "check") == 0)
		return db_check(cli);
	if (argc == 4 && strcmp(argv[1], "copy") == 0)
		return db_copy(cli, argv[2], argv[3]);
	if (argc != 3 || strcmp(argv[1], "backup") != 0)
		return cli_usage(db_usage);
	const char *dest = argv[2];
	char keys[PATH_MAX];
	if (snprintf(keys, sizeof(keys), "%s.keys", dest) >= (int)sizeof(keys))
		return cli_fail("db", "%s: name too long", dest);
	/* Any schema: the backup to take before `db migrate` is of a
	 * database that needs it. */
	cli->store_flags = STORE_ANY_VERSION;
	if (cli_load(cli) != 0)
		return EXIT_FAIL;
	if (store_backup(cli->st, dest, &err) != STORE_OK)
		return cli_fail("db", "%s", err);
	if (copy_keys(cli->app.cfg.server.keys, keys, &err) < 0)
		return cli_fail("db", "%s (the database copy %s is complete)", err, dest);
	printf("%s\n%s/\n", dest, keys);
	return EXIT_OK;
}
