/*
 * rfc3339.h: UTC timestamps as RFC 3339 text, for token claims and API
 * output. Header-only: every module may need it and none should own it.
 */
#ifndef INVITED_RFC3339_H
#define INVITED_RFC3339_H

#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#define RFC3339_LEN 20 /* 2026-11-24T17:00:00Z */

/* Format t as YYYY-MM-DDTHH:MM:SSZ into buf (at least RFC3339_LEN + 1). */
static inline char *rfc3339_format(int64_t t, char *buf)
{
	struct tm tm;
	time_t tt = (time_t)t;
	if (gmtime_r(&tt, &tm) == NULL ||
	    strftime(buf, RFC3339_LEN + 1, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		buf[0] = '\0';
	return buf;
}

/*
 * Parse "YYYY-MM-DDTHH:MM:SS" with optional fraction and a "Z" or "±HH:MM"
 * offset. Returns 0 and the unix time, or -1 when s is not that.
 */
static inline int rfc3339_parse(const char *s, int64_t *t_r)
{
	struct tm tm;
	int y, mo, d, h, mi, sec, n = 0;
	memset(&tm, 0, sizeof(tm));
	if (sscanf(s, "%4d-%2d-%2d%*1[Tt]%2d:%2d:%2d%n", &y, &mo, &d, &h, &mi,
		   &sec, &n) != 6 || n != 19)
		return -1;
	if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 60)
		return -1;
	const char *p = s + n;
	if (*p == '.') {
		p++;
		if (*p < '0' || *p > '9')
			return -1;
		while (*p >= '0' && *p <= '9')
			p++;
	}
	int offset = 0;
	if (*p == 'Z' || *p == 'z') {
		p++;
	} else if (*p == '+' || *p == '-') {
		int oh, om, m = 0;
		if (sscanf(p + 1, "%2d:%2d%n", &oh, &om, &m) != 2 || m != 5 ||
		    oh > 23 || om > 59)
			return -1;
		offset = (oh * 60 + om) * 60 * (*p == '-' ? -1 : 1);
		p += 6;
	} else {
		return -1;
	}
	if (*p != '\0')
		return -1;
	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = sec;
	*t_r = (int64_t)timegm(&tm) - offset;
	return 0;
}

#endif
