/*
 * fault.h: why a request could not be done, in terms every edge can show:
 * an HTTP status, a stable machine code, the offending field, and a plain
 * sentence. Header-only: links, verifier and server all fill it in.
 */
#ifndef INVITED_FAULT_H
#define INVITED_FAULT_H

#include <stddef.h>

struct fault {
	int status;          /* HTTP status: 400, 403, 404, 409, 410, 422, 429, 500 */
	const char *code;    /* machine code, e.g. "invalid_field", "not_found" */
	const char *field;   /* the request field at fault, or NULL */
	const char *message; /* one plain sentence (static or errorf) */
};

/* Fill f and return -1, so that `return fault_set(…);` reads naturally. */
static inline int fault_set(struct fault *f, int status, const char *code,
			    const char *field, const char *message)
{
	f->status = status;
	f->code = code;
	f->field = field;
	f->message = message;
	return -1;
}

/* A store or library failure: the details go to the log, not the client. */
static inline int fault_internal(struct fault *f, const char *message)
{
	return fault_set(f, 500, "internal", NULL,
			 message ? message : "internal error");
}

#endif
