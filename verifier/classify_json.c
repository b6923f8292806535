/*
 * classify_json.c: a classify_result as JSON, for the CLI and the logs.
 * Every string in a result is clean UTF-8 (classify_text.c), so jansson
 * takes them as they are; empty strings are written as null.
 */
#include <jansson.h>
#include <stdlib.h>

#include "classify_int.h"

static json_t *str_or_null(const char *s)
{
	return s != NULL && s[0] != '\0' ? json_string(s) : json_null();
}

/* json_object_set_new that remembers a failure instead of returning it. */
static void put(json_t *obj, const char *key, json_t *value, int *failed)
{
	if (value == NULL || json_object_set_new(obj, key, value) < 0)
		*failed = 1;
}

static json_t *recipients_json(const struct classify_result *res, int *failed)
{
	json_t *list = json_array();
	if (list == NULL) {
		*failed = 1;
		return NULL;
	}
	for (size_t i = 0; i < res->n_rcpts && i < CLASSIFY_MAX_RCPTS; i++) {
		const struct bounce_rcpt *r = &res->rcpts[i];
		json_t *o = json_object();
		if (o == NULL || json_array_append_new(list, o) < 0) {
			*failed = 1;
			break;
		}
		put(o, "address", str_or_null(r->addr), failed);
		put(o, "action", str_or_null(r->action), failed);
		put(o, "status", str_or_null(r->status), failed);
		put(o, "diagnostic", str_or_null(r->diagnostic), failed);
		put(o, "kind", json_string(bounce_kind_str(r->kind)), failed);
	}
	return list;
}

static json_t *auth_json(const struct classify_result *res, int *failed)
{
	json_t *list = json_array();
	if (list == NULL) {
		*failed = 1;
		return NULL;
	}
	for (size_t i = 0; i < res->n_auth && i < CLASSIFY_MAX_AUTH; i++) {
		const struct auth_result *a = &res->auth[i];
		json_t *o = json_object();
		if (o == NULL || json_array_append_new(list, o) < 0) {
			*failed = 1;
			break;
		}
		put(o, "authserv_id", str_or_null(a->authserv_id), failed);
		put(o, "method", str_or_null(a->method), failed);
		put(o, "result", str_or_null(a->result), failed);
		put(o, "domain", str_or_null(a->domain), failed);
	}
	return list;
}

char *classify_result_json(const struct classify_result *res)
{
	json_t *o = json_object();
	int failed = o == NULL;
	char *text = NULL;
	if (failed)
		return NULL;
	put(o, "class", json_string(mail_class_str(res->cls)), &failed);
	put(o, "reason", str_or_null(res->reason), &failed);
	put(o, "tag", str_or_null(mail_tag_str(res->tag)), &failed);
	put(o, "code", str_or_null(res->code), &failed);
	put(o, "message_id", str_or_null(res->message_id), &failed);
	put(o, "in_reply_to", str_or_null(res->in_reply_to), &failed);
	put(o, "from", str_or_null(res->from_addr), &failed);
	put(o, "from_name", str_or_null(res->from_name), &failed);
	put(o, "subject", str_or_null(res->subject), &failed);
	put(o, "bounce",
	    res->cls == MAIL_BOUNCE ? json_string(bounce_kind_str(res->bounce)) : json_null(),
	    &failed);
	put(o, "recipients", recipients_json(res, &failed), &failed);
	put(o, "returned_message_id", str_or_null(res->returned_message_id), &failed);
	put(o, "auth", auth_json(res, &failed), &failed);
	if (!failed)
		text = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(o);
	return text;
}
