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
    {"POST",   "/api/v1/me/tokens",      h_me_token_create, NEED_SIGNED_IN, 0, ROUTE_REAUTH},
    {"DELETE", "/api/v1/me/tokens/{id}", h_me_token_delete, NEED_SIGNED_IN, 0, 0},
    {"GET",    "/api/v1/reports",        h_reports_list,    NEED_VIEWER,    KIND_REPORT_READERS, 0},
    {"GET",    "/api/v1/reports/{id}",   h_report_get,      NEED_VIEWER,    KIND_REPORT_READERS, 0},
    {"GET",    "/api/v1/stats",          h_stats,           NEED_VIEWER,    KIND_REPORT_READERS, 0},
    {"GET",    "/api/v1/hotlines",       h_hotlines,        NEED_SIGNED_IN, 0, 0},
    {"POST",   "/api/v1/me/reauth",      h_me_reauth,       NEED_SIGNED_IN, 0, 0},
    {"GET",    "/api/v1/me/totp/qr.svg", h_me_totp_qr,      NEED_SIGNED_IN, 0, ROUTE_BEFORE_MFA},
    {"POST",   "/api/v1/access-requests", h_access_request_create, NEED_PUBLIC, 0, 0},
    {"GET",    "/api/v1/access-requests", h_access_requests_list, NEED_SIGNED_IN, KIND_ACCESS_STEPS, 0},
    {"GET",    "/api/v1/access-requests/{id}", h_access_request_get, NEED_SIGNED_IN, KIND_ACCESS_STEPS, 0},
    {"POST",   "/api/v1/access-requests/{id}/demo", h_access_request_demo, NEED_OPERATOR, 0, 0},
    {"POST",   "/api/v1/access-requests/{id}/approve", h_access_request_approve, NEED_ORG_ADMIN, KIND_HOTLINE, ROUTE_REAUTH},
    {"POST",   "/api/v1/access-requests/{id}/endorse", h_access_request_endorse, NEED_ANALYST, KIND_INTERPOL, 0},
    {"POST",   "/api/v1/access-requests/{id}/activate", h_access_request_activate, NEED_OPERATOR, 0, ROUTE_REAUTH},
    {"POST",   "/api/v1/access-requests/{id}/reject", h_access_request_reject, NEED_SIGNED_IN, KIND_ACCESS_STEPS, 0},
    {"POST",   "/api/v1/enrolment/lookup", h_enrolment_lookup, NEED_PUBLIC,  0, 0},
    {"POST",   "/api/v1/enrolment",      h_enrolment_complete, NEED_PUBLIC, 0, 0},
    {"GET",    "/api/v1/admin/audit",    h_admin_audit,     NEED_ADMIN,     0, 0},
    {"GET",    "/api/v1/admin/orgs",     h_admin_orgs,      NEED_ADMIN,     0, 0},
    {"POST",   "/api/v1/admin/orgs",     h_admin_org_create, NEED_OPERATOR, 0, ROUTE_REAUTH},
    {"GET",    "/api/v1/admin/users",    h_admin_users,     NEED_ADMIN,     0, 0},
    {"POST",   "/api/v1/admin/users",    h_admin_user_create, NEED_ADMIN,   0, ROUTE_REAUTH},
    {"PATCH",  "/api/v1/admin/users/{id}", h_admin_user_update, NEED_ADMIN, 0, ROUTE_REAUTH},
    {"POST",   "/api/v1/admin/users/{id}/enrolment", h_admin_user_enrolment, NEED_ADMIN, 0, ROUTE_REAUTH},
    {"GET",    "/api/v1/admin/agreements", h_admin_agreements, NEED_ADMIN,  0, 0},
    {"POST",   "/api/v1/admin/agreements", h_admin_agreement_create, NEED_ADMIN, KIND_HOTLINE | KIND_OPERATOR, ROUTE_REAUTH},
    {"PATCH",  "/api/v1/admin/agreements/{id}", h_admin_agreement_update, NEED_ADMIN, KIND_HOTLINE | KIND_OPERATOR, ROUTE_REAUTH},
    {"GET",    "/api/v1/admin/import-runs", h_admin_import_runs, NEED_OPERATOR, 0, 0},
    {"GET",    "/api/v1/admin/import-rejects", h_admin_import_rejects, NEED_OPERATOR, 0, 0},
};
const int api_route_count = sizeof api_routes / sizeof *api_routes;
