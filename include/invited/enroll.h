/*
 * enroll.h: partners enroll themselves, and the operator reviews them.
 *
 * An enrollment is an organization in one of the enrollment states:
 *
 *   pending_verification --(contact verified)--> in_review
 *   in_review --approve--> approved --suspend--> suspended --approve--> approved
 *   in_review | pending_verification --reject--> rejected (final)
 *
 * Every other move is refused with 409 and a sentence saying why. Each
 * change is one transaction with the mail it sends the primary contact
 * and its audit line. The checks of an enrollment request are pure
 * functions of the request and the public mailbox list, so they can be
 * tested without a store.
 */
#ifndef INVITED_ENROLL_H
#define INVITED_ENROLL_H

#include <stddef.h>
#include <stdint.h>

#include "domains.h"
#include "fault.h"
#include "mailer.h"
#include "outbox.h"
#include "store.h"

/*
 * Minting a link is the links module's job, and the verifier must not
 * depend on it: the caller passes this in. It issues a verify_contact link
 * for the verification in the caller's transaction, and returns its id
 * (jti) and its URL (malloc'd).
 */
typedef int verify_link_fn(void *ctx, struct store *st, int64_t verification_id,
			   int64_t now, int64_t lifetime,
			   char jti[MAX_CODE_LEN + 1], char **url_r,
			   const char **error_r);

/*
 * On approval, the primary contact becomes the organization's first admin
 * user and gets a first sign-in link in the approval mail: minted by the
 * links module, passed in like verify_link_fn. *url_r is malloc'd.
 */
typedef int first_signin_fn(void *ctx, struct store *st, const struct org *o, int64_t now,
			    char **url_r, const char **error_r);

/* What every operation needs; filled per request by the caller. */
struct verifier_env {
	struct store *st;
	const struct mailer *mailer;
	const struct domain_list *public_domains; /* may be NULL: no list */
	int64_t verification_lifetime;
	int64_t resend_interval; /* least seconds between two verification mails */
	int recipient_limit;     /* verification mails to one address per hour (0: any) */
	int64_t now;
	const char *actor;       /* for the audit log */
	verify_link_fn *issue_link;
	first_signin_fn *first_signin; /* may be NULL: no sign-in link */
	/* What a bounce or a reply means for what the mail carried is the
	 * owner's to decide (an invitation's is the links module): told
	 * through this; may be NULL (nothing changes). */
	mail_report_fn *report_mail;
	void *link_ctx;                /* the callbacks' context */
};

struct enroll_request {
	const char *kind;        /* "provider" or "reseller" */
	const char *legal_name;
	const char *address;     /* postal address; may span lines */
	const char *country;     /* ISO 3166-1 alpha-2, any case */
	const char *partner_id;  /* optional */
	size_t n_domains;
	const char *domains[MAX_DOMAINS + 1]; /* one more, to see "too many" */
	const char *contact_name;
	const char *contact_email;
	const char *contact_phone;
	const char *support_email; /* at least one of the three */
	const char *support_phone;
	const char *support_url;
	const char *locale;        /* optional: the mails' language */
};

/* Field names used in faults, as the API spells them. */
#define ENROLL_F_KIND "kind"
#define ENROLL_F_LEGAL_NAME "legal_name"
#define ENROLL_F_ADDRESS "address"
#define ENROLL_F_COUNTRY "country"
#define ENROLL_F_PARTNER_ID "partner_id"
#define ENROLL_F_DOMAINS "domains"
#define ENROLL_F_CONTACT_NAME "primary_contact.name"
#define ENROLL_F_CONTACT_EMAIL "primary_contact.email"
#define ENROLL_F_CONTACT_PHONE "primary_contact.phone"
#define ENROLL_F_SUPPORT "support_contact"
#define ENROLL_F_SUPPORT_EMAIL "support_contact.email"
#define ENROLL_F_SUPPORT_PHONE "support_contact.phone"
#define ENROLL_F_SUPPORT_URL "support_contact.url"
#define ENROLL_F_LOCALE "locale"

/* 1 when cc (two letters, any case) is an ISO 3166-1 alpha-2 code. */
int country_code_valid(const char *cc);

/*
 * Check every field of req and fill o (status pending_verification,
 * domains lowercased and deduplicated, country uppercased). 422 with the
 * field named on the first problem. Needs no store: the domain owners are
 * checked by enroll_create.
 */
int enroll_check(const struct enroll_request *req,
		 const struct domain_list *public_domains,
		 const struct mailer *mailer, struct org *o, struct fault *f);

/*
 * Enroll: check, refuse a domain an approved organization already owns
 * (409), store the organization as pending_verification, and send its
 * primary contact a verification mail. o_r gets the new organization.
 */
int enroll_create(const struct verifier_env *env,
		  const struct enroll_request *req, struct org *o_r,
		  struct fault *f);

/* The operator's decisions. */
enum review_action { REVIEW_APPROVE = 1, REVIEW_REJECT, REVIEW_SUSPEND };

const char *review_action_str(enum review_action a);
int review_action_parse(const char *s, enum review_action *a_r);

/*
 * Apply a decision to organization org_id (see the table above); reason
 * is required to reject or suspend, optional to approve. Approving needs a
 * verified contact and no approved organization owning one of its
 * domains. The contact is mailed. o_r (may be NULL) gets the organization
 * after the change.
 */
int enroll_review(const struct verifier_env *env, int64_t org_id,
		  enum review_action action, const char *reason,
		  struct org *o_r, struct fault *f);

/*
 * The status an organization in `from` would move to under action, or
 * -1 with the reason (a static sentence) in *why_r and its machine code in
 * *code_r. The table of the header comment, as code.
 */
int review_transition(enum org_status from, int contact_verified,
		      enum review_action action, const char **code_r,
		      const char **why_r);

#endif
