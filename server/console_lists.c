/*
 * console_lists.c: the dashboard, the partner lists (Indirect providers
 * for a reseller, Indirect resellers for a provider) with each partner's
 * View customers and end relationship, and the Customers list. Every list
 * shows only rows of the signed-in person's organization; another
 * organization's id gives 404, as an unknown one does.
 */
#include <string.h>

#include "invited/log.h"
#include "invited/relationship.h"
#include "console_int.h"

int cs_dashboard(struct console *c)
{
	struct org_counts n;
	const char *err;
	if (store_org_counts(c->st, c->me.org.id, &n, &err) != STORE_OK) {
		msg_error("console: %s", err);
		return cs_error(c, 500, "internal");
	}
	tpl_vars_set(&c->v, "n_partners", cs_printf(c, "%lld", (long long)n.partners));
	tpl_vars_set(&c->v, "n_customers", cs_printf(c, "%lld", (long long)n.customers));
	int64_t open = n.invitations[INV_QUEUED] + n.invitations[INV_SENT] +
		       n.invitations[INV_HANDED_OFF];
	tpl_vars_set(&c->v, "n_open", cs_printf(c, "%lld", (long long)open));
	if (n.invitations[INV_DRAFT] > 0)
		tpl_vars_set(&c->v, "n_drafts",
			     cs_printf(c, "%lld", (long long)n.invitations[INV_DRAFT]));
	if (n.invitations[INV_BOUNCED] > 0)
		tpl_vars_set(&c->v, "n_bounced",
			     cs_printf(c, "%lld", (long long)n.invitations[INV_BOUNCED]));
	int64_t unproven = 0;
	for (size_t i = 0; i < c->me.org.n_domains; i++)
		unproven += c->me.org.proofs[i].state != DOMAIN_PROVEN;
	if (unproven > 0)
		tpl_vars_set(&c->v, "n_unproven", cs_printf(c, "%lld", (long long)unproven));
	tpl_vars_set(&c->v, "n_accepted",
		     cs_printf(c, "%lld", (long long)n.invitations[INV_ACCEPTED]));
	return cs_page(c, 200, "console");
}

static int add_org_row(void *ctx, const struct relationship *r, const struct org *o)
{
	struct cs_rows *rs = ctx;
	struct console *c = rs->c;
	struct tpl_vars *v = cs_row_next(rs);
	if (v == NULL)
		return 1;
	tpl_vars_set(v, "id", cs_printf(c, "%lld", (long long)o->id));
	tpl_vars_set(v, "name", cs_str(c, o->legal_name));
	tpl_vars_set(v, "country", cs_str(c, o->country));
	tpl_vars_set(v, "partner_id", o->partner_id[0] ? cs_str(c, o->partner_id) : NULL);
	tpl_vars_set(v, "contact", cs_str(c, o->contact_email));
	tpl_vars_set(v, "since", cs_time(c, r->created_at));
	rs->last_id = r->id;
	return 0;
}

/* List rf's rows into the page's "rows", with the next page's cursor. */
static int list_orgs(struct console *c, struct rel_filter *rf)
{
	const char *err;
	struct cs_rows rs;
	cs_rows_begin(c, &rs, CONSOLE_PAGE_ROWS);
	rf->limit = CONSOLE_PAGE_ROWS;
	rf->before_id = cs_cursor(c);
	if (store_rel_list(c->st, rf, add_org_row, &rs, &err) != STORE_OK) {
		msg_error("console: %s", err);
		return -1;
	}
	cs_rows_end(&rs, "rows", 1);
	return 0;
}

static int partner_list(struct console *c)
{
	struct rel_filter rf = {.kind = REL_INDIRECT_PROVIDER, .org_id = c->me.org.id};
	rf.side = c->me.org.kind == ORG_PROVIDER ? REL_LIST_DOWN : REL_LIST_UP;
	if (list_orgs(c, &rf) < 0)
		return cs_error(c, 500, "internal");
	return cs_page(c, 200, "partners");
}

/* View customers: those both c's organization and the partner serve. */
static int shared_customers(struct console *c, const struct org *partner)
{
	struct rel_filter rf = {.kind = REL_RESELLER_OF_RECORD, .side = REL_LIST_DOWN,
				.org_id = c->me.org.id, .shared_with = partner->id};
	if (list_orgs(c, &rf) < 0)
		return cs_error(c, 500, "internal");
	tpl_vars_set(&c->v, "partner", partner->legal_name);
	tpl_vars_set(&c->v, "partner_id", cs_printf(c, "%lld", (long long)partner->id));
	return cs_page(c, 200, "partner_customers");
}

/* End: GET asks to confirm, POST (admins) ends it; both sides are mailed. */
static int end_partner(struct console *c, const struct org *partner)
{
	if (c->rq->method == HTTP_POST) {
		struct fault f = {0};
		if (!cs_admin(c))
			return cs_error(c, 403, "not_allowed");
		if (relationship_end(&c->env, &c->me.org, REL_INDIRECT_PROVIDER, partner->id,
				     &f) < 0)
			return cs_fault(c, &f);
		app_kick_outbox(c->rq->app);
		return cs_redirect(c, "/console/partners?ended=1");
	}
	tpl_vars_set(&c->v, "partner", partner->legal_name);
	tpl_vars_set(&c->v, "partner_id", cs_printf(c, "%lld", (long long)partner->id));
	return cs_page(c, 200, "partner_end");
}

int cs_partners(struct console *c, const char *rest)
{
	struct org partner;
	int get = c->rq->method != HTTP_POST;
	if (c->me.org.kind == ORG_CUSTOMER)
		return cs_error(c, 404, "not_found");
	if (rest[0] == '\0' && get) {
		if (http_query(c->rq, "ended") != NULL)
			tpl_vars_set(&c->v, "ended", "1");
		return partner_list(c);
	}
	int64_t id = rest[0] == '/' ? cs_path_id(rest + 1, &rest) : -1;
	if (id < 0 || cs_partner(c, REL_INDIRECT_PROVIDER, id, &partner) < 0)
		return cs_error(c, 404, "not_found");
	if (strcmp(rest, "/customers") == 0 && get)
		return shared_customers(c, &partner);
	if (strcmp(rest, "/end") == 0)
		return end_partner(c, &partner);
	return cs_error(c, 404, "not_found");
}

int cs_customers(struct console *c)
{
	struct rel_filter rf = {.kind = REL_RESELLER_OF_RECORD, .side = REL_LIST_DOWN,
				.org_id = c->me.org.id};
	if (c->me.org.kind == ORG_CUSTOMER)
		return cs_error(c, 404, "not_found");
	if (list_orgs(c, &rf) < 0)
		return cs_error(c, 500, "internal");
	return cs_page(c, 200, "customers");
}
