/* The engine worker: loads the model, owns the sessions, admits queued jobs up to
 * max_concurrent and runs them one step at a time in turn (a prefill chunk or a decoded
 * token each), so a long answer does not hold up the others. */
#include "server/server_impl.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

enum { KEEPALIVE_PREFILL_S = 2, KEEPALIVE_QUEUE_S = 5 };
static const double PEER_CHECK_S = 0.02; /* how often a running job looks at its socket */

double sv_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

int sv_worker_submit(sv_server *s, sv_job *j, sv_error *e)
{
    pthread_mutex_lock(&s->mu);
    if (s->stopping) {
        pthread_mutex_unlock(&s->mu);
        return sv_error_set(e, 503, NULL, "shutting_down", "the server is shutting down");
    }
    if (s->n_active + s->n_queued >= s->opt.max_concurrent + s->opt.max_queue) {
        int q = s->n_queued;
        pthread_mutex_unlock(&s->mu);
        return sv_error_set(e, 503, NULL, "overloaded",
                            "the server is busy (%d requests running, %d waiting); retry later",
                            s->opt.max_concurrent, q);
    }
    sv_job_ref(j);
    j->t_enqueue = sv_now();
    j->t_last_write = j->t_enqueue;
    j->next = NULL;
    if (s->q_tail)
        s->q_tail->next = j;
    else
        s->q_head = j;
    s->q_tail = j;
    s->n_queued++;
    pthread_cond_signal(&s->cv);
    pthread_mutex_unlock(&s->mu);
    return 0;
}

static void wake(sv_job *j)
{
    j->t_last_write = sv_now();
    if (j->wake)
        j->wake(j);
}

/* Cancels j when its client has gone away. Streams learn it from failed writes too, but a
 * connection suspended while waiting (every non-streamed answer) only learns it here. */
static int check_peer(sv_job *j, int force)
{
    if (atomic_load(&j->cancelled))
        return 1;
    double now = sv_now();
    if (!force && now - j->t_peer_check < PEER_CHECK_S)
        return 0;
    j->t_peer_check = now;
    pthread_mutex_lock(&j->mu);
    int gone = j->conn && sv_peer_gone(j->fd);
    pthread_mutex_unlock(&j->mu);
    if (gone)
        atomic_store(&j->cancelled, 1);
    return gone;
}

static int cb_delta(void *user, const boson_delta *d)
{
    sv_job *j = user;
    pthread_mutex_lock(&j->mu);
    sv_emit_delta(j, d);
    if (j->req.stream)
        wake(j);
    pthread_mutex_unlock(&j->mu);
    return atomic_load(&j->cancelled);
}

static int cb_token(void *user, const boson_token_info *t)
{
    sv_job *j = user;
    pthread_mutex_lock(&j->mu);
    sv_emit_token(j, t);
    pthread_mutex_unlock(&j->mu);
    return atomic_load(&j->cancelled);
}

static int cb_cancel(void *user)
{
    return check_peer(user, 0);
}

static void cb_prefill(void *user, int64_t done, int64_t total)
{
    sv_job *j = user;
    (void)done;
    (void)total;
    pthread_mutex_lock(&j->mu);
    if (j->req.stream && sv_now() - j->t_last_write >= KEEPALIVE_PREFILL_S) {
        sv_emit_keepalive(j);
        wake(j);
    }
    pthread_mutex_unlock(&j->mu);
}

typedef struct slots {
    boson_session **ses;
    int *busy;
    int n;
} slots;

/* The free slot whose session history shares the longest prefix with the prompt. */
static int pick_slot(const slots *sl, const sv_job *j)
{
    int best = -1;
    size_t best_len = 0;
    for (int i = 0; i < sl->n; i++) {
        if (sl->busy[i])
            continue;
        size_t common = 0;
        if (sl->ses[i]) {
            const int32_t *h;
            size_t n = boson_session_history(sl->ses[i], &h);
            while (common < n && common < j->n_ids && h[common] == j->ids[common])
                common++;
        }
        if (best < 0 || common > best_len) {
            best = i;
            best_len = common;
        }
    }
    return best;
}

static void complete(sv_server *s, sv_job *j, const boson_gen_result *r, int http, const char *msg)
{
    pthread_mutex_lock(&j->mu);
    if (r)
        sv_emit_finish(j, r);
    else
        sv_emit_fail(j, http, msg);
    j->finished = 1;
    wake(j);
    pthread_mutex_unlock(&j->mu);
    if (r) {
        sv_metrics_result(&s->m, r);
        if (r->finish != BOSON_FINISH_CANCELLED && r->completion_tokens > 0)
            sv_metrics_ttft(&s->m, (j->t_start - j->t_enqueue) + r->ttft_s);
    }
}

static int start_job(sv_server *s, slots *sl, sv_job *j)
{
    j->started = 1;
    j->t_start = sv_now();
    j->engine = s->engine;
    if (check_peer(j, 1)) {
        boson_gen_result r;
        memset(&r, 0, sizeof r);
        r.finish = BOSON_FINISH_CANCELLED;
        complete(s, j, &r, 0, NULL);
        return 1;
    }
    boson_error err = {0};
    int slot = pick_slot(sl, j);
    if (slot < 0) {
        complete(s, j, NULL, 500, "no free session (internal error)");
        return 1;
    }
    if (!sl->ses[slot]) {
        boson_session_options so;
        boson_session_options_init(&so);
        if (boson_session_create(s->engine, &so, &sl->ses[slot], &err) != BOSON_OK) {
            sl->ses[slot] = NULL;
            complete(s, j, NULL, 500, err.message);
            return 1;
        }
    }
    boson_gen_options go;
    boson_gen_options_init(&go);
    go.sampling = j->req.samp;
    go.max_tokens = j->max_tokens;
    go.stop = (const char *const *)j->req.stop;
    go.n_stop = j->req.n_stop;
    if (j->req.api == SV_API_COMPLETION) {
        go.parse_reasoning = 0;
        go.parse_tool_calls = 0;
    } else {
        go.tools_json = j->req.tools_json;
    }
    boson_prompt p = {.ids = j->ids, .n_ids = j->n_ids};
    boson_gen_callbacks cb = {.user = j,
                              .on_delta = cb_delta,
                              .on_token = cb_token,
                              .should_cancel = cb_cancel,
                              .on_prefill = cb_prefill};
    if (boson_gen_begin(sl->ses[slot], &p, &go, &cb, &j->gen, &err) != BOSON_OK) {
        j->gen = NULL;
        complete(s, j, NULL, err.status == BOSON_ERR_INVALID_ARG ? 400 : 500, err.message);
        return 1;
    }
    sl->busy[slot] = 1;
    j->session_slot = slot;
    pthread_mutex_lock(&j->mu);
    sv_emit_start(j);
    if (j->req.stream)
        wake(j);
    pthread_mutex_unlock(&j->mu);
    return 0;
}

/* One unit of work; 1 when the job is over. */
static int step_job(sv_server *s, slots *sl, sv_job *j)
{
    if (!j->started)
        return start_job(s, sl, j);
    boson_error err = {0};
    int done = 0;
    boson_status st = boson_gen_step(j->gen, &done, &err);
    if (st == BOSON_OK && !done)
        return 0;
    boson_gen_result r;
    memset(&r, 0, sizeof r);
    boson_error err2 = {0};
    boson_status st2 = boson_gen_end(j->gen, &r, &err2);
    j->gen = NULL;
    sl->busy[j->session_slot] = 0;
    if (st != BOSON_OK)
        complete(s, j, NULL, 500, err.message);
    else if (st2 != BOSON_OK)
        complete(s, j, NULL, 500, err2.message);
    else
        complete(s, j, &r, 0, NULL);
    boson_gen_result_free(&r);
    return 1;
}

static void keepalive_queued(sv_server *s)
{
    double now = sv_now();
    pthread_mutex_lock(&s->mu);
    for (sv_job *j = s->q_head; j; j = j->next) {
        check_peer(j, 1);
        pthread_mutex_lock(&j->mu);
        if (j->req.stream && now - j->t_last_write >= KEEPALIVE_QUEUE_S) {
            sv_emit_keepalive(j);
            wake(j);
        }
        pthread_mutex_unlock(&j->mu);
    }
    pthread_mutex_unlock(&s->mu);
}

static void load(sv_server *s)
{
    boson_engine_options eo;
    boson_engine_options_init(&eo);
    eo.model_path = s->model_path;
    eo.n_threads = s->opt.threads;
    eo.quiet = s->opt.quiet;
    boson_error err = {0};
    if (boson_engine_open(&s->engine, &eo, &err) != BOSON_OK) {
        s->engine = NULL;
        s->load_err = err;
        atomic_store(&s->state, -1);
        return;
    }
    boson_engine_info(s->engine, &s->info);
    if (!s->info.has_tokenizer) {
        snprintf(s->load_err.message, sizeof s->load_err.message,
                 "%s has no tokenizer.json: the server needs the model's text side", s->model_path);
        s->load_err.status = BOSON_ERR_UNSUPPORTED;
        atomic_store(&s->state, -1);
        return;
    }
    int64_t ctx = s->info.context_length > 0 ? s->info.context_length : 4096;
    if (s->opt.ctx > 0 && s->opt.ctx < ctx)
        ctx = s->opt.ctx;
    s->ctx = ctx;
    atomic_store(&s->state, 1);
}

void *sv_worker_main(void *arg)
{
    sv_server *s = arg;
    load(s);
    if (atomic_load(&s->state) != 1)
        return NULL;
    int maxc = s->opt.max_concurrent;
    slots sl = {calloc((size_t)maxc, sizeof *sl.ses), calloc((size_t)maxc, sizeof *sl.busy), maxc};
    sv_job **act = calloc((size_t)maxc, sizeof *act);
    if (!sl.ses || !sl.busy || !act) {
        snprintf(s->load_err.message, sizeof s->load_err.message, "out of memory");
        atomic_store(&s->state, -1);
        free(sl.ses);
        free(sl.busy);
        free(act);
        return NULL;
    }
    int n = 0;
    double last_keepalive = sv_now();
    for (;;) {
        pthread_mutex_lock(&s->mu);
        while (!s->stopping && n == 0 && !s->q_head) {
            struct timespec ts;
            clock_gettime(CLOCK_REALTIME, &ts);
            ts.tv_sec += 1;
            pthread_cond_timedwait(&s->cv, &s->mu, &ts);
        }
        int stopping = s->stopping;
        sv_job *drop = NULL;
        if (stopping) {
            drop = s->q_head;
            s->q_head = s->q_tail = NULL;
            s->n_queued = 0;
        }
        while (n < maxc && s->q_head) {
            sv_job *j = s->q_head;
            s->q_head = j->next;
            if (!s->q_head)
                s->q_tail = NULL;
            j->next = NULL;
            s->n_queued--;
            act[n++] = j;
        }
        s->n_active = n;
        pthread_mutex_unlock(&s->mu);
        while (drop) {
            sv_job *next = drop->next;
            complete(s, drop, NULL, 503, "the server is shutting down");
            sv_job_unref(drop);
            drop = next;
        }
        if (stopping) {
            for (int i = 0; i < n; i++)
                atomic_store(&act[i]->cancelled, 1);
            if (n == 0)
                break;
        }
        int kept = 0;
        for (int i = 0; i < n; i++) {
            sv_job *j = act[i];
            if (step_job(s, &sl, j))
                sv_job_unref(j);
            else
                act[kept++] = j;
        }
        n = kept;
        pthread_mutex_lock(&s->mu);
        s->n_active = n;
        pthread_mutex_unlock(&s->mu);
        if (sv_now() - last_keepalive >= 1.0) {
            keepalive_queued(s);
            last_keepalive = sv_now();
        }
    }
    for (int i = 0; i < maxc; i++)
        boson_session_free(sl.ses[i]);
    free(sl.ses);
    free(sl.busy);
    free(act);
    return NULL;
}
