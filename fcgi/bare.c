/*
 * cport-bare - the benchmark's yardstick: a bare FastCGI responder that does one
 * SQLite point lookup of a report by id and prints a few columns as JSON, with
 * no authentication, scope or cJSON. cport-fcgi's report detail is compared to it.
 * usage: cport-bare DB SOCKET WORKERS
 */
#include <fcgiapp.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

/* One worker: accept, look up /bare/{id}, answer. */
static void bare_worker(int sock, const char *dbpath)
{
    sqlite3 *db;
    sqlite3_stmt *st;
    sqlite3_open_v2(dbpath, &db, SQLITE_OPEN_READONLY, NULL);
    sqlite3_prepare_v2(db, "SELECT iccam_id, url, domain, status FROM reports WHERE id = ?", -1, &st, NULL);
    FCGX_Request req;
    FCGX_InitRequest(&req, sock, 0);
    while (FCGX_Accept_r(&req) >= 0) {
        const char *uri = FCGX_GetParam("DOCUMENT_URI", req.envp);
        const char *slash = uri ? strrchr(uri, '/') : NULL;
        sqlite3_bind_int64(st, 1, slash ? atoll(slash + 1) : 0);
        if (sqlite3_step(st) == SQLITE_ROW)
            FCGX_FPrintF(req.out, "Status: 200 OK\r\nContent-Type: application/json\r\n\r\n"
                                  "{\"iccam_id\":\"%s\",\"url\":\"%s\",\"domain\":\"%s\",\"status\":\"%s\"}",
                         sqlite3_column_text(st, 0), sqlite3_column_text(st, 1), sqlite3_column_text(st, 2),
                         sqlite3_column_text(st, 3));
        else
            FCGX_FPrintF(req.out, "Status: 404 Not Found\r\n\r\n");
        sqlite3_reset(st);
        FCGX_Finish_r(&req);
    }
    _exit(0);
}

/* Open the socket and fork the workers; runs until killed. */
int main(int argc, char **argv)
{
    if (argc != 4) {
        fprintf(stderr, "usage: cport-bare DB SOCKET WORKERS\n");
        return 2;
    }
    FCGX_Init();
    unlink(argv[2]);
    umask(0117);
    int sock = FCGX_OpenSocket(argv[2], 256);
    if (sock < 0)
        return 1;
    for (int i = 0; i < atoi(argv[3]); i++)
        if (fork() == 0)
            bare_worker(sock, argv[1]);
    while (wait(NULL) > 0)
        ;
    return 0;
}
