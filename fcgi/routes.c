/*
 * routes - the one route table: method, path, handler, and who may call it.
 * The dispatcher (lib/api.c) enforces the need and org kinds before any handler
 * runs, so no handler can forget the check.
 */
#include "handlers.h"

const struct api_route api_routes[] = {
    /* method  path                      handler            least role      org kinds  flags */
    {"GET",    "/api/v1/health",         h_health,          NEED_PUBLIC,    0, 0},
    {"POST",   "/api/v1/session",        h_session_create,  NEED_PUBLIC,    0, 0},
    {"DELETE", "/api/v1/session",        h_session_delete,  NEED_SIGNED_IN, 0, ROUTE_BEFORE_MFA},
    {"GET",    "/api/v1/me",             h_me,              NEED_SIGNED_IN, 0, ROUTE_BEFORE_MFA},
    {"POST",   "/api/v1/me/totp",        h_me_totp,         NEED_SIGNED_IN, 0, ROUTE_BEFORE_MFA},
    {"POST",   "/api/v1/me/totp/confirm", h_me_totp_confirm, NEED_SIGNED_IN, 0, ROUTE_BEFORE_MFA},
    {"GET",    "/api/v1/me/sessions",    h_me_sessions,     NEED_SIGNED_IN, 0, 0},
    {"DELETE", "/api/v1/me/sessions/{id}", h_me_session_delete, NEED_SIGNED_IN, 0, 0},
    {"GET",    "/api/v1/me/tokens",      h_me_tokens,       NEED_SIGNED_IN, 0, 0},
    {"POST",   "/api/v1/me/tokens",      h_me_token_create, NEED_SIGNED_IN, 0, 0},
    {"DELETE", "/api/v1/me/tokens/{id}", h_me_token_delete, NEED_SIGNED_IN, 0, 0},
    {"GET",    "/api/v1/reports",        h_reports_list,    NEED_VIEWER,    KIND_REPORT_READERS, 0},
    {"GET",    "/api/v1/reports/{id}",   h_report_get,      NEED_VIEWER,    KIND_REPORT_READERS, 0},
    {"GET",    "/api/v1/stats",          h_stats,           NEED_VIEWER,    KIND_REPORT_READERS, 0},
    {"GET",    "/api/v1/hotlines",       h_hotlines,        NEED_SIGNED_IN, 0, 0},
    {"GET",    "/api/v1/admin/audit",    h_admin_audit,     NEED_ADMIN,     0, 0},
};
const int api_route_count = sizeof api_routes / sizeof *api_routes;
