/*
 * classify_tag.c: which of our tagged addresses (bounces+CODE, verify+CODE,
 * reply+CODE at the reply domain) a message was sent to. The header the
 * delivering MTA wrote wins over the ones the sender wrote: Delivered-To,
 * X-Original-To, then To and Cc. Return-Path names the sender, never us.
 */
#include <ctype.h>
#include <string.h>
#include <strings.h>

#include "classify_int.h"

#define TAG_ALL ((1u << TAG_BOUNCES) | (1u << TAG_VERIFY) | (1u << TAG_REPLY))

static const struct {
	const char *prefix;
	enum mail_tag tag;
} tag_prefixes[] = {
	{"bounces+", TAG_BOUNCES},
	{"verify+", TAG_VERIFY},
	{"reply+", TAG_REPLY},
};

static int local_char(unsigned char c)
{
	return isalnum(c) || c >= 0x80 || strchr("!#$%&'*+-/=?^_`{|}~.", c) != NULL;
}

static int domain_char(unsigned char c)
{
	return isalnum(c) || c >= 0x80 || c == '-' || c == '.' || c == '_';
}

/* A code is lowercase base32; an MTA that upper-cased the address
 * changed nothing else, so it is read back in lower case. */
static int code_copy(char code[MAX_CODE_LEN + 1], const char *s, size_t len)
{
	if (len == 0 || len > MAX_CODE_LEN)
		return 0;
	for (size_t i = 0; i < len; i++) {
		int c = tolower((unsigned char)s[i]);
		if (!((c >= 'a' && c <= 'z') || (c >= '2' && c <= '7')))
			return 0;
		code[i] = (char)c;
	}
	code[len] = '\0';
	return 1;
}

static int domain_is(const char *dom, size_t dlen, const char *domain)
{
	return domain[0] != '\0' && dlen == strlen(domain) && strncasecmp(dom, domain, dlen) == 0;
}

static enum mail_tag tag_check(const char *local, size_t llen, const char *dom, size_t dlen,
			       const char *domain, unsigned mask, char code[MAX_CODE_LEN + 1])
{
	if (!domain_is(dom, dlen, domain))
		return TAG_NONE;
	/* A signing MTA may have prefixed the local part (BATV "prvs=…="). */
	for (size_t i = llen; i > 0; i--) {
		if (local[i - 1] == '=') {
			local += i;
			llen -= i;
			break;
		}
	}
	for (size_t i = 0; i < sizeof(tag_prefixes) / sizeof(tag_prefixes[0]); i++) {
		size_t plen = strlen(tag_prefixes[i].prefix);
		if (!(mask & (1u << tag_prefixes[i].tag)) || llen <= plen ||
		    strncasecmp(local, tag_prefixes[i].prefix, plen) != 0)
			continue;
		return code_copy(code, local + plen, llen - plen) ? tag_prefixes[i].tag : TAG_NONE;
	}
	return TAG_NONE;
}

enum mail_tag cls_tag_scan(const char *s, size_t len, const char *domain, unsigned mask,
			   char code[MAX_CODE_LEN + 1])
{
	char found[MAX_CODE_LEN + 1];
	const char *at = s;
	while ((at = memchr(at, '@', len - (size_t)(at - s))) != NULL) {
		size_t i = (size_t)(at - s), start = i, end = i + 1;
		enum mail_tag tag;
		while (start > 0 && local_char((unsigned char)s[start - 1]))
			start--;
		while (end < len && domain_char((unsigned char)s[end]) && end - i <= MAX_DOMAIN_LEN)
			end++;
		while (end > i + 1 && s[end - 1] == '.')
			end--;
		tag = tag_check(s + start, i - start, s + i + 1, end - i - 1, domain, mask, found);
		if (tag != TAG_NONE) {
			memcpy(code, found, sizeof(found));
			return tag;
		}
		at++;
	}
	return TAG_NONE;
}

int cls_addr_at(const char *s, size_t left, size_t *len_r)
{
	size_t i = 0, at, end;
	while (i < left && s[i] != '@' && local_char((unsigned char)s[i]))
		i++;
	if (i == 0 || i > MAX_LOCAL_PART_LEN || i >= left || s[i] != '@' || s[0] == '.')
		return 0;
	at = i;
	end = at + 1;
	while (end < left && domain_char((unsigned char)s[end]))
		end++;
	while (end > at + 1 && s[end - 1] == '.')
		end--;
	if (end == at + 1 || end - at - 1 > MAX_DOMAIN_LEN || end > MAX_EMAIL_LEN)
		return 0;
	*len_r = end;
	return 1;
}

static int tag_in(const char *s, const char *domain, struct classify_result *res)
{
	enum mail_tag tag = cls_tag_scan(s, strlen(s), domain, TAG_ALL, res->code);
	if (tag == TAG_NONE)
		return 0;
	res->tag = tag;
	return 1;
}

static int tag_in_named(const struct mailimf_fields *f, const char *name, const char *domain,
			struct classify_result *res)
{
	const char *v;
	for (int n = 0; (v = cls_field(f, name, n)) != NULL; n++)
		if (tag_in(v, domain, res))
			return 1;
	return 0;
}

static int tag_in_mailboxes(const struct mailimf_mailbox_list *l, const char *domain,
			    struct classify_result *res)
{
	if (l == NULL || l->mb_list == NULL)
		return 0;
	for (clistiter *it = clist_begin(l->mb_list); it != NULL; it = clist_next(it)) {
		const struct mailimf_mailbox *mb = clist_content(it);
		if (mb->mb_addr_spec != NULL && tag_in(mb->mb_addr_spec, domain, res))
			return 1;
	}
	return 0;
}

static int tag_in_addresses(const struct mailimf_address_list *l, const char *domain,
			    struct classify_result *res)
{
	if (l == NULL || l->ad_list == NULL)
		return 0;
	for (clistiter *it = clist_begin(l->ad_list); it != NULL; it = clist_next(it)) {
		const struct mailimf_address *a = clist_content(it);
		if (a->ad_type == MAILIMF_ADDRESS_MAILBOX && a->ad_data.ad_mailbox != NULL &&
		    a->ad_data.ad_mailbox->mb_addr_spec != NULL &&
		    tag_in(a->ad_data.ad_mailbox->mb_addr_spec, domain, res))
			return 1;
		if (a->ad_type == MAILIMF_ADDRESS_GROUP && a->ad_data.ad_group != NULL &&
		    tag_in_mailboxes(a->ad_data.ad_group->grp_mb_list, domain, res))
			return 1;
	}
	return 0;
}

/* To or Cc, parsed; or as libetpan kept it when it could not parse it. */
static int tag_in_recipients(const struct mailimf_fields *f, int type, const char *name,
			     const char *domain, struct classify_result *res)
{
	for (clistiter *it = clist_begin(f->fld_list); it != NULL; it = clist_next(it)) {
		const struct mailimf_field *fld = clist_content(it);
		const struct mailimf_address_list *l = NULL;
		if (fld->fld_type == MAILIMF_FIELD_TO && type == MAILIMF_FIELD_TO &&
		    fld->fld_data.fld_to != NULL)
			l = fld->fld_data.fld_to->to_addr_list;
		else if (fld->fld_type == MAILIMF_FIELD_CC && type == MAILIMF_FIELD_CC &&
			 fld->fld_data.fld_cc != NULL)
			l = fld->fld_data.fld_cc->cc_addr_list;
		if (l != NULL && tag_in_addresses(l, domain, res))
			return 1;
	}
	return tag_in_named(f, name, domain, res);
}

void cls_tag_find(struct cls_msg *m, const char *domain, struct classify_result *res)
{
	const struct mailimf_fields *f = m->fields;
	if (f == NULL || f->fld_list == NULL)
		return;
	if (tag_in_named(f, "Delivered-To", domain, res) ||
	    tag_in_named(f, "X-Original-To", domain, res) ||
	    tag_in_recipients(f, MAILIMF_FIELD_TO, "To", domain, res) ||
	    tag_in_recipients(f, MAILIMF_FIELD_CC, "Cc", domain, res))
		return;
	res->code[0] = '\0';
}

/*
 * A bounce that reached us by another road (forwarded, or read from a
 * mailbox without Delivered-To) still names our envelope sender in the
 * report (X-Postfix-Sender, the returned Return-Path) or, failing that,
 * the returned Message-ID, which is <CODE@reply_domain>.
 */
void cls_tag_find_returned(struct cls_msg *m, const char *domain, struct classify_result *res)
{
	const char *id = res->returned_message_id, *at;
	if (cls_tag_scan(m->buf, m->len, domain, 1u << TAG_BOUNCES, res->code) == TAG_BOUNCES) {
		res->tag = TAG_BOUNCES;
		return;
	}
	at = strrchr(id, '@');
	if (at != NULL && domain_is(at + 1, strlen(at + 1), domain) &&
	    code_copy(res->code, id, (size_t)(at - id)))
		res->tag = TAG_BOUNCES;
	else
		res->code[0] = '\0';
}
