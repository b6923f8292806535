/*
 * log.h: logging to standard error or syslog, and formatted error strings.
 * Header-only, so that every module may log without depending on
 * another module. Lines carry a UTC timestamp, the level and the text; to
 * journald, the syslog priority, the level and the text; to syslog, the
 * level and the text at its priority (syslog adds the time and pid).
 */
#ifndef INVITED_LOG_H
#define INVITED_LOG_H

#include <stdarg.h>
#include <stdio.h>
#include <syslog.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "limits.h"

/*
 * 1 when standard error is journald's stream (systemd sets JOURNAL_STREAM
 * to its device and inode): lines then start with their syslog priority,
 * "<6>", and leave the time and pid to the journal.
 */
static inline int msg_to_journal(void)
{
	static _Atomic int state; /* 0 not looked yet, 1 no, 2 yes */
	if (state == 0) {
		const char *v = getenv("JOURNAL_STREAM");
		unsigned long long dev, ino;
		struct stat sb;
		int yes = v != NULL && sscanf(v, "%llu:%llu", &dev, &ino) == 2 &&
			  fstat(STDERR_FILENO, &sb) == 0 && (unsigned long long)sb.st_dev == dev &&
			  (unsigned long long)sb.st_ino == ino;
		state = yes ? 2 : 1;
	}
	return state == 2;
}

enum msg_level { MSG_DEBUG, MSG_INFO, MSG_WARNING, MSG_ERROR, MSG_PANIC };

/*
 * The process's log settings ([log] in the config; serve applies them,
 * msg_setup): the lowest level written, and syslog instead of stderr.
 * One object for the whole program: a weak definition in every file that
 * includes this header, merged into one by the linker.
 */
struct msg_settings {
	_Atomic int min_level; /* enum msg_level */
	_Atomic int to_syslog;
};
__attribute__((weak)) struct msg_settings msg_settings = {MSG_INFO, 0};

/* level: "debug", "info", "warning" or "error"; to_syslog: openlog as
 * "invited" (facility daemon) and write there from now on. -1 for an
 * unknown level. */
static inline int msg_level_parse(const char *s)
{
	static const char *const names[] = {"debug", "info", "warning", "error"};
	for (int i = 0; i < 4; i++)
		if (s != NULL && __builtin_strcmp(s, names[i]) == 0)
			return i;
	return -1;
}

static inline void msg_setup(int min_level, int to_syslog)
{
	if (to_syslog && !msg_settings.to_syslog)
		openlog("invited", LOG_PID | LOG_NDELAY, LOG_DAEMON);
	msg_settings.min_level = min_level;
	msg_settings.to_syslog = to_syslog;
}

static inline int msg_level_on(enum msg_level level)
{
	return (int)level >= msg_settings.min_level;
}

__attribute__((format(printf, 2, 0))) static inline void msg_vlog(enum msg_level lv,
								     const char *fmt, va_list ap)
{
	static const char *const names[] = {"debug", "info", "warning", "error", "panic"};
	static const int prios[] = {LOG_DEBUG, LOG_INFO, LOG_WARNING, LOG_ERR, LOG_CRIT};
	const char *level = names[lv];
	char line[2048], stamp[32];
	struct tm tm;
	int n;
	if (!msg_level_on(lv))
		return;
	if (msg_settings.to_syslog) {
		n = snprintf(line, sizeof(line), "%s: ", level);
		vsnprintf(line + n, sizeof(line) - n, fmt, ap);
		syslog(prios[lv], "%s", line);
		return;
	}
	if (msg_to_journal()) {
		n = snprintf(line, sizeof(line), "<%d>%s: ", prios[lv], level);
	} else {
		time_t now = time(NULL);
		gmtime_r(&now, &tm);
		strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%SZ", &tm);
		n = snprintf(line, sizeof(line), "%s invited[%d]: %s: ", stamp, (int)getpid(),
			     level);
	}
	if (n < 0 || (size_t)n >= sizeof(line))
		n = 0;
	vsnprintf(line + n, sizeof(line) - n, fmt, ap);
	fprintf(stderr, "%s\n", line);
}

/* Detail for finding a fault ([log] level = debug); off by default. */
__attribute__((format(printf, 1, 2))) static inline void msg_debug(const char *fmt, ...)
{
	va_list ap;
	if (!msg_level_on(MSG_DEBUG))
		return;
	va_start(ap, fmt);
	msg_vlog(MSG_DEBUG, fmt, ap);
	va_end(ap);
}

__attribute__((format(printf, 1, 2))) static inline void msg_info(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	msg_vlog(MSG_INFO, fmt, ap);
	va_end(ap);
}

__attribute__((format(printf, 1, 2))) static inline void msg_warn(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	msg_vlog(MSG_WARNING, fmt, ap);
	va_end(ap);
}

__attribute__((format(printf, 1, 2))) static inline void msg_error(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	msg_vlog(MSG_ERROR, fmt, ap);
	va_end(ap);
}

/* A broken invariant: log and abort. Never for bad input. */
__attribute__((format(printf, 1, 2), noreturn)) static inline void
msg_panic(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	msg_vlog(MSG_PANIC, fmt, ap);
	va_end(ap);
	abort();
}

/*
 * errorf: format an error message for a `const char **error_r` out-parameter.
 * The text lives in a small per-thread ring of buffers and stays valid until
 * this thread has formatted eight more; callers that keep it must copy it.
 */
__attribute__((format(printf, 1, 2))) static inline const char *errorf(const char *fmt, ...)
{
	static __thread char ring[8][MAX_ERROR_LEN];
	static __thread unsigned next;
	char *buf = ring[next++ % 8];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(buf, MAX_ERROR_LEN, fmt, ap);
	va_end(ap);
	return buf;
}

#endif
