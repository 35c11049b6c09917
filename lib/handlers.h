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

/* The route table (fcgi/routes.c) and its size. */
extern const struct api_route api_routes[];
extern const int api_route_count;

#endif
