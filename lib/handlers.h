/*
 * handlers - every API handler, one signature: int h_x(struct ctx *c). The route
 * table in fcgi/routes.c maps routes to them together with the role each needs.
 */
#ifndef CPORT_HANDLERS_H
#define CPORT_HANDLERS_H

#include "api.h"

int h_session_create(struct ctx *c);
int h_session_delete(struct ctx *c);
int h_me(struct ctx *c);
int h_reports_list(struct ctx *c);
int h_report_get(struct ctx *c);
int h_reports_export(struct ctx *c);
int h_stats_timeseries(struct ctx *c);
int h_stats_top(struct ctx *c);
int h_searches_list(struct ctx *c);
int h_search_create(struct ctx *c);
int h_search_update(struct ctx *c);
int h_search_open(struct ctx *c);
int h_search_delete(struct ctx *c);
int h_stats(struct ctx *c);
int h_hotlines(struct ctx *c);
int h_health(struct ctx *c);
int h_me_sessions(struct ctx *c);
int h_me_session_delete(struct ctx *c);
int h_me_tokens(struct ctx *c);
int h_me_token_create(struct ctx *c);
int h_me_token_delete(struct ctx *c);
int h_me_totp(struct ctx *c);
int h_me_totp_confirm(struct ctx *c);
int h_admin_audit(struct ctx *c);
int h_me_reauth(struct ctx *c);
int h_me_totp_qr(struct ctx *c);
int h_access_request_create(struct ctx *c);
int h_access_requests_list(struct ctx *c);
int h_access_request_get(struct ctx *c);
int h_access_request_demo(struct ctx *c);
int h_access_request_approve(struct ctx *c);
int h_access_request_endorse(struct ctx *c);
int h_access_request_activate(struct ctx *c);
int h_access_request_reject(struct ctx *c);
int h_enrolment_lookup(struct ctx *c);
int h_enrolment_complete(struct ctx *c);
int h_admin_orgs(struct ctx *c);
int h_admin_org_create(struct ctx *c);
int h_admin_users(struct ctx *c);
int h_admin_user_create(struct ctx *c);
int h_admin_user_update(struct ctx *c);
int h_admin_user_enrolment(struct ctx *c);
int h_admin_agreements(struct ctx *c);
int h_admin_agreement_create(struct ctx *c);
int h_admin_agreement_update(struct ctx *c);
int h_admin_import_runs(struct ctx *c);
int h_admin_import_rejects(struct ctx *c);
int h_hashlists_list(struct ctx *c);
int h_hashlist_create(struct ctx *c);
int h_hashlist_get(struct ctx *c);
int h_hashlist_update(struct ctx *c);
int h_hashlist_entries(struct ctx *c);
int h_hashlist_entry_add(struct ctx *c);
int h_hash_entry_update(struct ctx *c);
int h_hash_entry_delete(struct ctx *c);
int h_hashlist_import(struct ctx *c);
int h_hashlist_export(struct ctx *c);
int h_hashlist_shares(struct ctx *c);
int h_hashlist_share(struct ctx *c);
int h_hashlist_unshare(struct ctx *c);
int h_hashlist_report_hits(struct ctx *c);
int h_match(struct ctx *c);
int h_report_hash_hits(struct ctx *c);
int h_package_create(struct ctx *c);
int h_packages_list(struct ctx *c);
int h_package_get(struct ctx *c);
int h_package_download(struct ctx *c);
int h_media_get(struct ctx *c);
int h_media_preview(struct ctx *c);
int h_media_content(struct ctx *c);
int h_me_preferences(struct ctx *c);
/* The "media" object of GET /me (preview preferences, first view, content reach). */
void api_media_me(struct ctx *c, cJSON *j);
int h_keys(struct ctx *c);
int h_iwol_suggest(struct ctx *c);
int h_iwol_list(struct ctx *c);
int h_iwol_get(struct ctx *c);
int h_iwol_verify(struct ctx *c);
int h_iwol_reply(struct ctx *c);
int h_iwol_submit(struct ctx *c);
int h_iwol_decide(struct ctx *c);
int h_iwol_delisting(struct ctx *c);
int h_iwol_export(struct ctx *c);

/* Shared by handlers. */
struct orgs_terms;
/* A session was just opened for c->who: cookie, and the /me answer. */
int api_session_opened(struct ctx *c, const char *token);
/* Add {"enrolment": {mailed, expires_at, url?}} to j, mailing the link when a
 * mail command is set (the url only appears when it was not mailed). */
void api_enrolment_json(struct ctx *c, cJSON *j, const char *email, const char *token, int64_t expires_at,
                        const char *why);
/* Overlay agreement terms from a JSON body (400 naming the bad field). */
int api_terms_from_body(struct ctx *c, const cJSON *b, struct orgs_terms *t);

/* The route table (fcgi/routes.c) and its size. */
extern const struct api_route api_routes[];
extern const int api_route_count;

#endif
