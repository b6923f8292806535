/*
 * enums.c: the names the store writes for each enumeration. These strings
 * are also the API's and the CLI's names, so they live in one place.
 */
#include <stdio.h>
#include <string.h>

#include "invited/store.h"

static const char *const org_kinds[] = {NULL, "provider", "reseller", "customer"};
static const char *const org_statuses[] = {"", "pending_verification", "in_review",
					   "approved", "rejected", "suspended"};
static const char *const key_roles[] = {NULL, "operator", "admin_agent", "sales_agent"};
static const char *const inv_kinds[] = {NULL, "indirect_provider", "reseller",
					"reseller_with_provider"};
static const char *const inv_statuses[] = {NULL, "draft", "queued", "sent",
					   "accepted", "declined", "expired",
					   "revoked", "bounced", "handed_off"};
static const char *const rel_kinds[] = {NULL, "indirect_provider", "reseller_of_record"};
static const char *const outbox_statuses[] = {NULL, "queued", "sending", "sent", "failed"};
static const char *const outbox_kinds[] = {NULL, "invitation", "verification", "notice",
					  "relay", "confirm", "signin", "join", "reminder"};
static const char *const inbound_actions[] = {NULL, "bounced", "bounce_noted", "auto_reply",
					     "verified", "verify_ignored", "relayed",
					     "reply_kept", "unmatched"};
static const char *const verif_statuses[] = {NULL, "pending", "verified", "superseded",
					     "bounced"};
static const char *const user_statuses[] = {NULL, "invited", "active", "removed"};

#define COUNT(a) ((int)(sizeof(a) / sizeof((a)[0])))

static const char *name_of(const char *const *names, int n, int v)
{
	return v >= 0 && v < n && names[v] != NULL ? names[v] : "unknown";
}

/* The index of s in names (from `first`), or -1. */
static int index_of(const char *const *names, int n, int first, const char *s)
{
	if (s == NULL)
		return -1;
	for (int i = first; i < n; i++)
		if (names[i] != NULL && strcmp(names[i], s) == 0)
			return i;
	return -1;
}

const char *org_kind_str(enum org_kind kind)
{
	return name_of(org_kinds, COUNT(org_kinds), kind);
}

int org_kind_parse(const char *s, enum org_kind *kind_r)
{
	int i = index_of(org_kinds, COUNT(org_kinds), 1, s);
	if (i < 0)
		return -1;
	*kind_r = (enum org_kind)i;
	return 0;
}

static const char *const domain_states[] = {"claimed", "proven", "failed"};

const char *domain_state_str(enum domain_state s)
{
	return name_of(domain_states, COUNT(domain_states), s);
}

void domain_txt_of(const char *domain, const char *token, struct domain_record *t)
{
	snprintf(t->name, sizeof(t->name), DOMAIN_TXT_PREFIX "%s", domain);
	snprintf(t->value, sizeof(t->value), DOMAIN_TXT_VALUE "%s", token);
}

static enum domain_state domain_state_of(const char *s)
{
	int i = index_of(domain_states, COUNT(domain_states), 0, s);
	return i < 0 ? DOMAIN_CLAIMED : (enum domain_state)i;
}

enum domain_state store_domain_state_parse(const char *s)
{
	return domain_state_of(s);
}

const char *org_status_str(enum org_status status)
{
	return name_of(org_statuses, COUNT(org_statuses), status);
}

int org_status_parse(const char *s, enum org_status *status_r)
{
	int i = index_of(org_statuses, COUNT(org_statuses), 0, s);
	if (i < 0)
		return -1;
	*status_r = (enum org_status)i;
	return 0;
}

const char *key_role_str(enum key_role role)
{
	return name_of(key_roles, COUNT(key_roles), role);
}

int key_role_parse(const char *s, enum key_role *role_r)
{
	int i = index_of(key_roles, COUNT(key_roles), 1, s);
	if (i < 0)
		return -1;
	*role_r = (enum key_role)i;
	return 0;
}

const char *inv_kind_str(enum inv_kind kind)
{
	return name_of(inv_kinds, COUNT(inv_kinds), kind);
}

int inv_kind_parse(const char *s, enum inv_kind *kind_r)
{
	int i = index_of(inv_kinds, COUNT(inv_kinds), 1, s);
	if (i < 0)
		return -1;
	*kind_r = (enum inv_kind)i;
	return 0;
}

const char *inv_status_str(enum inv_status status)
{
	return name_of(inv_statuses, COUNT(inv_statuses), status);
}

int inv_status_parse(const char *s, enum inv_status *status_r)
{
	int i = index_of(inv_statuses, COUNT(inv_statuses), 1, s);
	if (i < 0)
		return -1;
	*status_r = (enum inv_status)i;
	return 0;
}

const char *rel_kind_str(enum rel_kind kind)
{
	return name_of(rel_kinds, COUNT(rel_kinds), kind);
}

const char *outbox_status_str(enum outbox_status status)
{
	return name_of(outbox_statuses, COUNT(outbox_statuses), status);
}

int outbox_status_parse(const char *s, enum outbox_status *status_r)
{
	int i = index_of(outbox_statuses, COUNT(outbox_statuses), 1, s);
	if (i < 0)
		return -1;
	*status_r = (enum outbox_status)i;
	return 0;
}

const char *outbox_kind_str(enum outbox_kind kind)
{
	return name_of(outbox_kinds, COUNT(outbox_kinds), kind);
}

int outbox_kind_parse(const char *s, enum outbox_kind *kind_r)
{
	int i = index_of(outbox_kinds, COUNT(outbox_kinds), 1, s);
	if (i < 0)
		return -1;
	*kind_r = (enum outbox_kind)i;
	return 0;
}

const char *verif_status_str(enum verif_status status)
{
	return name_of(verif_statuses, COUNT(verif_statuses), status);
}

int verif_status_parse(const char *s, enum verif_status *status_r)
{
	int i = index_of(verif_statuses, COUNT(verif_statuses), 1, s);
	if (i < 0)
		return -1;
	*status_r = (enum verif_status)i;
	return 0;
}

const char *user_status_str(enum user_status status)
{
	return name_of(user_statuses, COUNT(user_statuses), status);
}

int user_status_parse(const char *s, enum user_status *status_r)
{
	int i = index_of(user_statuses, COUNT(user_statuses), 1, s);
	if (i < 0)
		return -1;
	*status_r = (enum user_status)i;
	return 0;
}

const char *inbound_action_str(enum inbound_action a)
{
	return name_of(inbound_actions, COUNT(inbound_actions), a);
}

int inbound_action_parse(const char *s, enum inbound_action *a_r)
{
	int i = index_of(inbound_actions, COUNT(inbound_actions), 1, s);
	if (i < 0)
		return -1;
	*a_r = (enum inbound_action)i;
	return 0;
}
