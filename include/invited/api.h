/*
 * api.h: what the /api/v1 handlers share: who is calling (from the
 * bearer API key), JSON input checked at the edge, JSON output of the
 * store's records, and the keys themselves (stored hashed).
 */
#ifndef INVITED_API_H
#define INVITED_API_H

#include <jansson.h>

#include "fault.h"
#include "http.h"
#include "store.h"

/* An API key as handed out: "ik_" + 16 hex id + "_" + 43 base64url secret. */
#define APIKEY_TEXT_LEN 63

struct caller {
	int authenticated;
	enum key_role role;
	int64_t org_id;   /* 0 for the operator */
	char actor[32];   /* "apikey:<id>" for the audit log */
};

/*
 * An API key is a capability: its holder acts as its organization (org_id;
 * 0: the operator) with its role, on /api/v1 only, until it is revoked.
 * Make a key, store its hash, write the text form (shown once) and the
 * event, in the caller's transaction.
 */
int apikey_create(struct store *st, int64_t org_id, enum key_role role,
		  const char *label, const char *actor, int64_t now,
		  char text[APIKEY_TEXT_LEN + 1], int64_t *id_r, const char **error_r);
/* Revoke a live key of org_id (0: the operator's), with its event, in the
 * caller's transaction: 0, 1 when there is no such live key, -1. */
int apikey_revoke(struct store *st, int64_t org_id, int64_t id, const char *actor,
		  int64_t now, const char **error_r);
/* Check an "Authorization: Bearer …" value. 0, or -1 with a 401 fault. */
int apikey_check(struct store *st, const char *authorization, struct caller *c,
		 struct fault *f);

/* Routing context for one API request. */
struct api_call {
	struct request *rq;
	struct store *st;
	struct caller caller;
};

/* 405 method_not_allowed, with allow ("GET, POST") as the Allow header. */
int api_not_allowed(struct api_call *call, const char *allow, struct fault *f);
/* The parsed JSON object body, or NULL with a 400 fault. */
json_t *api_body(struct api_call *call, struct fault *f);
/* Refuse fields not in the NULL-terminated list (422 unknown_field). */
int api_known_fields(json_t *body, const char *const *names, struct fault *f);
/* A string field: NULL when absent; 422 when not a string or too long. */
int api_string(json_t *body, const char *name, size_t max, int required,
	       const char **out, struct fault *f);
/* An integer id field: 0 when absent. */
int api_id(json_t *body, const char *name, int64_t *out, struct fault *f);
/* A path segment as an id; -1 when not a positive integer. */
int64_t api_parse_id(const char *s, size_t len);
/* ?limit= and ?cursor= */
int api_page(struct api_call *call, int *limit_r, int64_t *cursor_r, struct fault *f);
/* {"items": items, "next_cursor": …} */
json_t *api_page_result(json_t *items, int limit, int64_t last_id);

/* Require an org key (of role admin_agent when admin is set). */
int api_need_org(struct api_call *call, int admin, struct fault *f);
int api_need_operator(struct api_call *call, struct fault *f);

json_t *api_time(int64_t t);
json_t *api_org_json(const struct org *o);
json_t *api_org_summary(const struct org *o);

int api_invitations(struct api_call *call, const char *rest);
int api_orgs(struct api_call *call, const char *rest);
int api_users(struct api_call *call, const char *rest);
int api_events(struct api_call *call, const char *rest);
int api_relationships(struct api_call *call, const char *rest);
int api_webhooks(struct api_call *call, const char *rest);
int api_apikeys(struct api_call *call, const char *rest);
int api_enrollments(struct api_call *call, const char *rest);
/* POST /orgs/{id}/approve|reject (operator). */
int api_org_review(struct api_call *call, struct org *o, const char *verb,
		   struct fault *f);

#endif
