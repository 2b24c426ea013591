/* Fuzz target: any bytes as the body of POST /v1/chat/completions, /v1/completions,
 * /v1/messages and /v1/messages/count_tokens, through the request parsers and validators
 * (JSON -> sv_request). Each must accept or reject with a 4xx/5xx error naming a reason;
 * on success the normalised messages must be valid JSON again. */
#include "server/request.h"

#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static void check_ok(const sv_request *r)
{
    if (r->messages_json) {
        json_t *v = json_loads(r->messages_json, 0, NULL);
        if (!v || !json_is_array(v))
            abort();
        json_decref(v);
    }
    if (r->tools_json) {
        json_t *v = json_loads(r->tools_json, 0, NULL);
        if (!v)
            abort();
        json_decref(v);
    }
}

static void check_err(const sv_error *e)
{
    if (e->http < 400 || e->http > 599 || !e->message[0])
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *body = (const char *)data;
    for (int k = 0; k < 4; k++) {
        sv_request r;
        sv_error e;
        memset(&e, 0, sizeof e);
        int rc;
        switch (k) {
        case 0:
            sv_request_init(&r, SV_API_CHAT);
            rc = sv_parse_chat(body, size, &r, &e);
            break;
        case 1:
            sv_request_init(&r, SV_API_COMPLETION);
            rc = sv_parse_completion(body, size, &r, &e);
            break;
        case 2:
            sv_request_init(&r, SV_API_MESSAGES);
            rc = sv_parse_messages(body, size, SV_API_MESSAGES, &r, &e);
            break;
        default:
            sv_request_init(&r, SV_API_COUNT);
            rc = sv_parse_messages(body, size, SV_API_COUNT, &r, &e);
            break;
        }
        if (rc == 0)
            check_ok(&r);
        else
            check_err(&e);
        sv_request_free(&r);
    }
    return 0;
}
