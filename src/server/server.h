/* boson serve: an OpenAI- and Anthropic-compatible HTTP server over the public engine API.
 *
 * sv_server_start binds the socket first, then loads the model on the engine worker
 * thread (GET /health answers 503 until it is ready). One worker owns the engine and its
 * sessions and interleaves the decode steps of up to max_concurrent requests; the rest
 * wait in a queue of max_queue, beyond which requests get 503 with Retry-After. */
#ifndef BOSON_SERVER_SERVER_H
#define BOSON_SERVER_SERVER_H

#include "boson.h"

#include <stddef.h>
#include <stdint.h>

typedef struct sv_options {
    const char *model_path; /* resolved checkpoint directory */
    const char *host;       /* default 127.0.0.1 */
    int port;               /* default 8080; 0 picks a free port (sv_server_port) */
    const char *api_key;    /* NULL or "": no authentication */
    size_t max_body;        /* bytes (default 16 MiB) */
    int max_concurrent;     /* active sessions (default 4) */
    int max_queue;          /* waiting requests (default 64) */
    int64_t ctx;            /* context limit per request (0: the model's) */
    int threads;            /* math threads (0: online CPUs) */
    int quiet;              /* no request log */
} sv_options;

void sv_options_init(sv_options *o);

typedef struct sv_server sv_server;

boson_status sv_server_start(const sv_options *o, sv_server **out, boson_error *err);
/* 0 loading, 1 ready, -1 the model failed to load (message in err). */
int sv_server_state(sv_server *s, boson_error *err);
int sv_server_port(const sv_server *s);
/* Stops accepting, cancels queued and running generations, lets every connection finish
 * its last bytes (bounded), stops the daemon and frees everything. */
void sv_server_stop(sv_server *s);

#endif
