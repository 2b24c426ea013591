/* A generation job: one request travelling from an HTTP thread to the engine worker and
 * its output travelling back.
 *
 * The HTTP side creates the job (request parsed, prompt tokenized), the worker runs it and
 * appends formatted output (SSE events, or the whole JSON body at the end) to `out` under
 * `mu`, then calls wake() so a suspended connection resumes. Both sides hold a reference;
 * the last sv_job_unref frees it. */
#ifndef BOSON_SERVER_JOB_H
#define BOSON_SERVER_JOB_H

#include "boson.h"
#include "server/jw.h"
#include "server/request.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

typedef struct sv_job sv_job;

struct sv_job {
    pthread_mutex_t mu;
    int refs;
    sv_request req;
    int32_t *ids; /* prompt ids (boson_free) */
    size_t n_ids;
    int64_t max_tokens;         /* after the context check */
    char id[48];                /* response id */
    int64_t created;            /* unix seconds */
    char model[256];            /* model name echoed in responses */
    const boson_engine *engine; /* for token text in logprobs */

    /* output, guarded by mu */
    sv_buf out;
    int finished;            /* the worker is done with it: out holds everything left */
    int http_status;         /* status of a non-streamed answer (200, or an error's) */
    int suspended;           /* the HTTP side suspended its connection waiting for output */
    void (*wake)(sv_job *j); /* called with mu held after output or completion */
    void *conn;              /* HTTP connection (http.c) */
    int fd;                  /* its socket while conn is set, else -1 (peer checks) */

    atomic_int cancelled; /* client went away: stop at the next token */

    /* worker-side state (only the worker touches these) */
    boson_gen *gen;
    int session_slot;
    int started;
    sv_buf lp; /* logprob entries not yet sent (chat: JSON objects, comma-separated) */
    sv_buf lp_tok, lp_val, lp_top; /* completions: tokens, token_logprobs, top_logprobs */
    int n_lp;
    int64_t text_offset;
    int block_open; /* anthropic: index of the open content block + 1, 0 none */
    int block_kind; /* anthropic: 1 thinking, 2 text, 3 tool_use */
    int n_blocks;
    double t_enqueue, t_start, t_first, t_last_write;
    double t_peer_check; /* last look at the socket for a closed peer */
    sv_job *next;
};

sv_job *sv_job_new(void);
void sv_job_ref(sv_job *j);
void sv_job_unref(sv_job *j);

/* Response shaping (emit.c for the OpenAI APIs, anthropic.c for Messages), called by the
 * worker with j->mu held. */
void sv_emit_start(sv_job *j);
void sv_emit_delta(sv_job *j, const boson_delta *d);
void sv_emit_token(sv_job *j, const boson_token_info *t);
void sv_emit_finish(sv_job *j, const boson_gen_result *r);
void sv_emit_fail(sv_job *j, int http, const char *message);
/* A ": keepalive" comment for streams. */
void sv_emit_keepalive(sv_job *j);

/* Anthropic shapes (anthropic.c). */
void sv_anth_start(sv_job *j);
void sv_anth_delta(sv_job *j, const boson_delta *d);
void sv_anth_finish(sv_job *j, const boson_gen_result *r);

/* OpenAI-shaped error body {"error": {...}} into b (emit.c); Anthropic-shaped for
 * anthropic != 0. */
void sv_error_body(sv_buf *b, const sv_error *e, int anthropic);

#endif
