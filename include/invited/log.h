/*
 * log.h: logging to standard error and formatted error strings.
 * Header-only, so that every module may log without depending on
 * another module. Lines carry a UTC timestamp, the level and the text.
 */
#ifndef INVITED_LOG_H
#define INVITED_LOG_H

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "limits.h"

static inline void msg_vlog(const char *level, const char *fmt, va_list ap)
{
	char line[2048], stamp[32];
	struct tm tm;
	time_t now = time(NULL);
	gmtime_r(&now, &tm);
	strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%SZ", &tm);
	int n = snprintf(line, sizeof(line), "%s invited[%d]: %s: ", stamp,
			 (int)getpid(), level);
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
