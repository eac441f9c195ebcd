/*
 * server/routes.c: the route table.  Everything the API offers is listed
 * here, with its body limit and whether it needs a session.
 */
#include "server/auth.h"
#include "server/handlers.h"
#include "server/server.h"

#define BODY OA_ROUTE_BODY
#define AUTH OA_ROUTE_AUTH
#define EARLY OA_ROUTE_BEFORE_PWCHANGE

const struct oa_route oa_routes[] = {
    {"GET", "/healthz", h_healthz, 0, 0, "healthz"},
    {"GET", "/metrics", h_metrics, 0, 0, "metrics"},
    {"POST", "/v1/hello", h_hello, BODY, 64 * 1024, "hello"},

    {"POST", "/v1/sessions", h_login, BODY, 16 * 1024, "login"},
    {"GET", "/v1/sessions", h_sessions_list, AUTH | EARLY, 0, "sessions.list"},
    {"DELETE", "/v1/sessions/current", h_logout, AUTH | EARLY, 0, "logout"},
    {"DELETE", "/v1/sessions/{}", h_session_delete, AUTH | EARLY, 0, "session.end"},

    {"GET", "/v1/users/me", h_me, AUTH | EARLY, 0, "me"},
    {"POST", "/v1/users/me/password", h_me_password, BODY | AUTH | EARLY, 16 * 1024, "me.password"},

    {"GET", "/v1/users", h_users_list, AUTH, 0, "users.list"},
    {"POST", "/v1/users", h_user_create, BODY | AUTH, 64 * 1024, "users.create"},
    {"GET", "/v1/users/{}", h_user_get, AUTH, 0, "users.get"},
    {"PATCH", "/v1/users/{}", h_user_patch, BODY | AUTH, 64 * 1024, "users.patch"},
    {"POST", "/v1/users/{}/password-reset", h_user_reset_password, AUTH, 0, "users.reset"},
    {"POST", "/v1/users/{}/unlock", h_user_unlock, AUTH, 0, "users.unlock"},
    {"PUT", "/v1/users/{}/clearance", h_user_clearance, BODY | AUTH, 64 * 1024, "users.clearance"},
};

const int oa_nroutes = (int)(sizeof(oa_routes) / sizeof(oa_routes[0]));
