/* HTTP layer on libmicrohttpd: one internal epoll thread parses requests, answers the cheap
 * routes itself and queues generations to the worker. Waiting connections are suspended
 * (a non-streamed answer until its job finishes, a stream whenever it has nothing to send)
 * and resumed by the worker through the job's wake hook. */
#include "server/server_impl.h"

#include <arpa/inet.h>
#include <errno.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

typedef struct sv_conn {
    sv_server *s;
    sv_buf body;
    int too_big;
    sv_job *job;
} sv_conn;

static enum MHD_Result send_buf(struct MHD_Connection *c, sv_server *s, unsigned status,
                                const char *ctype, const char *data, size_t n, int retry)
{
    struct MHD_Response *r =
        MHD_create_response_from_buffer(n, (void *)(uintptr_t)data, MHD_RESPMEM_MUST_COPY);
    if (!r)
        return MHD_NO;
    MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, ctype);
    if (retry)
        MHD_add_response_header(r, MHD_HTTP_HEADER_RETRY_AFTER, "1");
    enum MHD_Result ret = MHD_queue_response(c, status, r);
    MHD_destroy_response(r);
    sv_metrics_response(&s->m, (int)status);
    return ret;
}

static enum MHD_Result send_error(struct MHD_Connection *c, sv_server *s, const sv_error *e,
                                  int anthropic)
{
    sv_buf b = {0};
    sv_error_body(&b, e, anthropic);
    enum MHD_Result ret = send_buf(c, s, (unsigned)e->http, "application/json", sv_buf_cstr(&b),
                                   b.oom ? 0 : b.len, e->http == 503);
    sv_buf_free(&b);
    return ret;
}

static enum MHD_Result send_json(struct MHD_Connection *c, sv_server *s, unsigned status, sv_buf *b)
{
    if (b->oom) {
        sv_error e;
        sv_error_set(&e, 500, NULL, NULL, "out of memory");
        return send_error(c, s, &e, 0);
    }
    return send_buf(c, s, status, "application/json", sv_buf_cstr(b), b->len, 0);
}

/* Worker -> HTTP: called with j->mu held after new output or completion. */
static void http_wake(sv_job *j)
{
    if (j->suspended && j->conn) {
        j->suspended = 0;
        MHD_resume_connection((struct MHD_Connection *)j->conn);
    }
}

int sv_peer_gone(int fd)
{
    if (fd < 0)
        return 0;
    char c;
    ssize_t n = recv(fd, &c, 1, MSG_PEEK | MSG_DONTWAIT);
    if (n == 0)
        return 1; /* orderly shutdown */
    return n < 0 && (errno == ECONNRESET || errno == ETIMEDOUT);
}

static ssize_t stream_reader(void *cls, uint64_t pos, char *buf, size_t max)
{
    sv_job *j = cls;
    (void)pos;
    pthread_mutex_lock(&j->mu);
    if (j->out.len > 0) {
        size_t n = j->out.len < max ? j->out.len : max;
        memcpy(buf, j->out.p, n);
        sv_buf_consume(&j->out, n);
        pthread_mutex_unlock(&j->mu);
        return (ssize_t)n;
    }
    if (j->finished || !j->conn) {
        pthread_mutex_unlock(&j->mu);
        return MHD_CONTENT_READER_END_OF_STREAM;
    }
    j->suspended = 1;
    MHD_suspend_connection((struct MHD_Connection *)j->conn);
    pthread_mutex_unlock(&j->mu);
    return 0;
}

static void stream_free(void *cls)
{
    sv_job_unref(cls);
}

static int constant_time_eq(const char *a, const char *b)
{
    size_t na = strlen(a), nb = strlen(b);
    unsigned char d = (unsigned char)(na != nb);
    for (size_t i = 0; i < na; i++)
        d |= (unsigned char)(a[i] ^ b[i % (nb ? nb : 1)]);
    return d == 0;
}

static int authorized(struct MHD_Connection *c, const sv_server *s)
{
    if (!s->api_key || !s->api_key[0])
        return 1;
    const char *h = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Authorization");
    if (h && !strncasecmp(h, "Bearer ", 7) && constant_time_eq(h + 7, s->api_key))
        return 1;
    h = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "x-api-key");
    return h && constant_time_eq(h, s->api_key);
}

static void model_object(sv_jw *w, const sv_server *s)
{
    sv_jw_obj(w);
    sv_jw_key(w, "id");
    sv_jw_str(w, s->info.model_id);
    sv_jw_key(w, "object");
    sv_jw_str(w, "model");
    sv_jw_key(w, "created");
    sv_jw_int(w, s->started);
    sv_jw_key(w, "owned_by");
    sv_jw_str(w, "boson");
    sv_jw_key(w, "context_length");
    sv_jw_int(w, s->ctx);
    sv_jw_obj_end(w);
}

static enum MHD_Result answer_health(struct MHD_Connection *c, sv_server *s)
{
    int st = atomic_load(&s->state);
    sv_buf b = {0};
    sv_jw w;
    sv_jw_init(&w, &b);
    sv_jw_obj(&w);
    sv_jw_key(&w, "status");
    sv_jw_str(&w, st == 1 ? "ok" : st == 0 ? "loading" : "error");
    if (st < 0) {
        sv_jw_key(&w, "message");
        sv_jw_str(&w, s->load_err.message);
    }
    sv_jw_obj_end(&w);
    enum MHD_Result r = send_json(c, s, st == 1 ? 200 : 503, &b);
    sv_buf_free(&b);
    return r;
}

static enum MHD_Result answer_models(struct MHD_Connection *c, sv_server *s, const char *id)
{
    sv_buf b = {0};
    sv_jw w;
    sv_jw_init(&w, &b);
    if (id) {
        if (strcmp(id, s->info.model_id)) {
            sv_error e;
            sv_error_set(&e, 404, "model", "model_not_found", "model '%.200s' does not exist", id);
            return send_error(c, s, &e, 0);
        }
        model_object(&w, s);
    } else {
        sv_jw_obj(&w);
        sv_jw_key(&w, "object");
        sv_jw_str(&w, "list");
        sv_jw_key(&w, "data");
        sv_jw_arr(&w);
        model_object(&w, s);
        sv_jw_arr_end(&w);
        sv_jw_obj_end(&w);
    }
    enum MHD_Result r = send_json(c, s, 200, &b);
    sv_buf_free(&b);
    return r;
}

static enum MHD_Result answer_metrics(struct MHD_Connection *c, sv_server *s)
{
    sv_buf b = {0};
    sv_metrics_text(s, &b);
    enum MHD_Result r =
        send_buf(c, s, 200, "text/plain; version=0.0.4", sv_buf_cstr(&b), b.oom ? 0 : b.len, 0);
    sv_buf_free(&b);
    return r;
}

static enum MHD_Result answer_job(struct MHD_Connection *c, sv_server *s, sv_job *j)
{
    pthread_mutex_lock(&j->mu);
    unsigned status = (unsigned)j->http_status;
    struct MHD_Response *r = MHD_create_response_from_buffer(
        j->out.oom ? 0 : j->out.len, j->out.p ? j->out.p : (void *)"", MHD_RESPMEM_MUST_COPY);
    pthread_mutex_unlock(&j->mu);
    if (!r)
        return MHD_NO;
    MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, "application/json");
    enum MHD_Result ret = MHD_queue_response(c, status, r);
    MHD_destroy_response(r);
    sv_metrics_response(&s->m, (int)status);
    return ret;
}

static enum MHD_Result count_tokens(struct MHD_Connection *c, sv_server *s, sv_conn *cc)
{
    sv_request r;
    sv_error e;
    sv_request_init(&r, SV_API_COUNT);
    int64_t n = 0;
    if (sv_parse_messages(cc->body.p ? cc->body.p : "", cc->body.len, SV_API_COUNT, &r, &e) ||
        sv_count_tokens(s, &r, &n, &e)) {
        sv_request_free(&r);
        return send_error(c, s, &e, 1);
    }
    sv_request_free(&r);
    sv_buf b = {0};
    sv_buf_printf(&b, "{\"input_tokens\":%lld}", (long long)n);
    enum MHD_Result ret = send_json(c, s, 200, &b);
    sv_buf_free(&b);
    return ret;
}

static enum MHD_Result generate(struct MHD_Connection *c, sv_server *s, sv_conn *cc, sv_api api)
{
    int anth = api == SV_API_MESSAGES;
    sv_error e;
    sv_metrics_request(&s->m, api);
    if (api == SV_API_COUNT)
        return count_tokens(c, s, cc);
    sv_job *j = sv_job_new();
    if (!j) {
        sv_error_set(&e, 500, NULL, NULL, "out of memory");
        return send_error(c, s, &e, anth);
    }
    sv_request_init(&j->req, api);
    const char *body = cc->body.p ? cc->body.p : "";
    int rc = api == SV_API_CHAT         ? sv_parse_chat(body, cc->body.len, &j->req, &e)
             : api == SV_API_COMPLETION ? sv_parse_completion(body, cc->body.len, &j->req, &e)
                                        : sv_parse_messages(body, cc->body.len, api, &j->req, &e);
    if (rc || sv_prepare(s, j, &e)) {
        sv_job_unref(j);
        return send_error(c, s, &e, anth);
    }
    uint64_t seq = atomic_fetch_add(&s->next_id, 1);
    snprintf(j->id, sizeof j->id, "%s%llx%08llx",
             api == SV_API_CHAT         ? "chatcmpl-"
             : api == SV_API_COMPLETION ? "cmpl-"
                                        : "msg_",
             (unsigned long long)s->started, (unsigned long long)seq);
    j->created = (int64_t)time(NULL);
    j->conn = c;
    j->wake = http_wake;
    /* libmicrohttpd does not notice a peer closing a suspended connection; the worker peeks
     * at the socket instead (valid until `completed` clears conn: MHD closes it after). */
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);
    j->fd = ci ? ci->connect_fd : -1;
    if (sv_worker_submit(s, j, &e)) {
        sv_job_unref(j);
        return send_error(c, s, &e, anth);
    }
    cc->job = j;
    if (!j->req.stream) {
        pthread_mutex_lock(&j->mu);
        int done = j->finished;
        if (!done) {
            j->suspended = 1;
            MHD_suspend_connection(c);
        }
        pthread_mutex_unlock(&j->mu);
        return done ? answer_job(c, s, j) : MHD_YES;
    }
    sv_job_ref(j);
    struct MHD_Response *r =
        MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 16384, stream_reader, j, stream_free);
    if (!r) {
        sv_job_unref(j);
        atomic_store(&j->cancelled, 1);
        return MHD_NO;
    }
    MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, "text/event-stream");
    MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-cache");
    MHD_add_response_header(r, "X-Accel-Buffering", "no");
    enum MHD_Result ret = MHD_queue_response(c, MHD_HTTP_OK, r);
    MHD_destroy_response(r);
    sv_metrics_response(&s->m, 200);
    return ret;
}

static enum MHD_Result route(struct MHD_Connection *c, sv_server *s, sv_conn *cc, const char *url,
                             const char *method)
{
    sv_error e;
    int get = !strcmp(method, "GET"), post = !strcmp(method, "POST");
    if (!strncmp(url, "/v1/", 4))
        url += 3;
    int anth = !strncmp(url, "/messages", 9);
    static const struct {
        const char *path;
        int api; /* -1 GET routes */
    } routes[] = {{"/chat/completions", SV_API_CHAT},
                  {"/completions", SV_API_COMPLETION},
                  {"/messages", SV_API_MESSAGES},
                  {"/messages/count_tokens", SV_API_COUNT},
                  {"/health", -1},
                  {"/metrics", -1},
                  {"/models", -1}};
    int found = -1;
    for (size_t i = 0; i < sizeof routes / sizeof routes[0]; i++)
        if (!strcmp(url, routes[i].path))
            found = (int)i;
    int model_path = !strncmp(url, "/models/", 8) && url[8];
    if (found < 0 && !model_path) {
        sv_error_set(&e, 404, NULL, "not_found", "no route for %s %.200s", method, url);
        return send_error(c, s, &e, anth);
    }
    int is_get = model_path || routes[found].api < 0;
    if ((is_get && !get) || (!is_get && !post)) {
        sv_error_set(&e, 405, NULL, "method_not_allowed", "%s is not allowed on %.200s", method,
                     url);
        return send_error(c, s, &e, anth);
    }
    if (!model_path && !strcmp(url, "/health"))
        return answer_health(c, s);
    if (!model_path && !strcmp(url, "/metrics"))
        return answer_metrics(c, s);
    if (!authorized(c, s)) {
        sv_error_set(&e, 401, NULL, "invalid_api_key",
                     "missing or wrong API key (send 'Authorization: Bearer <key>')");
        return send_error(c, s, &e, anth);
    }
    if (cc->too_big) {
        sv_error_set(&e, 413, NULL, "request_too_large",
                     "request body is larger than the limit of %zu bytes (--max-body-mb)",
                     s->opt.max_body);
        return send_error(c, s, &e, anth);
    }
    int st = atomic_load(&s->state);
    if (st != 1) {
        sv_error_set(&e, 503, NULL, st == 0 ? "model_loading" : "model_failed", "%s",
                     st == 0 ? "the model is still loading" : s->load_err.message);
        return send_error(c, s, &e, anth);
    }
    if (model_path)
        return answer_models(c, s, url + 8);
    if (routes[found].api < 0)
        return answer_models(c, s, NULL);
    return generate(c, s, cc, (sv_api)routes[found].api);
}

static enum MHD_Result handler(void *cls, struct MHD_Connection *c, const char *url,
                               const char *method, const char *version, const char *upload,
                               size_t *upload_size, void **con_cls)
{
    sv_server *s = cls;
    sv_conn *cc = *con_cls;
    (void)version;
    if (!cc) {
        cc = calloc(1, sizeof *cc);
        if (!cc)
            return MHD_NO;
        cc->s = s;
        *con_cls = cc;
        return MHD_YES;
    }
    if (*upload_size) {
        if (!cc->too_big) {
            if (*upload_size > s->opt.max_body - cc->body.len) {
                cc->too_big = 1;
                sv_buf_free(&cc->body);
            } else {
                sv_buf_put(&cc->body, upload, *upload_size);
            }
        }
        *upload_size = 0;
        return MHD_YES;
    }
    if (cc->job) /* resumed: the job has finished */
        return answer_job(c, s, cc->job);
    if (cc->body.oom) {
        sv_error e;
        sv_error_set(&e, 500, NULL, NULL, "out of memory reading the request body");
        return send_error(c, s, &e, 0);
    }
    return route(c, s, cc, url, method);
}

static void completed(void *cls, struct MHD_Connection *c, void **con_cls,
                      enum MHD_RequestTerminationCode toe)
{
    (void)cls;
    (void)c;
    sv_conn *cc = *con_cls;
    if (!cc)
        return;
    if (cc->job) {
        sv_job *j = cc->job;
        if (toe != MHD_REQUEST_TERMINATED_COMPLETED_OK)
            atomic_store(&j->cancelled, 1);
        pthread_mutex_lock(&j->mu);
        j->conn = NULL;
        j->fd = -1;
        j->wake = NULL;
        j->suspended = 0;
        pthread_mutex_unlock(&j->mu);
        sv_job_unref(j);
    }
    sv_buf_free(&cc->body);
    free(cc);
    *con_cls = NULL;
}

void sv_options_init(sv_options *o)
{
    memset(o, 0, sizeof *o);
    o->host = "127.0.0.1";
    o->port = 8080;
    o->max_body = (size_t)16 << 20;
    o->max_concurrent = 4;
    o->max_queue = 64;
}

static char *dup_or_null(const char *s)
{
    return s ? strdup(s) : NULL;
}

static void server_free(sv_server *s)
{
    if (s->engine)
        boson_engine_close(s->engine);
    free(s->model_path);
    free(s->host);
    free(s->api_key);
    sv_metrics_destroy(&s->m);
    pthread_mutex_destroy(&s->mu);
    pthread_cond_destroy(&s->cv);
    free(s);
}

boson_status sv_server_start(const sv_options *o, sv_server **out, boson_error *err)
{
    *out = NULL;
    if (!o->model_path || o->max_concurrent < 1 || o->max_queue < 0 || o->port < 0 ||
        o->port > 65535 || o->max_body == 0) {
        snprintf(err->message, sizeof err->message, "invalid server options");
        return err->status = BOSON_ERR_INVALID_ARG;
    }
    sv_server *s = calloc(1, sizeof *s);
    if (!s) {
        snprintf(err->message, sizeof err->message, "out of memory");
        return err->status = BOSON_ERR_NOMEM;
    }
    s->opt = *o;
    s->model_path = dup_or_null(o->model_path);
    s->host = dup_or_null(o->host ? o->host : "127.0.0.1");
    s->api_key = dup_or_null(o->api_key);
    s->started = (int64_t)time(NULL);
    atomic_init(&s->next_id, 1);
    atomic_init(&s->state, 0);
    pthread_mutex_init(&s->mu, NULL);
    pthread_cond_init(&s->cv, NULL);
    sv_metrics_init(&s->m);

    struct sockaddr_in a4;
    struct sockaddr_in6 a6;
    memset(&a4, 0, sizeof a4);
    memset(&a6, 0, sizeof a6);
    const struct sockaddr *sa;
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_ALLOW_SUSPEND_RESUME |
                     MHD_USE_ERROR_LOG;
    if (inet_pton(AF_INET, s->host, &a4.sin_addr) == 1) {
        a4.sin_family = AF_INET;
        a4.sin_port = htons((uint16_t)o->port);
        sa = (const struct sockaddr *)&a4;
    } else if (inet_pton(AF_INET6, s->host, &a6.sin6_addr) == 1) {
        a6.sin6_family = AF_INET6;
        a6.sin6_port = htons((uint16_t)o->port);
        sa = (const struct sockaddr *)&a6;
        flags |= MHD_USE_IPv6;
    } else {
        snprintf(err->message, sizeof err->message,
                 "--host '%s' is not a numeric IPv4 or IPv6 address", s->host);
        server_free(s);
        return err->status = BOSON_ERR_INVALID_ARG;
    }
    s->daemon =
        MHD_start_daemon(flags, (uint16_t)o->port, NULL, NULL, handler, s, MHD_OPTION_SOCK_ADDR, sa,
                         MHD_OPTION_NOTIFY_COMPLETED, completed, s, MHD_OPTION_CONNECTION_TIMEOUT,
                         (unsigned)120, MHD_OPTION_CONNECTION_LIMIT, (unsigned)1000,
                         MHD_OPTION_LISTENING_ADDRESS_REUSE, (unsigned)1, MHD_OPTION_END);
    if (!s->daemon) {
        snprintf(err->message, sizeof err->message,
                 "cannot listen on %s port %d (address in use, or not allowed)", s->host, o->port);
        server_free(s);
        return err->status = BOSON_ERR_IO;
    }
    const union MHD_DaemonInfo *di = MHD_get_daemon_info(s->daemon, MHD_DAEMON_INFO_BIND_PORT);
    s->port = di ? di->port : o->port;
    if (pthread_create(&s->worker, NULL, sv_worker_main, s) != 0) {
        MHD_stop_daemon(s->daemon);
        snprintf(err->message, sizeof err->message, "cannot start the engine worker thread");
        server_free(s);
        return err->status = BOSON_ERR_RUNTIME;
    }
    s->worker_started = 1;
    *out = s;
    return BOSON_OK;
}

int sv_server_state(sv_server *s, boson_error *err)
{
    int st = atomic_load(&s->state);
    if (st < 0 && err)
        *err = s->load_err;
    return st;
}

int sv_server_port(const sv_server *s)
{
    return s->port;
}

void sv_server_stop(sv_server *s)
{
    if (!s)
        return;
    MHD_socket listen_fd = MHD_quiesce_daemon(s->daemon);
    pthread_mutex_lock(&s->mu);
    s->stopping = 1;
    pthread_cond_broadcast(&s->cv);
    pthread_mutex_unlock(&s->mu);
    if (s->worker_started)
        pthread_join(s->worker, NULL);
    /* Every job is finished and its connection resumed; let them send their last bytes. */
    for (int i = 0; i < 300; i++) {
        const union MHD_DaemonInfo *di =
            MHD_get_daemon_info(s->daemon, MHD_DAEMON_INFO_CURRENT_CONNECTIONS);
        if (!di || di->num_connections == 0)
            break;
        usleep(10000);
    }
    MHD_stop_daemon(s->daemon);
    if (listen_fd != MHD_INVALID_SOCKET)
        close(listen_fd);
    server_free(s);
}
