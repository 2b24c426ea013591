/* A validated generation request, independent of the HTTP API it came from.
 *
 * The parsers (openai.c, anthropic.c) turn a request body into an sv_request or an
 * sv_error naming the offending field; they need no engine, so they can be fuzzed alone.
 * sv_request_prepare (prepare.c) then renders and tokenizes against the loaded engine. */
#ifndef BOSON_SERVER_REQUEST_H
#define BOSON_SERVER_REQUEST_H

#include "boson.h"

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

typedef enum sv_api {
    SV_API_CHAT,       /* POST /v1/chat/completions */
    SV_API_COMPLETION, /* POST /v1/completions */
    SV_API_MESSAGES,   /* POST /v1/messages (Anthropic) */
    SV_API_COUNT       /* POST /v1/messages/count_tokens (Anthropic) */
} sv_api;

/* An error answer: HTTP status, error type and code, the request field it concerns. */
typedef struct sv_error {
    int http;
    char type[48];
    char code[48];
    char param[96];
    char message[768];
} sv_error;

/* Fills e and returns -1. param and code may be NULL. */
int sv_error_set(sv_error *e, int http, const char *param, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

enum { SV_MAX_STOP = 16, SV_MAX_MESSAGES = 100000, SV_MAX_LOGIT_BIAS = 1024 };

typedef struct sv_request {
    sv_api api;
    char *model; /* NULL when the request names none */
    int stream;
    int include_usage;
    boson_sampling samp;
    int64_t max_tokens; /* -1 unset */
    char *stop[SV_MAX_STOP];
    size_t n_stop;
    /* chat: OpenAI-style messages (normalised), tools and template variables */
    char *messages_json;
    char *tools_json; /* NULL: no tools (absent, or tool_choice "none") */
    char *extra_json; /* chat_template_kwargs, or NULL */
    boson_think think;
    int json_mode; /* response_format json_object / json_schema (prompt-level) */
    /* completion: text or token ids */
    char *prompt_text;
    size_t prompt_len;
    int32_t *prompt_ids;
    size_t n_prompt_ids;
    int64_t logprobs_n; /* completions' integer `logprobs` (-1 unset) */
    /* OpenAI logit_bias, owned here; samp.logit_bias_* point into these */
    int32_t *bias_ids;
    float *bias_values;
    size_t n_bias;
} sv_request;

void sv_request_init(sv_request *r, sv_api api);
void sv_request_free(sv_request *r);

/* Parsers: 0 on success, -1 with e filled (400 unless stated). On failure r is still freed
 * by sv_request_free. */
int sv_parse_chat(const char *body, size_t len, sv_request *r, sv_error *e);
int sv_parse_completion(const char *body, size_t len, sv_request *r, sv_error *e);
int sv_parse_messages(const char *body, size_t len, sv_api api, sv_request *r, sv_error *e);

/* ---- helpers shared by the parsers (request.c) ---- */

/* Parses a JSON object body; 400 naming line and column when malformed. */
int sv_body_object(const char *body, size_t len, json_t **out, sv_error *e);
/* Member that is present and not null, else NULL. */
json_t *sv_opt(const json_t *obj, const char *key);
/* Typed optional fields: 0 absent (out untouched), 1 found, -1 error naming `name`. */
int sv_get_num(const json_t *obj, const char *key, const char *name, double lo, double hi,
               double *out, sv_error *e);
int sv_get_int(const json_t *obj, const char *key, const char *name, int64_t lo, int64_t hi,
               int64_t *out, sv_error *e);
int sv_get_bool(const json_t *obj, const char *key, const char *name, int *out, sv_error *e);
int sv_get_str(const json_t *obj, const char *key, const char *name, const char **out, sv_error *e);
const char *sv_type_name(const json_t *v);
/* strdup that records failure as a 500 in e; NULL on failure. */
char *sv_strdup(const char *s, sv_error *e);
/* Compact JSON text of v (malloc'd), NULL + 500 on failure. */
char *sv_dump(const json_t *v, sv_error *e);
/* Stop strings from a string or an array of strings under `key`. */
int sv_get_stop(const json_t *obj, const char *key, sv_request *r, sv_error *e);
/* The common sampling fields (temperature, top_p, top_k, min_p, penalties, seed). */
int sv_get_sampling(const json_t *obj, sv_request *r, sv_error *e);
/* OpenAI `logit_bias`: an object of token-id strings to numbers in [-100, 100]. The ids are
 * checked against the vocabulary later (sv_check_logit_bias), once the engine is known. */
int sv_get_logit_bias(const json_t *obj, sv_request *r, sv_error *e);
/* 400 naming the first logit_bias key that is not below vocab_size. */
int sv_check_logit_bias(const sv_request *r, int64_t vocab_size, sv_error *e);

#endif
