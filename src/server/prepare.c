/* Turns a parsed request into prompt ids with the loaded engine (chat template rendering or
 * plain tokenization), checks the model name and the context, and sizes max_tokens. Runs on
 * HTTP threads: the engine's text calls are safe from any thread. */
#include "server/server_impl.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int check_model(sv_server *s, const sv_request *r, sv_error *e)
{
    if (!r->model || !strcmp(r->model, s->info.model_id) || !strcmp(r->model, s->info.path) ||
        !strcmp(r->model, s->model_path))
        return 0;
    return sv_error_set(e, 400, "model", "model_not_found",
                        "model '%.200s' is not served here; this server has '%.200s'", r->model,
                        s->info.model_id);
}

static int tokens_of(sv_server *s, const sv_request *r, int32_t **ids, size_t *n, sv_error *e)
{
    boson_error err = {0};
    *ids = NULL;
    *n = 0;
    if (r->api == SV_API_COMPLETION) {
        if (r->prompt_ids) {
            for (size_t i = 0; i < r->n_prompt_ids; i++)
                if (r->prompt_ids[i] >= s->info.vocab_size)
                    return sv_error_set(e, 400, "prompt", "invalid_value",
                                        "'prompt[%zu]' = %d is not a token id (vocabulary has "
                                        "%lld)",
                                        i, (int)r->prompt_ids[i], (long long)s->info.vocab_size);
            /* malloc'd like the engine's arrays, so boson_free releases either */
            *ids = malloc(r->n_prompt_ids * sizeof **ids);
            if (!*ids)
                return sv_error_set(e, 500, NULL, NULL, "out of memory");
            memcpy(*ids, r->prompt_ids, r->n_prompt_ids * sizeof **ids);
            *n = r->n_prompt_ids;
            return 0;
        }
        if (boson_tokenize(s->engine, r->prompt_text, r->prompt_len, 0, ids, n, &err) != BOSON_OK)
            return sv_error_set(e, 400, "prompt", "invalid_value", "prompt: %s", err.message);
        return 0;
    }
    boson_chat_options o;
    boson_chat_options_init(&o);
    o.messages_json = r->messages_json;
    o.tools_json = r->tools_json;
    o.extra_json = r->extra_json;
    o.enable_thinking = r->think;
    if (boson_chat_tokens(s->engine, &o, ids, n, NULL, NULL, &err) != BOSON_OK) {
        *ids = NULL;
        return sv_error_set(e, err.status == BOSON_ERR_NOMEM ? 500 : 400, "messages",
                            "invalid_value", "rendering the chat template failed: %s", err.message);
    }
    return 0;
}

int sv_count_tokens(sv_server *s, sv_request *r, int64_t *count, sv_error *e)
{
    if (check_model(s, r, e))
        return -1;
    int32_t *ids;
    size_t n;
    if (tokens_of(s, r, &ids, &n, e))
        return -1;
    boson_free(ids);
    *count = (int64_t)n;
    return 0;
}

int sv_prepare(sv_server *s, sv_job *j, sv_error *e)
{
    sv_request *r = &j->req;
    if (check_model(s, r, e) || sv_check_logit_bias(r, s->info.vocab_size, e))
        return -1;
    snprintf(j->model, sizeof j->model, "%s", s->info.model_id);
    if (tokens_of(s, r, &j->ids, &j->n_ids, e))
        return -1;
    const char *field = r->api == SV_API_COMPLETION ? "prompt" : "messages";
    if (j->n_ids == 0)
        return sv_error_set(e, 400, field, "invalid_value", "the prompt is empty");
    if ((int64_t)j->n_ids >= s->ctx)
        return sv_error_set(e, 400, field, "context_length_exceeded",
                            "the prompt has %zu tokens; this server's context is %lld tokens, "
                            "so at most %lld fit with room for one token of answer",
                            j->n_ids, (long long)s->ctx, (long long)s->ctx - 1);
    int64_t room = s->ctx - (int64_t)j->n_ids;
    j->max_tokens = (r->max_tokens < 0 || r->max_tokens > room) ? room : r->max_tokens;
    return 0;
}
