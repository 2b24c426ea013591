/* Prometheus text exposition of the server's counters (GET /metrics). */
#include "server/server_impl.h"

#include <string.h>

static const double TTFT_BOUNDS[SV_TTFT_BUCKETS] = {0.005, 0.01, 0.025, 0.05, 0.1, 0.25,
                                                    0.5,   1,    2.5,   5,    10};

void sv_metrics_init(sv_metrics *m)
{
    memset(m, 0, sizeof *m);
    pthread_mutex_init(&m->mu, NULL);
}

void sv_metrics_destroy(sv_metrics *m)
{
    pthread_mutex_destroy(&m->mu);
}

void sv_metrics_request(sv_metrics *m, sv_api api)
{
    pthread_mutex_lock(&m->mu);
    m->requests[api]++;
    pthread_mutex_unlock(&m->mu);
}

void sv_metrics_response(sv_metrics *m, int http)
{
    int k = 5;
    if (http < 300)
        k = 0;
    else if (http == 401)
        k = 2;
    else if (http == 413)
        k = 3;
    else if (http == 503)
        k = 4;
    else if (http < 500)
        k = 1;
    pthread_mutex_lock(&m->mu);
    m->responses[k]++;
    pthread_mutex_unlock(&m->mu);
}

void sv_metrics_result(sv_metrics *m, const boson_gen_result *r)
{
    pthread_mutex_lock(&m->mu);
    m->finished++;
    if (r->finish == BOSON_FINISH_CANCELLED)
        m->cancelled++;
    m->prompt_tokens += (uint64_t)(r->prompt_tokens > 0 ? r->prompt_tokens : 0);
    m->completion_tokens += (uint64_t)(r->completion_tokens > 0 ? r->completion_tokens : 0);
    m->cached_tokens += (uint64_t)(r->cached_tokens > 0 ? r->cached_tokens : 0);
    if (r->prefill_s > 0) {
        m->prefill_s += r->prefill_s;
        m->prefill_tok += (uint64_t)(r->prompt_tokens - r->cached_tokens);
        m->last_prefill_tok_s = r->prefill_tok_s;
    }
    if (r->decode_s > 0) {
        m->decode_s += r->decode_s;
        m->decode_tok += (uint64_t)(r->completion_tokens > 0 ? r->completion_tokens : 0);
        m->last_decode_tok_s = r->decode_tok_s;
    }
    pthread_mutex_unlock(&m->mu);
}

void sv_metrics_ttft(sv_metrics *m, double seconds)
{
    pthread_mutex_lock(&m->mu);
    for (int i = 0; i < SV_TTFT_BUCKETS; i++)
        if (seconds <= TTFT_BOUNDS[i])
            m->ttft_bucket[i]++;
    m->ttft_bucket[SV_TTFT_BUCKETS]++;
    m->ttft_sum += seconds;
    m->ttft_count++;
    pthread_mutex_unlock(&m->mu);
}

static void counter(sv_buf *b, const char *name, const char *help, uint64_t v)
{
    sv_buf_printf(b, "# HELP %s %s\n# TYPE %s counter\n%s %llu\n", name, help, name, name,
                  (unsigned long long)v);
}

static void gauge(sv_buf *b, const char *name, const char *help, double v)
{
    sv_buf_printf(b, "# HELP %s %s\n# TYPE %s gauge\n%s %.6g\n", name, help, name, name, v);
}

void sv_metrics_text(sv_server *s, sv_buf *b)
{
    static const char *const api_names[4] = {"chat_completions", "completions", "messages",
                                             "count_tokens"};
    static const char *const codes[6] = {"2xx", "4xx", "401", "413", "503", "5xx"};
    pthread_mutex_lock(&s->mu);
    int queued = s->n_queued, active = s->n_active;
    pthread_mutex_unlock(&s->mu);
    sv_metrics m;
    pthread_mutex_lock(&s->m.mu);
    m = s->m;
    pthread_mutex_unlock(&s->m.mu);

    sv_buf_puts(b, "# HELP boson_requests_total Generation requests received, by endpoint.\n"
                   "# TYPE boson_requests_total counter\n");
    for (int i = 0; i < 4; i++)
        sv_buf_printf(b, "boson_requests_total{endpoint=\"%s\"} %llu\n", api_names[i],
                      (unsigned long long)m.requests[i]);
    sv_buf_puts(b, "# HELP boson_responses_total HTTP responses, by status class.\n"
                   "# TYPE boson_responses_total counter\n");
    for (int i = 0; i < 6; i++)
        sv_buf_printf(b, "boson_responses_total{code=\"%s\"} %llu\n", codes[i],
                      (unsigned long long)m.responses[i]);
    counter(b, "boson_generations_total", "Generations finished (cancelled included).", m.finished);
    counter(b, "boson_generations_cancelled_total",
            "Generations stopped early because the client went away.", m.cancelled);
    counter(b, "boson_prompt_tokens_total", "Prompt tokens of finished generations.",
            m.prompt_tokens);
    counter(b, "boson_prompt_cached_tokens_total", "Prompt tokens reused from a session.",
            m.cached_tokens);
    counter(b, "boson_completion_tokens_total", "Tokens generated.", m.completion_tokens);
    gauge(b, "boson_prefill_tokens_per_second", "Prompt tokens evaluated per second (all time).",
          m.prefill_s > 0 ? (double)m.prefill_tok / m.prefill_s : 0);
    gauge(b, "boson_decode_tokens_per_second", "Tokens decoded per second (all time).",
          m.decode_s > 0 ? (double)m.decode_tok / m.decode_s : 0);
    gauge(b, "boson_queue_depth", "Requests waiting for a session.", queued);
    gauge(b, "boson_active_sessions", "Generations running now.", active);
    gauge(b, "boson_model_ready", "1 once the model is loaded.",
          atomic_load(&s->state) == 1 ? 1 : 0);
    sv_buf_puts(b, "# HELP boson_ttft_seconds Time from request to first generated token.\n"
                   "# TYPE boson_ttft_seconds histogram\n");
    for (int i = 0; i < SV_TTFT_BUCKETS; i++)
        sv_buf_printf(b, "boson_ttft_seconds_bucket{le=\"%g\"} %llu\n", TTFT_BOUNDS[i],
                      (unsigned long long)m.ttft_bucket[i]);
    sv_buf_printf(b, "boson_ttft_seconds_bucket{le=\"+Inf\"} %llu\n",
                  (unsigned long long)m.ttft_bucket[SV_TTFT_BUCKETS]);
    sv_buf_printf(b, "boson_ttft_seconds_sum %.6f\nboson_ttft_seconds_count %llu\n", m.ttft_sum,
                  (unsigned long long)m.ttft_count);
}
