/*
 * console_domains.c: the organization's domains page. Every user of the
 * organization sees each listed domain's state (proven, and how; not
 * proven yet; no proof found at the last check) and, for each one not
 * proven, the DNS TXT record that would prove it. An admin agent may ask
 * for the records to be looked up now: the sweeper asks DNS at its next
 * pass (an HTTP thread never waits for DNS), each domain at most once a
 * DOMAIN_CHECK_MIN_INTERVAL, as POST /api/v1/orgs/{id}/domains/check.
 * Asking changes no proof by itself: only the record found does.
 */
#include <string.h>

#include "invited/domains.h"
#include "invited/log.h"
#include "console_int.h"

static int domains_page(struct console *c)
{
	const struct org *o = &c->me.org;
	struct cs_rows rs;
	size_t unproven = 0;
	cs_rows_begin(c, &rs, MAX_DOMAINS);
	for (size_t i = 0; i < o->n_domains; i++) {
		const struct domain_proof *p = &o->proofs[i];
		struct tpl_vars *v = cs_row_next(&rs);
		if (v == NULL)
			break;
		tpl_vars_set(v, "domain", cs_str(c, o->domains[i]));
		tpl_vars_set(v, cs_printf(c, "state_%s", domain_state_str(p->state)), "1");
		if (p->state == DOMAIN_PROVEN)
			tpl_vars_set(v, cs_printf(c, "by_%s", p->method), "1");
		else {
			struct domain_record txt;
			domain_txt_of(o->domains[i], p->token, &txt);
			tpl_vars_set(v, "txt_name", cs_str(c, txt.name));
			tpl_vars_set(v, "txt_value", cs_str(c, txt.value));
			unproven++;
		}
		tpl_vars_set(v, "checked", p->checked_at > 0 ? cs_time(c, p->checked_at) : NULL);
	}
	cs_rows_end(&rs, "rows", 0);
	if (unproven > 0)
		tpl_vars_set(&c->v, "any_unproven", "1");
	if (http_query(c->rq, "asked") != NULL)
		tpl_vars_set(&c->v, "asked", "1");
	return cs_page(c, 200, "domains");
}

static int check_now(struct console *c)
{
	const char *err;
	if (!cs_admin(c))
		return cs_error(c, 403, "read_only");
	if (store_domains_ask(c->st, c->me.org.id, c->rq->now - DOMAIN_CHECK_MIN_INTERVAL, &err) !=
	    STORE_OK) {
		msg_error("console: %s", err);
		return cs_error(c, 500, "internal");
	}
	return cs_redirect(c, "/console/domains?asked=1");
}

int cs_domains(struct console *c, const char *rest)
{
	int post = c->rq->method == HTTP_POST;
	if (strcmp(rest, "") == 0 && !post)
		return domains_page(c);
	if (strcmp(rest, "/check") == 0 && post)
		return check_now(c);
	return cs_error(c, 404, "not_found");
}
