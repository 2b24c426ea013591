/* Request helpers shared by the OpenAI and Anthropic parsers: typed field access whose
 * errors name the field, stop strings and sampling fields. */
#include "server/request.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int sv_error_set(sv_error *e, int http, const char *param, const char *code, const char *fmt, ...)
{
    e->http = http;
    const char *type = "invalid_request_error";
    if (http == 401)
        type = "authentication_error";
    else if (http == 404)
        type = "not_found_error";
    else if (http == 413)
        type = "request_too_large";
    else if (http == 503)
        type = "overloaded_error";
    else if (http >= 500)
        type = "server_error";
    snprintf(e->type, sizeof e->type, "%s", type);
    snprintf(e->param, sizeof e->param, "%s", param ? param : "");
    snprintf(e->code, sizeof e->code, "%s", code ? code : "");
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(e->message, sizeof e->message, fmt, ap);
    va_end(ap);
    return -1;
}

void sv_request_init(sv_request *r, sv_api api)
{
    memset(r, 0, sizeof *r);
    r->api = api;
    boson_sampling_init(&r->samp);
    r->max_tokens = -1;
    r->logprobs_n = -1;
    r->think = BOSON_THINK_DEFAULT;
}

void sv_request_free(sv_request *r)
{
    free(r->model);
    for (size_t i = 0; i < r->n_stop; i++)
        free(r->stop[i]);
    free(r->messages_json);
    free(r->tools_json);
    free(r->extra_json);
    free(r->prompt_text);
    free(r->prompt_ids);
    free(r->bias_ids);
    free(r->bias_values);
    memset(r, 0, sizeof *r);
}

const char *sv_type_name(const json_t *v)
{
    switch (json_typeof(v)) {
    case JSON_OBJECT: return "object";
    case JSON_ARRAY: return "array";
    case JSON_STRING: return "string";
    case JSON_INTEGER: return "integer";
    case JSON_REAL: return "number";
    case JSON_TRUE:
    case JSON_FALSE: return "boolean";
    case JSON_NULL: return "null";
    }
    return "value";
}

int sv_body_object(const char *body, size_t len, json_t **out, sv_error *e)
{
    *out = NULL;
    if (len == 0)
        return sv_error_set(e, 400, NULL, "invalid_json",
                            "request body is empty: expected a JSON object");
    json_error_t je;
    json_t *v = json_loadb(body, len, JSON_REJECT_DUPLICATES, &je);
    if (!v)
        return sv_error_set(e, 400, NULL, "invalid_json",
                            "request body is not valid JSON: %s (line %d, column %d)", je.text,
                            je.line, je.column);
    if (!json_is_object(v)) {
        sv_error_set(e, 400, NULL, "invalid_json", "request body must be a JSON object, got %s",
                     sv_type_name(v));
        json_decref(v);
        return -1;
    }
    *out = v;
    return 0;
}

json_t *sv_opt(const json_t *obj, const char *key)
{
    json_t *v = json_object_get(obj, key);
    return (v && !json_is_null(v)) ? v : NULL;
}

int sv_get_num(const json_t *obj, const char *key, const char *name, double lo, double hi,
               double *out, sv_error *e)
{
    json_t *v = sv_opt(obj, key);
    if (!v)
        return 0;
    if (!json_is_number(v))
        return sv_error_set(e, 400, name, "invalid_type", "'%s' must be a number, got %s", name,
                            sv_type_name(v));
    double d = json_number_value(v);
    if (!isfinite(d) || d < lo || d > hi)
        return sv_error_set(e, 400, name, "invalid_value", "'%s' must be between %g and %g, got %g",
                            name, lo, hi, d);
    *out = d;
    return 1;
}

int sv_get_int(const json_t *obj, const char *key, const char *name, int64_t lo, int64_t hi,
               int64_t *out, sv_error *e)
{
    json_t *v = sv_opt(obj, key);
    if (!v)
        return 0;
    int64_t x;
    if (json_is_integer(v)) {
        x = (int64_t)json_integer_value(v);
    } else if (json_is_real(v) && json_real_value(v) == floor(json_real_value(v)) &&
               fabs(json_real_value(v)) < 9e15) {
        x = (int64_t)json_real_value(v); /* 16.0 is accepted as 16, like Python clients */
    } else {
        return sv_error_set(e, 400, name, "invalid_type", "'%s' must be an integer, got %s", name,
                            sv_type_name(v));
    }
    if (x < lo || x > hi)
        return sv_error_set(e, 400, name, "invalid_value",
                            "'%s' must be between %lld and %lld, got %lld", name, (long long)lo,
                            (long long)hi, (long long)x);
    *out = x;
    return 1;
}

int sv_get_bool(const json_t *obj, const char *key, const char *name, int *out, sv_error *e)
{
    json_t *v = sv_opt(obj, key);
    if (!v)
        return 0;
    if (!json_is_boolean(v))
        return sv_error_set(e, 400, name, "invalid_type", "'%s' must be a boolean, got %s", name,
                            sv_type_name(v));
    *out = json_is_true(v);
    return 1;
}

int sv_get_str(const json_t *obj, const char *key, const char *name, const char **out, sv_error *e)
{
    json_t *v = sv_opt(obj, key);
    if (!v)
        return 0;
    if (!json_is_string(v))
        return sv_error_set(e, 400, name, "invalid_type", "'%s' must be a string, got %s", name,
                            sv_type_name(v));
    *out = json_string_value(v);
    return 1;
}

char *sv_strdup(const char *s, sv_error *e)
{
    char *p = strdup(s);
    if (!p)
        sv_error_set(e, 500, NULL, NULL, "out of memory");
    return p;
}

char *sv_dump(const json_t *v, sv_error *e)
{
    char *s = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
    if (!s)
        sv_error_set(e, 500, NULL, NULL, "out of memory while re-encoding the request");
    return s;
}

static int add_stop(sv_request *r, const json_t *s, const char *name, sv_error *e)
{
    if (!json_is_string(s))
        return sv_error_set(e, 400, name, "invalid_type",
                            "'%s' must be a string or an array of strings, got %s", name,
                            sv_type_name(s));
    size_t n = json_string_length(s);
    if (n == 0)
        return sv_error_set(e, 400, name, "invalid_value", "'%s' entries must not be empty", name);
    if (n > 1024)
        return sv_error_set(e, 400, name, "invalid_value",
                            "'%s' entries must be at most 1024 bytes", name);
    if (r->n_stop >= SV_MAX_STOP)
        return sv_error_set(e, 400, name, "invalid_value", "'%s' has more than %d entries", name,
                            SV_MAX_STOP);
    char *p = malloc(n + 1);
    if (!p)
        return sv_error_set(e, 500, NULL, NULL, "out of memory");
    memcpy(p, json_string_value(s), n + 1);
    if (memchr(p, '\0', n)) {
        free(p);
        return sv_error_set(e, 400, name, "invalid_value", "'%s' entries must not contain NUL",
                            name);
    }
    r->stop[r->n_stop++] = p;
    return 0;
}

int sv_get_stop(const json_t *obj, const char *key, sv_request *r, sv_error *e)
{
    json_t *v = sv_opt(obj, key);
    if (!v)
        return 0;
    if (json_is_array(v)) {
        size_t i;
        json_t *s;
        json_array_foreach(v, i, s)
        {
            if (add_stop(r, s, key, e))
                return -1;
        }
        return 0;
    }
    return add_stop(r, v, key, e);
}

int sv_get_sampling(const json_t *obj, sv_request *r, sv_error *e)
{
    double d;
    int64_t i;
    int rc;
    if ((rc = sv_get_num(obj, "temperature", "temperature", 0, 2, &d, e)) < 0)
        return -1;
    if (rc)
        r->samp.temperature = (float)d;
    if ((rc = sv_get_num(obj, "top_p", "top_p", 0, 1, &d, e)) < 0)
        return -1;
    if (rc)
        r->samp.top_p = (float)d;
    if ((rc = sv_get_num(obj, "min_p", "min_p", 0, 1, &d, e)) < 0)
        return -1;
    if (rc)
        r->samp.min_p = (float)d;
    if ((rc = sv_get_int(obj, "top_k", "top_k", -1, 1 << 30, &i, e)) < 0)
        return -1;
    if (rc)
        r->samp.top_k = i < 0 ? 0 : (int)i;
    if ((rc = sv_get_num(obj, "presence_penalty", "presence_penalty", -2, 2, &d, e)) < 0)
        return -1;
    if (rc)
        r->samp.presence_penalty = (float)d;
    if ((rc = sv_get_num(obj, "frequency_penalty", "frequency_penalty", -2, 2, &d, e)) < 0)
        return -1;
    if (rc)
        r->samp.frequency_penalty = (float)d;
    if ((rc = sv_get_num(obj, "repetition_penalty", "repetition_penalty", 0.01, 10, &d, e)) < 0)
        return -1;
    if (rc)
        r->samp.repetition_penalty = (float)d;
    if ((rc = sv_get_int(obj, "seed", "seed", INT64_MIN, INT64_MAX, &i, e)) < 0)
        return -1;
    if (rc)
        r->samp.seed = i & INT64_MAX; /* negative seeds are valid seeds too */
    return 0;
}

/* A token id written as decimal digits ("0" .. "2147483647"); -1 otherwise. */
static int64_t bias_key_id(const char *k)
{
    size_t n = strlen(k);
    if (n == 0 || n > 10)
        return -1;
    int64_t v = 0;
    for (size_t i = 0; i < n; i++) {
        if (k[i] < '0' || k[i] > '9')
            return -1;
        v = v * 10 + (k[i] - '0');
    }
    return v <= INT32_MAX ? v : -1;
}

int sv_get_logit_bias(const json_t *obj, sv_request *r, sv_error *e)
{
    json_t *v = sv_opt(obj, "logit_bias");
    if (!v)
        return 0;
    if (!json_is_object(v))
        return sv_error_set(e, 400, "logit_bias", "invalid_type",
                            "'logit_bias' must be an object mapping token ids to numbers, got %s",
                            sv_type_name(v));
    size_t n = json_object_size(v);
    if (n == 0)
        return 0;
    if (n > SV_MAX_LOGIT_BIAS)
        return sv_error_set(e, 400, "logit_bias", "invalid_value",
                            "'logit_bias' has %zu entries; at most %d are accepted", n,
                            SV_MAX_LOGIT_BIAS);
    r->bias_ids = malloc(n * sizeof *r->bias_ids);
    r->bias_values = malloc(n * sizeof *r->bias_values);
    if (!r->bias_ids || !r->bias_values)
        return sv_error_set(e, 500, NULL, NULL, "out of memory");
    const char *key;
    json_t *val;
    json_object_foreach(v, key, val)
    {
        int64_t id = bias_key_id(key);
        if (id < 0)
            return sv_error_set(e, 400, "logit_bias", "invalid_value",
                                "'logit_bias' key '%.40s' is not a token id (a non-negative "
                                "integer written as a string)",
                                key);
        for (size_t i = 0; i < r->n_bias; i++)
            if (r->bias_ids[i] == (int32_t)id)
                return sv_error_set(e, 400, "logit_bias", "invalid_value",
                                    "'logit_bias' names token %lld more than once (key '%.40s')",
                                    (long long)id, key);
        if (!json_is_number(val))
            return sv_error_set(e, 400, "logit_bias", "invalid_type",
                                "'logit_bias[\"%.40s\"]' must be a number, got %s", key,
                                sv_type_name(val));
        double d = json_number_value(val);
        if (!isfinite(d) || d < -100 || d > 100)
            return sv_error_set(e, 400, "logit_bias", "invalid_value",
                                "'logit_bias[\"%.40s\"]' must be between -100 and 100, got %g", key,
                                d);
        r->bias_ids[r->n_bias] = (int32_t)id;
        r->bias_values[r->n_bias] = (float)d;
        r->n_bias++;
    }
    r->samp.logit_bias_ids = r->bias_ids;
    r->samp.logit_bias_values = r->bias_values;
    r->samp.n_logit_bias = r->n_bias;
    return 0;
}

int sv_check_logit_bias(const sv_request *r, int64_t vocab_size, sv_error *e)
{
    for (size_t i = 0; i < r->n_bias; i++)
        if (r->bias_ids[i] >= vocab_size)
            return sv_error_set(e, 400, "logit_bias", "invalid_value",
                                "'logit_bias' key '%d' is not a token id of this model "
                                "(vocabulary has %lld)",
                                (int)r->bias_ids[i], (long long)vocab_size);
    return 0;
}
