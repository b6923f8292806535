/*
 * http_int.h: what http.c and http_respond.c share and no handler needs:
 * a method by its name, the path as a log line may hold it, redirects of
 * any status.
 */
#ifndef INVITED_HTTP_INT_H
#define INVITED_HTTP_INT_H

#include <stddef.h>

#include "invited/http.h"

/* HTTP_OTHER for a method no route takes. */
enum http_method http_method_parse(const char *m);
/*
 * A request's path as a log line may hold it: printable ASCII, every other
 * byte as %XX, a link's token left out, cut at out's size. Returns out.
 */
const char *http_safe_path(const char *path, char *out, size_t size);
/* Answer `status` (303, 308) sending the client to location. */
int http_redirect_status(struct request *rq, int status, const char *location,
			 const char *set_cookie);

#endif
