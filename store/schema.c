/*
 * schema.c: the database schema as a list of migrations. Migration N
 * brings PRAGMA user_version from N-1 to N; never edit one that has
 * shipped, add the next. Tables are STRICT; times are unix seconds.
 */

#include "store_int.h"

const char *const store_migrations[] = {
	/* 1: the first schema */
	"CREATE TABLE orgs ("
	"  id INTEGER PRIMARY KEY,"
	"  kind TEXT NOT NULL CHECK (kind IN ('provider','reseller','customer')),"
	"  status TEXT NOT NULL CHECK (status IN ('','pending_verification',"
	"    'in_review','approved','rejected','suspended')),"
	"  legal_name TEXT NOT NULL,"
	"  address TEXT NOT NULL DEFAULT '',"
	"  country TEXT NOT NULL DEFAULT '',"
	"  partner_id TEXT NOT NULL DEFAULT '',"
	"  contact_name TEXT NOT NULL DEFAULT '',"
	"  contact_email TEXT NOT NULL DEFAULT '',"
	"  contact_phone TEXT NOT NULL DEFAULT '',"
	"  support_email TEXT NOT NULL DEFAULT '',"
	"  support_phone TEXT NOT NULL DEFAULT '',"
	"  support_url TEXT NOT NULL DEFAULT '',"
	"  locale TEXT NOT NULL DEFAULT 'en',"
	"  status_reason TEXT NOT NULL DEFAULT '',"
	"  contact_verified INTEGER NOT NULL DEFAULT 0,"
	"  created_at INTEGER NOT NULL,"
	"  updated_at INTEGER NOT NULL"
	") STRICT;"
	"CREATE INDEX orgs_status ON orgs (status, id);"
	"CREATE INDEX orgs_contact ON orgs (contact_email);"
	"CREATE TABLE org_domains ("
	"  org_id INTEGER NOT NULL REFERENCES orgs (id),"
	"  domain TEXT NOT NULL,"
	"  PRIMARY KEY (org_id, domain)"
	") STRICT, WITHOUT ROWID;"
	"CREATE INDEX org_domains_domain ON org_domains (domain);"
	"CREATE TABLE api_keys ("
	"  id INTEGER PRIMARY KEY,"
	"  key_id TEXT NOT NULL UNIQUE,"
	"  hash BLOB NOT NULL,"
	"  org_id INTEGER REFERENCES orgs (id),"
	"  role TEXT NOT NULL CHECK (role IN ('operator','admin_agent','sales_agent')),"
	"  label TEXT NOT NULL DEFAULT '',"
	"  created_at INTEGER NOT NULL,"
	"  revoked_at INTEGER"
	") STRICT;"
	"CREATE TABLE invitations ("
	"  id INTEGER PRIMARY KEY,"
	"  kind TEXT NOT NULL CHECK (kind IN ('indirect_provider','reseller',"
	"    'reseller_with_provider')),"
	"  status TEXT NOT NULL CHECK (status IN ('draft','queued','sent','accepted',"
	"    'declined','expired','revoked','bounced','handed_off')),"
	"  inviter_org_id INTEGER NOT NULL REFERENCES orgs (id),"
	"  provider_org_id INTEGER REFERENCES orgs (id),"
	"  accepted_org_id INTEGER REFERENCES orgs (id),"
	"  email TEXT NOT NULL,"
	"  name TEXT NOT NULL DEFAULT '',"
	"  locale TEXT NOT NULL,"
	"  message TEXT NOT NULL DEFAULT '',"
	"  status_reason TEXT NOT NULL DEFAULT '',"
	"  reply_code TEXT NOT NULL UNIQUE,"
	"  jti TEXT NOT NULL DEFAULT '',"
	"  subject TEXT NOT NULL,"
	"  body_text TEXT NOT NULL,"
	"  body_html TEXT NOT NULL,"
	"  edited INTEGER NOT NULL DEFAULT 0,"
	"  expires_at INTEGER NOT NULL,"
	"  created_at INTEGER NOT NULL,"
	"  updated_at INTEGER NOT NULL"
	") STRICT;"
	"CREATE INDEX invitations_inviter ON invitations (inviter_org_id, id);"
	"CREATE INDEX invitations_inviter_status ON invitations (inviter_org_id, status, id);"
	"CREATE INDEX invitations_open ON invitations (expires_at)"
	"  WHERE status IN ('draft','queued','sent','handed_off');"
	"CREATE TABLE links ("
	"  jti TEXT PRIMARY KEY,"
	"  purpose TEXT NOT NULL,"
	"  subject_id INTEGER NOT NULL,"
	"  kid TEXT NOT NULL,"
	"  token TEXT NOT NULL,"
	"  issued_at INTEGER NOT NULL,"
	"  expires_at INTEGER NOT NULL,"
	"  state TEXT NOT NULL CHECK (state IN ('live','used','revoked')),"
	"  used_at INTEGER"
	") STRICT, WITHOUT ROWID;"
	"CREATE TABLE relationships ("
	"  id INTEGER PRIMARY KEY,"
	"  kind TEXT NOT NULL CHECK (kind IN ('indirect_provider','reseller_of_record')),"
	"  up_org_id INTEGER NOT NULL REFERENCES orgs (id),"
	"  down_org_id INTEGER NOT NULL REFERENCES orgs (id),"
	"  invitation_id INTEGER REFERENCES invitations (id),"
	"  active INTEGER NOT NULL DEFAULT 1,"
	"  created_at INTEGER NOT NULL,"
	"  ended_at INTEGER"
	") STRICT;"
	"CREATE UNIQUE INDEX relationships_one_active"
	"  ON relationships (kind, up_org_id, down_org_id) WHERE active = 1;"
	"CREATE INDEX relationships_down ON relationships (down_org_id, kind, id);"
	"CREATE INDEX relationships_up ON relationships (up_org_id, kind, id);"
	"CREATE TABLE verifications ("
	"  id INTEGER PRIMARY KEY,"
	"  org_id INTEGER NOT NULL REFERENCES orgs (id),"
	"  email TEXT NOT NULL,"
	"  reply_code TEXT NOT NULL UNIQUE,"
	"  jti TEXT NOT NULL DEFAULT '',"
	"  status TEXT NOT NULL CHECK (status IN ('pending','verified','superseded',"
	"    'bounced')),"
	"  method TEXT NOT NULL DEFAULT '',"
	"  status_reason TEXT NOT NULL DEFAULT '',"
	"  expires_at INTEGER NOT NULL,"
	"  created_at INTEGER NOT NULL,"
	"  verified_at INTEGER"
	") STRICT;"
	"CREATE INDEX verifications_org ON verifications (org_id, id);"
	"CREATE TABLE outbox ("
	"  id INTEGER PRIMARY KEY,"
	"  code TEXT NOT NULL UNIQUE,"
	"  message_id TEXT NOT NULL UNIQUE,"
	"  kind TEXT NOT NULL,"
	"  invitation_id INTEGER REFERENCES invitations (id),"
	"  verification_id INTEGER REFERENCES verifications (id),"
	"  org_id INTEGER REFERENCES orgs (id),"
	"  env_from TEXT NOT NULL,"
	"  rcpt TEXT NOT NULL,"
	"  data BLOB NOT NULL,"
	"  status TEXT NOT NULL CHECK (status IN ('queued','sending','sent','failed')),"
	"  attempts INTEGER NOT NULL DEFAULT 0,"
	"  next_attempt_at INTEGER NOT NULL,"
	"  expires_at INTEGER NOT NULL,"
	"  last_code INTEGER NOT NULL DEFAULT 0,"
	"  last_reply TEXT NOT NULL DEFAULT '',"
	"  created_at INTEGER NOT NULL,"
	"  sent_at INTEGER"
	") STRICT;"
	"CREATE INDEX outbox_due ON outbox (next_attempt_at) WHERE status = 'queued';"
	"CREATE INDEX outbox_status ON outbox (status, id);"
	"CREATE INDEX outbox_invitation ON outbox (invitation_id) WHERE invitation_id IS NOT NULL;"
	"CREATE TABLE imap_state ("
	"  mailbox TEXT PRIMARY KEY,"
	"  uidvalidity INTEGER NOT NULL,"
	"  last_uid INTEGER NOT NULL"
	") STRICT;"
	"CREATE TABLE inbound ("
	"  id INTEGER PRIMARY KEY,"
	"  mailbox TEXT NOT NULL,"
	"  uidvalidity INTEGER NOT NULL,"
	"  uid INTEGER NOT NULL,"
	"  message_id TEXT NOT NULL DEFAULT '',"
	"  class TEXT NOT NULL,"
	"  tag TEXT NOT NULL DEFAULT '',"
	"  code TEXT NOT NULL DEFAULT '',"
	"  invitation_id INTEGER REFERENCES invitations (id),"
	"  verification_id INTEGER REFERENCES verifications (id),"
	"  outbox_id INTEGER REFERENCES outbox (id),"
	"  from_addr TEXT NOT NULL DEFAULT '',"
	"  subject TEXT NOT NULL DEFAULT '',"
	"  action TEXT NOT NULL,"
	"  detail TEXT NOT NULL DEFAULT '',"
	"  received_at INTEGER NOT NULL,"
	"  UNIQUE (mailbox, uidvalidity, uid)"
	") STRICT;"
	"CREATE INDEX inbound_invitation ON inbound (invitation_id) WHERE invitation_id IS NOT NULL;"
	"CREATE TABLE audit ("
	"  id INTEGER PRIMARY KEY,"
	"  at INTEGER NOT NULL,"
	"  actor TEXT NOT NULL,"
	"  action TEXT NOT NULL,"
	"  subject TEXT NOT NULL,"
	"  details TEXT NOT NULL DEFAULT ''"
	") STRICT;",
	/* 2: inbound messages are also recognized by Message-ID, so that a
	 * UIDVALIDITY change does not handle a message twice */
	"CREATE INDEX inbound_message_id ON inbound (mailbox, message_id)"
	" WHERE message_id != '';",
	/* 3: a message's bytes in a table of their own. Claiming a message
	 * and recording its outcome change its row's size, and SQLite then
	 * rewrites the whole row: with the bytes in it, two or three pages
	 * (written to the WAL and again to the database) per status change
	 * instead of a share of one. */
	"CREATE TABLE outbox_data ("
	"  id INTEGER PRIMARY KEY REFERENCES outbox (id),"
	"  data BLOB NOT NULL"
	") STRICT;"
	"INSERT INTO outbox_data (id, data) SELECT id, data FROM outbox;"
	"ALTER TABLE outbox DROP COLUMN data;",
	/* 4: verification and confirmation mails are counted per recipient
	 * address, so that neither can flood an address */
	"CREATE INDEX verifications_email ON verifications (email, created_at);"
	"CREATE INDEX outbox_confirm_rcpt ON outbox (rcpt, created_at) WHERE kind = 'confirm';",
	/* 5: the people of an organization, and their signed-in sessions
	 * (SPEC "People and sign-in"). A session is known by a hash of its
	 * id: the id itself is only in the person's cookie. */
	"CREATE TABLE users ("
	"  id INTEGER PRIMARY KEY,"
	"  org_id INTEGER NOT NULL REFERENCES orgs (id),"
	"  email TEXT NOT NULL,"
	"  name TEXT NOT NULL DEFAULT '',"
	"  role TEXT NOT NULL CHECK (role IN ('admin_agent','sales_agent')),"
	"  status TEXT NOT NULL CHECK (status IN ('invited','active','removed')),"
	"  locale TEXT NOT NULL DEFAULT '',"
	"  created_at INTEGER NOT NULL,"
	"  updated_at INTEGER NOT NULL,"
	"  UNIQUE (org_id, email)"
	") STRICT;"
	"CREATE INDEX users_email ON users (email);"
	"CREATE TABLE sessions ("
	"  hash BLOB PRIMARY KEY,"
	"  user_id INTEGER NOT NULL REFERENCES users (id),"
	"  created_at INTEGER NOT NULL,"
	"  seen_at INTEGER NOT NULL,"
	"  expires_at INTEGER NOT NULL,"
	"  ended_at INTEGER"
	") STRICT, WITHOUT ROWID;"
	"CREATE INDEX sessions_user ON sessions (user_id);"
	"CREATE INDEX outbox_signin_rcpt ON outbox (rcpt, created_at) WHERE kind = 'signin';",
	/* 6: operators are users too, of no organization, so that they sign
	 * in to the console's review pages like everyone else. SQLite cannot
	 * relax a NOT NULL in place: the table is rebuilt, and the sessions
	 * (which point at it) start afresh: everyone signs in again once. */
	"CREATE TABLE users_new ("
	"  id INTEGER PRIMARY KEY,"
	"  org_id INTEGER REFERENCES orgs (id),"
	"  email TEXT NOT NULL,"
	"  name TEXT NOT NULL DEFAULT '',"
	"  role TEXT NOT NULL CHECK (role IN ('operator','admin_agent','sales_agent')),"
	"  status TEXT NOT NULL CHECK (status IN ('invited','active','removed')),"
	"  locale TEXT NOT NULL DEFAULT '',"
	"  created_at INTEGER NOT NULL,"
	"  updated_at INTEGER NOT NULL,"
	"  CHECK ((org_id IS NULL) = (role = 'operator')),"
	"  UNIQUE (org_id, email)"
	") STRICT;"
	"INSERT INTO users_new SELECT id, org_id, email, name, role, status, locale, created_at,"
	" updated_at FROM users;"
	"DROP TABLE sessions;"
	"DROP TABLE users;"
	"ALTER TABLE users_new RENAME TO users;"
	"CREATE INDEX users_email ON users (email);"
	"CREATE UNIQUE INDEX users_operator_email ON users (email) WHERE org_id IS NULL;"
	"CREATE TABLE sessions ("
	"  hash BLOB PRIMARY KEY,"
	"  user_id INTEGER NOT NULL REFERENCES users (id),"
	"  created_at INTEGER NOT NULL,"
	"  seen_at INTEGER NOT NULL,"
	"  expires_at INTEGER NOT NULL,"
	"  ended_at INTEGER"
	") STRICT, WITHOUT ROWID;"
	"CREATE INDEX sessions_user ON sessions (user_id);",
	/* 7: the audit log becomes the event log (SPEC "Events and
	 * webhooks"): each row names the organization it concerns, and a
	 * relationship's other side, so that an organization reads its own
	 * events; the old rows get theirs from their subject. Invitations
	 * remember their reminder. */
	"ALTER TABLE audit RENAME TO events;"
	"ALTER TABLE events RENAME COLUMN action TO name;"
	"ALTER TABLE events ADD COLUMN org_id INTEGER REFERENCES orgs (id);"
	"ALTER TABLE events ADD COLUMN peer_org_id INTEGER REFERENCES orgs (id);"
	"UPDATE events SET org_id = CAST(substr(subject, 5) AS INTEGER)"
	"  WHERE subject LIKE 'org:%' AND CAST(substr(subject, 5) AS INTEGER) IN"
	"  (SELECT id FROM orgs);"
	"UPDATE events SET org_id = (SELECT inviter_org_id FROM invitations"
	"  WHERE id = CAST(substr(subject, 12) AS INTEGER)) WHERE subject LIKE 'invitation:%';"
	"CREATE INDEX events_org ON events (org_id, id) WHERE org_id IS NOT NULL;"
	"CREATE INDEX events_peer ON events (peer_org_id, id) WHERE peer_org_id IS NOT NULL;"
	"ALTER TABLE invitations ADD COLUMN reminded_at INTEGER;"
	"CREATE INDEX invitations_remind ON invitations (expires_at)"
	"  WHERE status = 'sent' AND reminded_at IS NULL;",
	/* 8: webhook endpoints and their deliveries (SPEC "Events and
	 * webhooks"). A delivery is queued in the transaction of its
	 * event, for every live endpoint whose organization the event
	 * concerns (an operator's endpoint, of no organization: every
	 * event) and whose filter names it. */
	"CREATE TABLE webhooks ("
	"  id INTEGER PRIMARY KEY,"
	"  org_id INTEGER REFERENCES orgs (id),"
	"  url TEXT NOT NULL,"
	"  events TEXT NOT NULL DEFAULT '',"
	"  secret BLOB NOT NULL,"
	"  created_at INTEGER NOT NULL,"
	"  deleted_at INTEGER"
	") STRICT;"
	"CREATE INDEX webhooks_live ON webhooks (org_id) WHERE deleted_at IS NULL;"
	"CREATE TABLE deliveries ("
	"  id INTEGER PRIMARY KEY,"
	"  webhook_id INTEGER NOT NULL REFERENCES webhooks (id),"
	"  event_id INTEGER NOT NULL REFERENCES events (id),"
	"  status TEXT NOT NULL CHECK (status IN ('pending','sending','delivered','failed')),"
	"  attempts INTEGER NOT NULL DEFAULT 0,"
	"  next_attempt_at INTEGER NOT NULL,"
	"  expires_at INTEGER NOT NULL,"
	"  last_status INTEGER NOT NULL DEFAULT 0,"
	"  last_error TEXT NOT NULL DEFAULT '',"
	"  created_at INTEGER NOT NULL,"
	"  done_at INTEGER"
	") STRICT;"
	"CREATE INDEX deliveries_due ON deliveries (next_attempt_at) WHERE status = 'pending';"
	"CREATE INDEX deliveries_webhook ON deliveries (webhook_id, id);"
	/* when the invitee last asked for a new link from an expired one */
	"ALTER TABLE invitations ADD COLUMN asked_at INTEGER;",
	/* 9: events written before 7 about users and keys get their
	 * organization too, and those about invitations theirs at last (7's
	 * "subject" in its subquery was the invitation's mail subject), and
	 * every old row the name it has now, so that one name means one
	 * thing in the log and in a webhook filter. */
	"UPDATE events SET org_id = (SELECT i.inviter_org_id FROM invitations i"
	"  WHERE i.id = CAST(substr(events.subject, 12) AS INTEGER))"
	"  WHERE org_id IS NULL AND subject LIKE 'invitation:%';"
	"UPDATE events SET org_id = (SELECT u.org_id FROM users u"
	"  WHERE u.id = CAST(substr(events.subject, 6) AS INTEGER))"
	"  WHERE org_id IS NULL AND subject LIKE 'user:%';"
	"UPDATE events SET org_id = (SELECT k.org_id FROM api_keys k"
	"  WHERE k.id = CAST(substr(events.subject, 8) AS INTEGER))"
	"  WHERE org_id IS NULL AND subject LIKE 'apikey:%';"
	"UPDATE events SET name = CASE name"
	"  WHEN 'invitation.create' THEN 'invitation.created'"
	"  WHEN 'invitation.send' THEN 'invitation.queued'"
	"  WHEN 'invitation.resend' THEN 'invitation.resent'"
	"  WHEN 'invitation.revoke' THEN 'invitation.revoked'"
	"  WHEN 'invitation.accept' THEN 'invitation.accepted'"
	"  WHEN 'invitation.decline' THEN 'invitation.declined'"
	"  WHEN 'invitation.edit' THEN 'invitation.edited'"
	"  WHEN 'invitation.reply' THEN 'invitation.replied'"
	"  WHEN 'invitation.confirm_mailed' THEN 'invitation.confirmation_sent'"
	"  WHEN 'enrollment.create' THEN 'enrollment.created'"
	"  WHEN 'contact.verified' THEN 'verification.verified'"
	"  WHEN 'org.create' THEN 'org.created'"
	"  WHEN 'org.approve' THEN 'org.approved'"
	"  WHEN 'org.reject' THEN 'org.rejected'"
	"  WHEN 'org.suspend' THEN 'org.suspended'"
	"  WHEN 'relationship.end' THEN 'relationship.ended'"
	"  WHEN 'user.add' THEN 'user.added'"
	"  WHEN 'user.invite' THEN 'user.invited'"
	"  WHEN 'user.remove' THEN 'user.removed'"
	"  WHEN 'user.role' THEN 'user.role_changed'"
	"  WHEN 'user.sign_in' THEN 'user.signed_in'"
	"  WHEN 'apikey.create' THEN 'apikey.created'"
	"  WHEN 'apikey.revoke' THEN 'apikey.revoked'"
	"  WHEN 'mail.retry' THEN 'message.retried'"
	"  ELSE name END"
	"  WHERE id <= (SELECT coalesce(max(id), 0) FROM events);",
	/* 10: a sent mail's bytes are dropped after [mail] keep_sent; the row
	 * (Message-ID, reply, status) stays. data_kept: 1 the bytes are here,
	 * 0 dropped, 2 kept for good (what it carried bounced). The index
	 * holds only what may still be dropped, so a sweep never reads the
	 * rows done before. */
	"ALTER TABLE outbox ADD COLUMN data_kept INTEGER NOT NULL DEFAULT 1;"
	"CREATE INDEX outbox_prunable ON outbox (sent_at) WHERE status = 'sent' AND data_kept = 1;",
	/* 11: an invitation keeps its subject and bodies only when the inviter
	 * edited them; the others are rendered from the templates when read
	 * (links/invitation.c, invitation_load), so they are dropped here. */
	"UPDATE invitations SET body_text = '', body_html = '' WHERE edited = 0;",
	/* 12: a link's token is kept while the link may still be mailed (live):
	 * a used or revoked one is known by its jti, which is all a redemption
	 * of it needs to be refused. */
	"UPDATE links SET token = '' WHERE state <> 'live';",
	/* 13: a listed domain is claimed until proven (store.h, struct
	 * domain_proof). What was listed before: the domain of a verified
	 * contact is proven by it; the operator's organizations (approved
	 * without enrolling, no verification row) by the operator; the rest
	 * claimed, each with its TXT token. */
	"ALTER TABLE org_domains ADD COLUMN state TEXT NOT NULL DEFAULT 'claimed'"
	"  CHECK (state IN ('claimed', 'proven', 'failed'));"
	"ALTER TABLE org_domains ADD COLUMN method TEXT NOT NULL DEFAULT '';"
	"ALTER TABLE org_domains ADD COLUMN token TEXT NOT NULL DEFAULT '';"
	"ALTER TABLE org_domains ADD COLUMN checked_at INTEGER NOT NULL DEFAULT 0;"
	"UPDATE org_domains SET token = lower(hex(randomblob(16)));"
	"UPDATE org_domains SET state = 'proven', method = 'contact' WHERE EXISTS"
	"  (SELECT 1 FROM orgs o WHERE o.id = org_id AND o.contact_verified = 1"
	"   AND lower(substr(o.contact_email, instr(o.contact_email, '@') + 1)) = domain);"
	"UPDATE org_domains SET state = 'proven', method = 'operator' WHERE state = 'claimed'"
	"  AND EXISTS (SELECT 1 FROM orgs o WHERE o.id = org_id AND o.status = 'approved')"
	"  AND NOT EXISTS (SELECT 1 FROM verifications v WHERE v.org_id = org_domains.org_id);",
	/* 14: who owns a domain is asked of the proven rows only (and the last
	 * migration can run twice: tests/integration/test_backup.py) */
	"CREATE INDEX IF NOT EXISTS org_domains_proven ON org_domains (domain)"
	" WHERE state = 'proven';",
	/* 15: more than one server on one database (PostgreSQL): who holds a
	 * claimed message or delivery, the servers alive (each writes its
	 * seen_at every few seconds; a claim of one that stopped is taken
	 * back), and the rate limits' buckets they share. */
	"ALTER TABLE outbox ADD COLUMN claimed_by TEXT NOT NULL DEFAULT '';"
	"ALTER TABLE deliveries ADD COLUMN claimed_by TEXT NOT NULL DEFAULT '';"
	"CREATE TABLE servers ("
	"  id TEXT PRIMARY KEY,"
	"  host TEXT NOT NULL,"
	"  pid INTEGER NOT NULL,"
	"  started_at INTEGER NOT NULL,"
	"  seen_at INTEGER NOT NULL) STRICT;"
	"CREATE TABLE rate_buckets ("
	"  name TEXT NOT NULL,"
	"  client TEXT NOT NULL,"
	"  units INTEGER NOT NULL,"
	"  last_at INTEGER NOT NULL,"
	"  ok INTEGER NOT NULL DEFAULT 1,"
	"  PRIMARY KEY (name, client)) STRICT, WITHOUT ROWID;"
	"CREATE INDEX rate_buckets_last ON rate_buckets (last_at);",
};

const int store_migration_count =
	(int)(sizeof(store_migrations) / sizeof(store_migrations[0]));
_Static_assert(sizeof(store_migrations) / sizeof(store_migrations[0]) == STORE_SCHEMA_VERSION,
	       "STORE_SCHEMA_VERSION is the number of migrations");
