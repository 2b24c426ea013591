/* Internals shared by the server's files (http.c, worker.c, metrics.c, prepare.c). */
#ifndef BOSON_SERVER_SERVER_IMPL_H
#define BOSON_SERVER_SERVER_IMPL_H

#include "server/job.h"
#include "server/jw.h"
#include "server/request.h"
#include "server/server.h"

#include <pthread.h>
#include <stdatomic.h>

enum { SV_TTFT_BUCKETS = 11 };

typedef struct sv_metrics {
    pthread_mutex_t mu;
    uint64_t requests[4];  /* per sv_api */
    uint64_t responses[6]; /* per status class: 2xx, 4xx (not 401/413), 401, 413, 503, 5xx */
    uint64_t prompt_tokens, completion_tokens, cached_tokens;
    uint64_t finished, cancelled;
    double prefill_s, decode_s; /* summed wall time */
    uint64_t prefill_tok, decode_tok;
    double last_prefill_tok_s, last_decode_tok_s;
    uint64_t ttft_bucket[SV_TTFT_BUCKETS + 1];
    double ttft_sum;
    uint64_t ttft_count;
} sv_metrics;

struct sv_server {
    sv_options opt;
    char *model_path, *host, *api_key;
    struct MHD_Daemon *daemon;
    int port;
    int64_t started;
    atomic_uint_fast64_t next_id;

    /* engine, owned by the worker; read-only for HTTP threads once ready */
    boson_engine *engine;
    boson_model_info info;
    int64_t ctx;
    atomic_int state; /* 0 loading, 1 ready, -1 failed */
    boson_error load_err;

    pthread_t worker;
    int worker_started;
    pthread_mutex_t mu; /* queue and counters below */
    pthread_cond_t cv;
    sv_job *q_head, *q_tail;
    int n_queued, n_active;
    int stopping;

    sv_metrics m;
};

/* http.c: 1 when the peer of a connection's socket has closed or reset it. Only peeks,
 * never consumes a byte; data waiting (a pipelined request) counts as alive. A client that
 * half-closes its side after sending the request reads as gone (HTTP clients do not). */
int sv_peer_gone(int fd);

/* worker.c */
void *sv_worker_main(void *server);
/* Queues a job (takes a reference); -1 with a 503 in e when the queue is full or the
 * server is stopping. */
int sv_worker_submit(sv_server *s, sv_job *j, sv_error *e);
double sv_now(void);

/* prepare.c: renders / tokenizes the request against the engine and checks the context;
 * fills j->ids, j->max_tokens. */
int sv_prepare(sv_server *s, sv_job *j, sv_error *e);
/* Anthropic count_tokens: the prompt length of the request. */
int sv_count_tokens(sv_server *s, sv_request *r, int64_t *n, sv_error *e);

/* metrics.c */
void sv_metrics_init(sv_metrics *m);
void sv_metrics_destroy(sv_metrics *m);
void sv_metrics_request(sv_metrics *m, sv_api api);
void sv_metrics_response(sv_metrics *m, int http);
void sv_metrics_result(sv_metrics *m, const boson_gen_result *r);
void sv_metrics_ttft(sv_metrics *m, double seconds);
void sv_metrics_text(sv_server *s, sv_buf *b);

#endif
