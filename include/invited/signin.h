/*
 * signin.h: people sign in by an emailed one-time link (purpose sign_in),
 * never by a password, and stay signed in by a session (SPEC "People and
 * sign-in"). What each thing lets its holder do:
 *  - a sign-in link (15 minutes, once): start one session as one user of
 *    one organization; a GET only shows a button, so a link scanner signs
 *    nobody in;
 *  - a session id (the cookie; 256 random bits, stored only hashed): act
 *    as that user, with that user's role, until sign-out, sign-out
 *    everywhere, the idle timeout or the absolute lifetime, whichever
 *    comes first; nothing once the user is removed or the organization is
 *    no longer approved.
 * The verified primary contact of an approved organization (or of a
 * customer) is its first admin user, made when that address first asks
 * to sign in.
 */
#ifndef INVITED_SIGNIN_H
#define INVITED_SIGNIN_H

#include <sodium.h>

#include "fault.h"
#include "invitation.h"
#include "link.h"

/* base64url of 32 random bytes, without padding, and its NUL */
#define SESSION_COOKIE_SIZE (sodium_base64_ENCODED_LEN(32, sodium_base64_VARIANT_URLSAFE_NO_PADDING))

struct signin_view {
	struct user user;
	struct org org;
};

/*
 * Mail email one sign-in link per organization it may sign in to (at most
 * SIGNIN_ORGS_PER_MAIL): where it is an active or invited user, and where
 * it is the primary contact (made the first admin user now). Nothing when
 * there is none, or the address had SIGNIN_MAILS_PER_ADDRESS this hour;
 * the caller answers the same either way. One transaction of its own.
 * *sent_r tells whether a mail was queued.
 */
int signin_request(const struct inv_env *env, const char *email, const char *locale,
		   int *sent_r, const char **error_r);

enum signin_status {
	SIGNIN_OK = 0,
	SIGNIN_UNKNOWN,  /* not a sign-in link of ours */
	SIGNIN_USED,     /* used already: links are one-time */
	SIGNIN_EXPIRED,
	SIGNIN_CLOSED,   /* the user was removed, or the organization is not active */
	SIGNIN_INTERNAL,
};

/* What the link offers, without using it (the GET). */
enum signin_status signin_inspect(const struct inv_env *env, const struct link_claims *claims,
				  struct signin_view *view);

/* Use the link and start a session of `lifetime` seconds; cookie_r gets
 * the session id for the cookie (the store keeps only its hash). */
enum signin_status signin_redeem(const struct inv_env *env, const struct link_claims *claims,
				 int64_t lifetime, struct signin_view *view,
				 char cookie_r[SESSION_COOKIE_SIZE]);

/* The person a cookie value signs in: 0, or -1 when it signs in no one
 * (unknown, ended, idle longer than `idle`, past its lifetime, user
 * removed, organization not active). Notes the visit. */
int session_check(const struct inv_env *env, const char *cookie, int64_t idle,
		  struct signin_view *view);

/* Sign-out: this session ends; with everywhere, every session of its user,
 * but only from a live session (not ended, idle or past its lifetime): an
 * old cookie ends nothing else. */
int session_end(const struct inv_env *env, const char *cookie, int everywhere, int64_t idle,
		const char **error_r);

/*
 * On approval: o's verified primary contact is its first admin user (made
 * now, invited until the link is used) and *url_r a first sign-in link
 * (purpose join_org, JOIN_LINK_LIFETIME, once), in the caller's
 * transaction. *url_r stays NULL when the contact is not verified.
 */
int signin_first_link(const struct inv_env *env, const struct org *o, char **url_r,
		      const char **error_r);

/*
 * An admin (by) invites a person to its organization with a role: an
 * invited user and a join_org link (JOIN_LINK_LIFETIME, once) by mail,
 * whose use is a sign-in that makes the user active. A removed user may be
 * invited again. 409 "exists" when the address is a user already.
 */
int user_invite(const struct inv_env *env, const struct signin_view *by, const char *email,
		const char *name, enum key_role role, const char *locale, struct fault *f);

/* Change a user's role, or remove it (its sessions end with it). Not
 * one's own: 409 "self"; never the organization's last active admin: 409
 * "last_admin". 404 for a user of another organization. by->user.id 0:
 * an admin API key of by->org acts. */
int user_change(const struct inv_env *env, const struct signin_view *by, int64_t user_id,
		enum key_role role, int remove, struct fault *f);

/* The operator's: add a user by hand (invited until it first signs in at
 * /console; a removed one comes back), to an organization, or as an
 * operator (org_id 0, role ROLE_OPERATOR); and remove any user but an
 * organization's last active admin agent (409 "last_admin"). */
int user_add(const struct inv_env *env, int64_t org_id, const char *email, const char *name,
	     enum key_role role, struct user *u_r, struct fault *f);
int user_remove(const struct inv_env *env, int64_t user_id, struct fault *f);

#endif
