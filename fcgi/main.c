/*
 * cport-fcgi - the FastCGI worker pool behind nginx. A prefork master opens the
 * unix socket, forks N workers and restarts any that dies; SIGTERM drains: idle
 * workers leave at once, busy ones finish their request first, and each writes
 * its deferred audit entries before it goes. Each worker opens its own SQLite
 * connection after the fork and serves requests through api_dispatch; this file
 * only adapts FastCGI to lib/.
 */
#include "audit.h"
#include "handlers.h"
#include "log.h"

#include <errno.h>
#include <fcgiapp.h>
#include <fcntl.h>
#include <malloc.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MAX_WORKERS 256

static volatile sig_atomic_t stopping, worker_stop;

/* Master: note SIGTERM/SIGINT; the main loop forwards it to the workers. */
static void on_master_signal(int sig)
{
    (void)sig;
    stopping = 1;
}

/* Worker: SIGTERM is only unblocked while waiting for a connection, so arriving
 * here means no request is in flight. The wait returns (EINTR) and the loop
 * leaves, writing the deferred audit entries on its way out. */
static void on_worker_signal(int sig)
{
    (void)sig;
    worker_stop = 1;
}

/* Reason phrase for the Status line. */
static const char *reason(int status)
{
    switch (status) {
    case 200: return "OK";
    case 201: return "Created";
    case 202: return "Accepted";
    case 204: return "No Content";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 409: return "Conflict";
    case 410: return "Gone";
    case 413: return "Payload Too Large";
    case 415: return "Unsupported Media Type";
    case 429: return "Too Many Requests";
    case 503: return "Service Unavailable";
    default: return "Internal Server Error";
    }
}

/* The writer a streamed body goes through: FastCGI's output stream. */
static int fcgx_write(void *w, const void *p, size_t n)
{
    return FCGX_PutStr(p, (int)n, (FCGX_Stream *)w) == (int)n ? CP_OK : CP_ERR;
}

/* Serve one accepted request: read params and body, dispatch, write the response. */
static void serve(FCGX_Request *req, struct db *d, const struct config *cfg)
{
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    struct ctx c;
    ctx_begin(&c, d, cfg);
    char **env = req->envp;
    c.method = FCGX_GetParam("REQUEST_METHOD", env);
    c.path = FCGX_GetParam("DOCUMENT_URI", env);
    c.query = FCGX_GetParam("QUERY_STRING", env);
    c.cookie = FCGX_GetParam("HTTP_COOKIE", env);
    c.authorization = FCGX_GetParam("HTTP_AUTHORIZATION", env);
    c.csrf_header = FCGX_GetParam("HTTP_X_CSRF_TOKEN", env);
    c.content_type = FCGX_GetParam("CONTENT_TYPE", env);
    c.remote_addr = FCGX_GetParam("REMOTE_ADDR", env);
    c.user_agent = FCGX_GetParam("HTTP_USER_AGENT", env);
    c.request_id = FCGX_GetParam("REQUEST_ID", env);
    if (!c.method)
        c.method = "GET";
    c.body_file = FCGX_GetParam("CPORT_BODY_FILE", env);
    const char *cl = FCGX_GetParam("CONTENT_LENGTH", env);
    long len = cl && !c.body_file ? strtol(cl, NULL, 10) : 0;
    char *body = NULL;
    if (len > cfg->max_body) {
        ctx_problem(&c, 413, "body-too-large", "Request body too large", "the body exceeds the size limit");
    } else {
        if (len > 0) {
            body = malloc((size_t)len + 1);
            int got = body ? FCGX_GetStr(body, (int)len, req->in) : 0;
            if (body)
                body[got] = 0;
            c.body = body;
            c.body_len = (size_t)got;
        }
        api_dispatch(&c, api_routes, api_route_count);
    }
    FCGX_FPrintF(req->out, "Status: %d %s\r\n", c.status, reason(c.status));
    if (c.ctype)
        FCGX_FPrintF(req->out, "Content-Type: %s\r\n", c.ctype);
    FCGX_PutS("Cache-Control: no-store\r\n", req->out);
    if (c.headers.len)
        FCGX_PutStr(c.headers.p, (int)c.headers.len, req->out);
    FCGX_PutS("\r\n", req->out);
    if (c.out.len && c.status != 204 && strcmp(c.method, "HEAD") != 0)
        FCGX_PutStr(c.out.p, (int)c.out.len, req->out);
    if (c.stream && c.status < 300 && strcmp(c.method, "HEAD") != 0 && c.stream(&c, fcgx_write, req->out) != CP_OK)
        log_line(c.request_id, "stream of %s ended early", c.path ? c.path : "-");
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double ms = (double)(t1.tv_sec - t0.tv_sec) * 1e3 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e6;
    if (c.status >= 500 || getenv("CPORT_LOG_REQUESTS"))
        log_line(c.request_id, "%s %s %d %.1fms user=%lld", c.method, c.path ? c.path : "-", c.status, ms,
                 (long long)c.who.user_id);
    ctx_end(&c);
    free(body);
}

/* Write the deferred audit entries when they are due. One that fails (busy)
 * leaves them queued; the next try waits a flush interval, so a database that
 * keeps failing is not retried in a tight loop. */
static void flush_due(struct db *d, int64_t *retry_at)
{
    int64_t now = audit_clock_ms();
    if (now < *retry_at || audit_flush_due(d, now) == CP_OK)
        return;
    log_line(NULL, "worker: %zu audit entries not written yet (database busy); retrying", audit_queue_len(d));
    *retry_at = now + AUDIT_FLUSH_MS;
}

/* How long an idle worker may wait for a connection: until its deferred audit
 * entries are due (or may be retried), forever (-1) when it holds none. */
static int idle_wait_ms(const struct db *d, int64_t retry_at)
{
    int64_t now = audit_clock_ms(), wait = audit_flush_wait(d, now);
    if (wait >= 0 && retry_at - now > wait)
        wait = retry_at - now;
    return wait > AUDIT_FLUSH_MS ? AUDIT_FLUSH_MS : (int)wait;
}

/* A worker's life: own connection, accept loop, leave when told to.
 *
 * The listening socket is non-blocking (see main), so FCGX_Accept_r answers
 * -EAGAIN when no connection waits; the worker then sleeps in epoll_pwait until
 * one comes, its deferred audit entries fall due, or SIGTERM. (A blocking accept
 * after a poll could not keep that deadline: the connection the poll saw may go
 * to another worker.) The socket is registered EPOLLEXCLUSIVE so a connection
 * wakes one idle worker, not all. SIGTERM is unblocked only inside epoll_pwait,
 * atomically, so one arriving just before the wait is not missed. */
static void worker(int sock, const struct config *cfg)
{
    struct sigaction sa = {0};
    sa.sa_handler = on_worker_signal;
    sigaction(SIGTERM, &sa, NULL);
    signal(SIGINT, SIG_IGN);
    signal(SIGPIPE, SIG_IGN);
    sigset_t term, waiting;
    sigemptyset(&term);
    sigaddset(&term, SIGTERM);
    sigprocmask(SIG_BLOCK, &term, &waiting);
    sigdelset(&waiting, SIGTERM);
    char err[512];
    struct db *d = db_open(cfg->db, cfg->busy_timeout_ms, err, sizeof err);
    if (!d) {
        log_line(NULL, "worker: %s", err);
        _exit(3);
    }
    db_set_audit_log(d, cfg->audit_log);
    /* Bound the worker's memory: SQLite gives back page cache and sorter memory
     * above this, and the heap is trimmed now and then, so a large facet query
     * does not leave a worker holding tens of megabytes. */
    sqlite3_soft_heap_limit64(16 << 20);
    int ep = epoll_create1(EPOLL_CLOEXEC);
    struct epoll_event ev = {.events = EPOLLIN | EPOLLEXCLUSIVE};
    if (ep < 0 || epoll_ctl(ep, EPOLL_CTL_ADD, sock, &ev) != 0) {
        log_line(NULL, "worker: cannot wait on the socket: %s", strerror(errno));
        db_close(d);
        _exit(3);
    }
    FCGX_Request req;
    FCGX_InitRequest(&req, sock, 0);
    int64_t retry_at = 0;
    for (unsigned long served = 0; !worker_stop;) {
        int rc = FCGX_Accept_r(&req);
        if (rc == -EAGAIN || rc == -EWOULDBLOCK) {
            flush_due(d, &retry_at);
            if (epoll_pwait(ep, &ev, 1, idle_wait_ms(d, retry_at), &waiting) < 0 && errno != EINTR) {
                log_line(NULL, "worker: waiting for a connection failed: %s", strerror(errno));
                break;
            }
            continue;
        }
        if (rc < 0)
            break;
        serve(&req, d, cfg);
        FCGX_Finish_r(&req);
        flush_due(d, &retry_at);
        if (++served % 256 == 0)
            malloc_trim(0);
        sigset_t pend;
        if (sigpending(&pend) == 0 && sigismember(&pend, SIGTERM))
            break;
    }
    /* Drain: the deferred entries go on the chain before the worker does; a
     * busy database gets a few more tries (each waits the busy timeout). */
    for (int i = 0; i < 3 && audit_queue_len(d) && audit_flush(d) != CP_OK; i++)
        log_line(NULL, "worker: database busy; %zu audit entries still to write", audit_queue_len(d));
    close(ep);
    db_close(d);
    _exit(0);
}

/* Fork one worker; returns its pid (or -1). */
static pid_t spawn(int sock, const struct config *cfg)
{
    pid_t pid = fork();
    if (pid == 0)
        worker(sock, cfg);
    return pid;
}

/* Print usage and fail. */
static int usage(void)
{
    fprintf(stderr, "usage: cport-fcgi [--config FILE] [--db PATH] [--socket PATH] [--workers N]\n");
    return 2;
}

/* Parse flags, open the socket, run the pool until SIGTERM. */
int main(int argc, char **argv)
{
    const char *cfgpath = NULL, *dbp = NULL, *sockp = NULL;
    int workers = -1;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!v)
            return usage();
        if (strcmp(a, "--config") == 0)
            cfgpath = v;
        else if (strcmp(a, "--db") == 0)
            dbp = v;
        else if (strcmp(a, "--socket") == 0)
            sockp = v;
        else if (strcmp(a, "--workers") == 0) {
            char *end;
            long n = strtol(v, &end, 10);
            if (*end || n < 1 || n > MAX_WORKERS) {
                fprintf(stderr, "cport-fcgi: --workers must be 1 to %d\n", MAX_WORKERS);
                return 2;
            }
            workers = (int)n;
        } else
            return usage();
        i++;
    }
    static struct config cfg;
    char err[512];
    if (config_load(&cfg, cfgpath, err, sizeof err)) {
        fprintf(stderr, "cport-fcgi: %s\n", err);
        return 1;
    }
    if (dbp)
        snprintf(cfg.db, sizeof cfg.db, "%s", dbp);
    if (sockp)
        snprintf(cfg.socket, sizeof cfg.socket, "%s", sockp);
    if (workers > 0)
        cfg.workers = workers;
    if (cfg.workers <= 0) {
        long n = sysconf(_SC_NPROCESSORS_ONLN);
        cfg.workers = n > 0 && n <= MAX_WORKERS ? (int)n : 2;
    }
    /* Refuse to serve a database that is missing or not migrated. */
    struct db *d = db_open(cfg.db, cfg.busy_timeout_ms, err, sizeof err);
    if (!d || db_schema_version(d) < db_migrations[db_migration_count - 1].version) {
        fprintf(stderr, "cport-fcgi: %s\n", d ? "database schema is not current: run cport migrate" : err);
        db_close(d);
        return 1;
    }
    db_close(d);

    if (FCGX_Init() != 0) {
        fprintf(stderr, "cport-fcgi: FastCGI initialisation failed\n");
        return 1;
    }
    unlink(cfg.socket);
    mode_t old = umask(0117); /* socket rw for owner and group (nginx) only */
    int sock = FCGX_OpenSocket(cfg.socket, 256);
    umask(old);
    if (sock < 0) {
        fprintf(stderr, "cport-fcgi: cannot listen on %s: %s\n", cfg.socket, strerror(errno));
        return 1;
    }
    /* Workers wait in epoll and then accept without blocking (see worker). On
     * Linux an accepted connection does not inherit O_NONBLOCK, so libfcgi's
     * reads and writes on it stay blocking. */
    if (fcntl(sock, F_SETFL, fcntl(sock, F_GETFL) | O_NONBLOCK) != 0) {
        fprintf(stderr, "cport-fcgi: cannot set up %s: %s\n", cfg.socket, strerror(errno));
        return 1;
    }
    struct sigaction sa = {0};
    sa.sa_handler = on_master_signal;
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);

    pid_t pids[MAX_WORKERS] = {0};
    for (int i = 0; i < cfg.workers; i++)
        pids[i] = spawn(sock, &cfg);
    log_line(NULL, "cport-fcgi: %d workers on %s, database %s", cfg.workers, cfg.socket, cfg.db);
    time_t last_restart = 0;
    int quick_restarts = 0;
    while (!stopping) {
        int status;
        pid_t pid = waitpid(-1, &status, 0);
        if (pid < 0) {
            if (errno == EINTR)
                continue;
            break;
        }
        for (int i = 0; i < cfg.workers; i++) {
            if (pids[i] != pid)
                continue;
            log_line(NULL, "cport-fcgi: worker %d ended (%s %d); restarting", (int)pid,
                     WIFSIGNALED(status) ? "signal" : "exit",
                     WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status));
            /* A worker that dies at once over and over (say, an unreadable
             * database) must not spin: back off. */
            time_t now = time(NULL);
            quick_restarts = now - last_restart < 2 ? quick_restarts + 1 : 0;
            last_restart = now;
            if (quick_restarts > 5)
                sleep(1);
            if (!stopping)
                pids[i] = spawn(sock, &cfg);
        }
    }
    /* Drain: each worker leaves after its current request. */
    for (int i = 0; i < cfg.workers; i++)
        if (pids[i] > 0)
            kill(pids[i], SIGTERM);
    while (waitpid(-1, NULL, 0) > 0 || errno == EINTR)
        ;
    unlink(cfg.socket);
    log_line(NULL, "cport-fcgi: stopped");
    return 0;
}
