/*
 * log.h: logging to standard error and formatted error strings.
 * Header-only, so that every module may log without depending on
 * another module. Lines carry a UTC timestamp, the level and the text; to
 * journald, the syslog priority, the level and the text.
 */
#ifndef INVITED_LOG_H
#define INVITED_LOG_H

#include <stdarg.h>
#include <stdio.h>
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

static inline void msg_vlog(const char *level, const char *fmt, va_list ap)
{
	char line[2048], stamp[32];
	struct tm tm;
	int n;
	if (msg_to_journal()) {
		int prio = level[0] == 'i' ? 6 : level[0] == 'w' ? 4 : level[0] == 'e' ? 3 : 2;
		n = snprintf(line, sizeof(line), "<%d>%s: ", prio, level);
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

__attribute__((format(printf, 1, 2))) static inline void msg_info(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	msg_vlog("info", fmt, ap);
	va_end(ap);
}

__attribute__((format(printf, 1, 2))) static inline void msg_warn(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	msg_vlog("warning", fmt, ap);
	va_end(ap);
}

__attribute__((format(printf, 1, 2))) static inline void msg_error(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	msg_vlog("error", fmt, ap);
	va_end(ap);
}

/* A broken invariant: log and abort. Never for bad input. */
__attribute__((format(printf, 1, 2), noreturn)) static inline void
msg_panic(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	msg_vlog("panic", fmt, ap);
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
